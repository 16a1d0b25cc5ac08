// Kernel time (include/kernel/timer.h): current_time() is the platform's monotonic clock;
// the periodic tick counts itself and hands the scheduler its turn.
//
//   platform timer IRQ -> platform_irq() -> timer_tick() -> thread_timer_tick(now)
//                                                           (wake sleepers, quantum)
#include <kernel/timer.h>

#include <kernel/platform.h>
#include <kernel/thread.h>

// Written only by timer_tick (interrupts masked); read anywhere (one aligned 64-bit word).
static volatile uint64_t ticks;

void timer_init(void) {
    platform_timer_start(TIMER_TICK_NS);
}

uint64_t current_time(void) {
    return platform_current_time();
}

uint64_t timer_ticks(void) {
    return ticks;
}

bool timer_tick(void) {
    ticks = ticks + 1;
    return thread_timer_tick(current_time());
}
