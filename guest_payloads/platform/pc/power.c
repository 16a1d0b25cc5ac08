// PC power-off and panic signalling, as QEMU's q35 machine understands them.
//
// Power-off order, and why: the harness needs QEMU to report a guest-initiated shutdown on
// QMP (SHUTDOWN with guest=true). QEMU does that for ACPI S5 (SLP_TYP from \_S5_ with SLP_EN
// written to PM1a_CNT; on q35 the ICH9 PM block), but not for isa-debug-exit, which makes
// QEMU exit(31) on the spot. QEMU acts on the S5 write asynchronously, so the CPU keeps
// running for a moment: only after waiting a full second on the ACPI PM timer does this code
// fall back to isa-debug-exit, and then halts.
#include <platform/pc.h>

#include <stddef.h>

#include <arch/x86_64/cpu.h>

#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_TYP_MASK 7u
#define PM1_SLP_EN (1u << 13)

#define PM_TIMER_HZ 3579545u
#define S5_GRACE_TICKS PM_TIMER_HZ  // one second

// QEMU's isa-debug-exit as Fuchsia's QEMU scripts configure it (iobase 0xf4); writing v makes
// QEMU exit with status (v << 1) | 1, so 0x0f gives 31 as in Zircon's platform/pc/power.cc.
#define QEMU_DEBUG_EXIT_PORT 0xf4u
#define QEMU_DEBUG_EXIT_VALUE 0x0fu

#define SPIN_FALLBACK_ITERATIONS 100000000u  // when there is no PM timer to wait on

void pc_pvpanic_signal(void) {
    outb(PC_PVPANIC_PORT, PC_PVPANIC_PANICKED);
}

// The PM1 control value that enters the sleep state of type `slp_typ`.
static uint16_t pm1_sleep_command(uint16_t slp_typ) {
    return (uint16_t)(((slp_typ & PM1_SLP_TYP_MASK) << PM1_SLP_TYP_SHIFT) | PM1_SLP_EN);
}

// Waits about S5_GRACE_TICKS on the PM timer (a bounded spin without one).
static void pc_wait_for_s5(const struct pc_acpi_power *pm) {
    if (pm->pm_tmr == 0) {
        for (volatile uint32_t i = 0; i < SPIN_FALLBACK_ITERATIONS; i++) {
            x86_pause();
        }
        return;
    }
    uint32_t mask = pm->pm_tmr_32bit ? 0xffffffffu : 0x00ffffffu;
    uint32_t start = inl(pm->pm_tmr) & mask;
    while (((inl(pm->pm_tmr) - start) & mask) < S5_GRACE_TICKS) {
        x86_pause();
    }
}

void pc_power_off(uint64_t rsdp) {
    struct pc_acpi_power pm;
    const char *why = NULL;
    if (pc_acpi_power_info(rsdp, &pm, &why) == 0) {
        outw(pm.pm1a_cnt, pm1_sleep_command(pm.slp_typa));
        if (pm.pm1b_cnt != 0) {
            outw(pm.pm1b_cnt, pm1_sleep_command(pm.slp_typb));
        }
        pc_wait_for_s5(&pm);
    }
    outb(QEMU_DEBUG_EXIT_PORT, QEMU_DEBUG_EXIT_VALUE);
    x86_halt_forever();
}
