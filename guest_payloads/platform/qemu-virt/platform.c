// The qemu-virt (arm64) platform hooks of include/kernel/platform.h, driven entirely by the
// KERNEL_DRIVER items the boot shim put in the data ZBI:
//
//   PL011_UART  -> console (platform_putc)
//   ARM_PSCI    -> platform_poweroff: PSCI SYSTEM_OFF via HVC or SMC as use_hvc says
//   zhb PCIE_ECAM -> pvpanic-pci for platform_panic_signal (pvpanic.c)

#include <stdint.h>

#include <arch/arm64/psci.h>
#include <kernel/bootinfo.h>
#include <kernel/platform.h>
#include <lib/zbi-format/driver-config.h>
#include <platform/pcie-ecam.h>
#include <platform/pl011.h>

#include "qemu-virt.h"

const char platform_arch_name[] = "arm64";

struct qemu_virt qemu_virt = {.uart = 0, .psci_use_hvc = -1, .pcie = NULL};

// Items shorter than the config struct they should hold are ignored as if absent.
static const void *driver_config(const struct boot_info *bi, uint32_t kind, uint32_t size) {
    const struct boot_driver *driver = boot_find_driver(bi, kind);
    return driver != NULL && driver->length >= size ? driver->config : NULL;
}

int platform_init(const struct boot_info *bi) {
    const zbi_dcfg_arm_psci_driver_t *psci =
        driver_config(bi, ZBI_KERNEL_DRIVER_ARM_PSCI, sizeof(*psci));
    if (psci != NULL) {
        qemu_virt.psci_use_hvc = psci->use_hvc;
    }
    qemu_virt.pcie = driver_config(bi, ZHB_KERNEL_DRIVER_PCIE_ECAM, sizeof(*qemu_virt.pcie));
    const zbi_dcfg_simple_t *uart = driver_config(bi, ZBI_KERNEL_DRIVER_PL011_UART, sizeof(*uart));
    if (uart == NULL || uart->mmio_phys == 0) {
        return -1;
    }
    qemu_virt.uart = (uintptr_t)uart->mmio_phys;
    return 0;
}

void platform_putc(char c) {
    if (qemu_virt.uart != 0) {
        pl011_putc(qemu_virt.uart, c);
    }
}

void platform_poweroff(void) {
    if (qemu_virt.psci_use_hvc >= 0) {
        psci_call(qemu_virt.psci_use_hvc, PSCI_SYSTEM_OFF, 0, 0, 0);
    }
    arm64_halt();
}
