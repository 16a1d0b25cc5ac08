// The qemu-virt (arm64) platform hooks of include/kernel/platform.h, driven entirely by the
// KERNEL_DRIVER items the boot shim put in the data ZBI:
//
//   PL011_UART  -> console (platform_putc)
//   ARM_PSCI    -> platform_poweroff: PSCI SYSTEM_OFF via HVC or SMC as use_hvc says
//   zhb PCIE_ECAM -> pvpanic-pci for platform_panic_signal (pvpanic.c)
//   ARM_GIC_V3 / ARM_GIC_V2 -> interrupts (gic.c); ARM_GENERIC_TIMER -> tick, clock (timer.c)

#include <stdint.h>

#include <arch/arm64/psci.h>
#include <kernel/smp.h>
#include <kernel/bootinfo.h>
#include <kernel/panic.h>
#include <kernel/physmap.h>
#include <kernel/platform.h>
#include <kernel/timer.h>
#include <lib/zbi-format/driver-config.h>
#include <platform/pcie-ecam.h>
#include <platform/pl011.h>

#include "qemu-virt.h"

const char platform_arch_name[] = "arm64";

struct qemu_virt qemu_virt = {.uart = 0, .psci_use_hvc = -1, .pcie = NULL};

// GIC INTIDs from this one up are special (1023: spurious, nothing pending).
#define GIC_INTID_SPECIAL 1020u

const void *qemu_virt_driver_config(const struct boot_info *bi, uint32_t kind, uint32_t size) {
    const struct boot_driver *driver = boot_find_driver(bi, kind);
    return driver != NULL && driver->length >= size ? driver->config : NULL;
}

int platform_init(const struct boot_info *bi) {
    const zbi_dcfg_arm_psci_driver_t *psci =
        qemu_virt_driver_config(bi, ZBI_KERNEL_DRIVER_ARM_PSCI, sizeof(*psci));
    if (psci != NULL) {
        qemu_virt.psci_use_hvc = psci->use_hvc;
    }
    qemu_virt.pcie =
        qemu_virt_driver_config(bi, ZHB_KERNEL_DRIVER_PCIE_ECAM, sizeof(*qemu_virt.pcie));
    const zbi_dcfg_simple_t *uart =
        qemu_virt_driver_config(bi, ZBI_KERNEL_DRIVER_PL011_UART, sizeof(*uart));
    if (uart == NULL || uart->mmio_phys == 0) {
        return -1;
    }
    qemu_virt.uart = (uintptr_t)paddr_to_physmap(uart->mmio_phys);
    return 0;
}

void platform_putc(char c) {
    if (qemu_virt.uart != 0) {
        pl011_putc(qemu_virt.uart, c);
    }
}

// SGIs 0-2: the enum smp_ipi kinds (kernel/smp.h).
#define SGI_COUNT 3u

static void enable_sgis(void) {
    for (uint32_t sgi = 0; sgi < SGI_COUNT; sgi++) {
        gic_enable_ppi(sgi);
    }
}

void platform_init_interrupts(const struct boot_info *bi) {
    gic_init(bi);
    enable_sgis();
    generic_timer_init(bi);
}

void platform_init_interrupts_secondary(void) {
    gic_init_secondary();
    enable_sgis();
}

void platform_ipi_others(uint32_t kind) {
    gic_send_sgi_others(kind);
}

void platform_ipi_cpu(uint32_t cpu, uint32_t kind) {
    gic_send_sgi(cpu, kind);
}

bool platform_irq(uint32_t vector) {
    (void)vector;  // the GIC names the source
    uint32_t ack = gic_ack();
    uint32_t intid = gic_intid(ack);
    if (intid >= GIC_INTID_SPECIAL) {
        return false;
    }
    if (intid < SGI_COUNT) {
        gic_eoi(ack);
        return smp_ipi_received(intid);
    }
    bool tick = generic_timer_irq(intid);
    gic_eoi(ack);  // before the handler: it may switch threads
    if (!tick) {
        panic("platform_irq: unexpected INTID %u", intid);
    }
    return timer_tick();
}

void platform_poweroff(void) {
    if (qemu_virt.psci_use_hvc >= 0) {
        psci_call(qemu_virt.psci_use_hvc, PSCI_SYSTEM_OFF, 0, 0, 0);
    }
    arm64_halt();
}
