// Kernel time (kernel/timer.c): the monotonic clock and the periodic scheduler tick.
//
// The platform (platform_timer_start) raises the tick interrupt every TIMER_TICK_NS and calls
// timer_tick() from it; the tick wakes sleeping threads and drives preemption.
//
// Times are uint64_t nanoseconds of current_time(); durations in the kernel use Zircon's
// ZX_USEC/ZX_MSEC/ZX_SEC from <zircon/time.h> (signed zx_duration_t: cast before comparing
// with a uint64_t).
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <zircon/time.h>

#define TIMER_TICK_HZ 1000u
#define TIMER_TICK_NS (1000000000u / TIMER_TICK_HZ)

// Starts the periodic tick. Called once by kernel_main after platform_init_interrupts, with
// interrupts still masked.
void timer_init(void);

// Monotonic nanoseconds since boot (platform clock); never goes backwards.
uint64_t current_time(void);

// Ticks taken since timer_init.
uint64_t timer_ticks(void);

// The tick handler: called by the platform's timer interrupt with interrupts masked.
// Returns true if the interrupted thread should be preempted (thread_preempt()).
bool timer_tick(void);
