// Time on the PC platform (include/kernel/platform.h): the ACPI PM timer is the monotonic
// clock, the local APIC timer in periodic mode is the tick.
//
// Why these: the PM timer (3.579545 MHz, 24 or 32 bits, found through the FADT that
// power-off reads anyway) has a fixed, documented rate, so it needs no calibration and
// behaves the same under TCG and KVM. The LAPIC timer's rate is not architectural, so it is
// measured once against the PM timer over PC_CALIBRATE_PM_TICKS (about 2 ms) at boot.
//
// The clock extends the PM timer's short counter in software: each read adds the wrapped
// delta since the previous read to a 64-bit count. A read at least every wrap period (4.7 s
// for 24 bits) keeps it exact, which the tick guarantees while interrupts are enabled.
#include <kernel/platform.h>

#include <arch/x86_64/cpu.h>
#include <kernel/arch.h>
#include <kernel/lock.h>
#include <kernel/panic.h>
#include <platform/pc.h>

#include "pc-kernel.h"

#define PM_TIMER_HZ 3579545u
#define PC_CALIBRATE_PM_TICKS (PM_TIMER_HZ / 500u)  // 2 ms
#define LAPIC_DIVIDE_BY_16 0x3u
#define LAPIC_COUNT_MAX 0xffffffffu
#define NSEC_PER_SEC 1000000000ull

// Set once by pc_timer_init.
static uint16_t pm_port;
static uint32_t pm_mask;
static uint64_t lapic_hz;  // LAPIC timer input rate after the divider

// Guarded by pm_lock (every CPU reads the clock).
static spinlock_t pm_lock = SPINLOCK_INITIALIZER("pm-timer");
static uint32_t pm_last;   // last raw PM timer value read
static uint64_t pm_total;  // PM timer ticks since pc_timer_init

static uint32_t pm_read(void) {
    return inl(pm_port) & pm_mask;
}

void pc_timer_init(uint64_t rsdp) {
    struct pc_acpi_power acpi;
    const char *why = NULL;
    if (pc_acpi_power_info(rsdp, &acpi, &why) != 0 || acpi.pm_tmr == 0) {
        panic("pc_timer_init: no ACPI PM timer (%s)", why != NULL ? why : "FADT has none");
    }
    pm_port = acpi.pm_tmr;
    pm_mask = acpi.pm_tmr_32bit ? 0xffffffffu : 0x00ffffffu;

    // Count the LAPIC timer down from its maximum over a known number of PM ticks.
    pc_lapic_write(LAPIC_TIMER_DIVIDE, LAPIC_DIVIDE_BY_16);
    pc_lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED | PC_VECTOR_TIMER);
    uint32_t start = pm_read();
    while (((pm_read() - start) & pm_mask) == 0) {  // align to a PM tick edge
    }
    start = pm_read();
    pc_lapic_write(LAPIC_TIMER_INITIAL, LAPIC_COUNT_MAX);
    uint32_t elapsed;
    do {
        elapsed = (pm_read() - start) & pm_mask;
    } while (elapsed < PC_CALIBRATE_PM_TICKS);
    uint32_t counted = LAPIC_COUNT_MAX - pc_lapic_read(LAPIC_TIMER_CURRENT);
    pc_lapic_write(LAPIC_TIMER_INITIAL, 0);
    lapic_hz = (uint64_t)counted * PM_TIMER_HZ / elapsed;
    if (lapic_hz == 0) {
        panic("pc_timer_init: the local APIC timer does not count");
    }
    pm_last = pm_read();
    pm_total = 0;
}

void platform_timer_start(uint64_t period_ns) {
    uint64_t count = lapic_hz * period_ns / NSEC_PER_SEC;
    if (count == 0 || count > LAPIC_COUNT_MAX) {
        panic("platform_timer_start: period %llu ns is out of the LAPIC timer's range",
              (unsigned long long)period_ns);
    }
    pc_lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_PERIODIC | PC_VECTOR_TIMER);
    pc_lapic_write(LAPIC_TIMER_INITIAL, (uint32_t)count);
}

uint64_t platform_current_time(void) {
    arch_irq_state_t irq = spin_lock_irqsave(&pm_lock);
    uint32_t now = pm_read();
    pm_total += (now - pm_last) & pm_mask;
    pm_last = now;
    uint64_t total = pm_total;
    spin_unlock_irqrestore(&pm_lock, irq);
    return total / PM_TIMER_HZ * NSEC_PER_SEC + total % PM_TIMER_HZ * NSEC_PER_SEC / PM_TIMER_HZ;
}
