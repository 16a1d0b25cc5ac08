// The Arm generic timer as the qemu-virt tick and clock (include/kernel/platform.h), from the
// ARM_GENERIC_TIMER item: the EL1 virtual timer (CNTV_*, PPI irq_virt) when the item names
// its interrupt, else the EL1 physical timer (CNTP_*, PPI irq_phys). The clock is the
// matching counter (CNTVCT_EL0 / CNTPCT_EL0) at CNTFRQ_EL0 (or freq_override).
//
// Periodic tick on a one-shot comparator: each interrupt moves CVAL one period on from the
// previous deadline (so ticks do not drift), or one period past now if that is already gone.
// The timer interrupt is level-triggered: moving CVAL into the future drops it.
#include <kernel/platform.h>

#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/timer.h>
#include <lib/zbi-format/driver-config.h>

#include "qemu-virt.h"

#define CNT_CTL_ENABLE 1u
#define NSEC_PER_SEC 1000000000ull

// Set once by generic_timer_init / platform_timer_start.
static bool use_virtual;
static uint32_t timer_irq;
static uint64_t counter_hz;
static uint64_t period_counts;
// Per CPU, written only by that CPU's timer interrupt (and platform_timer_start before it is
// enabled): every CPU has its own comparator.
static uint64_t next_deadline[SMP_MAX_CPUS];

static uint64_t counter_read(void) {
    uint64_t v;
    if (use_virtual) {
        __asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v) : : "memory");
    } else {
        __asm__ volatile("isb; mrs %0, cntpct_el0" : "=r"(v) : : "memory");
    }
    return v;
}

static void comparator_set(uint64_t deadline) {
    if (use_virtual) {
        __asm__ volatile("msr cntv_cval_el0, %0; isb" : : "r"(deadline) : "memory");
    } else {
        __asm__ volatile("msr cntp_cval_el0, %0; isb" : : "r"(deadline) : "memory");
    }
}

static void control_set(uint64_t ctl) {
    if (use_virtual) {
        __asm__ volatile("msr cntv_ctl_el0, %0; isb" : : "r"(ctl) : "memory");
    } else {
        __asm__ volatile("msr cntp_ctl_el0, %0; isb" : : "r"(ctl) : "memory");
    }
}

void generic_timer_init(const struct boot_info *bi) {
    const zbi_dcfg_arm_generic_timer_driver_t *cfg =
        qemu_virt_driver_config(bi, ZBI_KERNEL_DRIVER_ARM_GENERIC_TIMER, sizeof(*cfg));
    if (cfg == NULL || (cfg->irq_virt == 0 && cfg->irq_phys == 0)) {
        panic("generic_timer_init: no ARM_GENERIC_TIMER item with an EL1 timer interrupt");
    }
    use_virtual = cfg->irq_virt != 0;
    timer_irq = use_virtual ? cfg->irq_virt : cfg->irq_phys;
    counter_hz = cfg->freq_override;
    if (counter_hz == 0) {
        __asm__ volatile("mrs %0, cntfrq_el0" : "=r"(counter_hz));
    }
    if (counter_hz == 0) {
        panic("generic_timer_init: the counter frequency is unknown");
    }
    control_set(0);
}

void platform_timer_start(uint64_t period_ns) {
    period_counts = counter_hz * period_ns / NSEC_PER_SEC;
    if (period_counts == 0) {
        panic("platform_timer_start: period %llu ns is below one counter tick",
              (unsigned long long)period_ns);
    }
    uint64_t *next = &next_deadline[percpu_get()->cpu_num];
    *next = counter_read() + period_counts;
    comparator_set(*next);
    gic_enable_ppi(timer_irq);
    control_set(CNT_CTL_ENABLE);
}

uint64_t platform_current_time(void) {
    uint64_t c = counter_read();
    return c / counter_hz * NSEC_PER_SEC + c % counter_hz * NSEC_PER_SEC / counter_hz;
}

bool generic_timer_irq(uint32_t intid) {
    if (intid != timer_irq) {
        return false;
    }
    uint64_t now = counter_read();
    uint64_t *next = &next_deadline[percpu_get()->cpu_num];
    *next += period_counts;
    if (*next <= now) {
        *next = now + period_counts;
    }
    comparator_set(*next);
    return true;
}
