// Secondary CPUs on a PC (include/kernel/platform.h "CPUs"): the ACPI MADT lists them by
// local APIC id; each is started with INIT-SIPI-SIPI into the real-mode trampoline
// (arch/x86_64/trampoline.S), one at a time since they share its page.
#include <kernel/platform.h>

#include <arch/x86_64/smp.h>
#include <kernel/arch.h>
#include <kernel/percpu.h>
#include <kernel/timer.h>
#include <platform/pc.h>

#include "pc-kernel.h"

#define LAPIC_ICR_INIT 0x00004500u     // INIT, level assert
#define LAPIC_ICR_STARTUP 0x00004600u  // start-up (SIPI), level assert; | vector
#define INIT_DELAY_NS 10000000ull      // 10 ms after INIT (MP spec)
#define SIPI_DELAY_NS 200000ull        // 200 us after each SIPI

static void delay_ns(uint64_t ns) {
    uint64_t end = current_time() + ns;
    while (current_time() < end) {
        arch_spin_pause();
    }
}


uint32_t platform_cpu_discover(const struct boot_info *bi, uint64_t ids[], uint32_t max,
                               uint32_t *boot_index) {
    (void)bi;
    uint32_t apic_ids[SMP_MAX_CPUS * 4];
    uint32_t n = pc_acpi_cpu_apic_ids(pc_rsdp, apic_ids, sizeof(apic_ids) / sizeof(apic_ids[0]));
    uint32_t self = pc_lapic_read(LAPIC_ID) >> 24;
    *boot_index = 0;
    if (n == 0) {
        ids[0] = self;
        return 1;
    }
    uint32_t count = 0;
    for (uint32_t i = 0; i < n && count < max; i++) {
        if (apic_ids[i] == self) {
            *boot_index = count;
        }
        ids[count++] = apic_ids[i];
    }
    return count;
}

const char *platform_cpu_start(struct percpu *c, uint64_t hw_id, uintptr_t stack_top) {
    if (hw_id > 0xff) {
        return "x2APIC id beyond the xAPIC's reach";
    }
    uint32_t vector = x86_trampoline_prepare(c, stack_top);
    pc_lapic_send_ipi((uint32_t)hw_id, LAPIC_ICR_INIT);
    delay_ns(INIT_DELAY_NS);
    for (int i = 0; i < 2; i++) {
        pc_lapic_send_ipi((uint32_t)hw_id, LAPIC_ICR_STARTUP | vector);
        delay_ns(SIPI_DELAY_NS);
    }
    return NULL;
}

void platform_cpu_abandon(uint64_t hw_id) {
    pc_lapic_send_ipi((uint32_t)hw_id, LAPIC_ICR_INIT);  // back to waiting for a SIPI
}
