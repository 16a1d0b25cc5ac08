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

// The tick handler: called by the platform's timer interrupt with interrupts masked. Fires
// the due kernel timers, then wakes due threads. Returns true if the interrupted thread
// should be preempted (thread_preempt()).
bool timer_tick(void);

// ---- Kernel timers: one-shot callbacks from the tick ----------------------------------------
//
// A ktimer may fire anywhere in [earliest, latest] around its deadline (the slack window of
// zx_timer_set). With a periodic tick the rule is: fire at the first tick at or after the
// deadline, or earlier — at a tick inside the window — when the next tick would come after
// `latest`. So a window at least one tick wide is always honoured; a narrower one that no
// tick falls into fires at the first tick after the deadline (less than TIMER_TICK_NS late).
//
// `fire` runs with the thread lock held (interrupts masked), maybe in the tick interrupt: it
// must not block, take a mutex or allocate; kobject_signal is fine.
// Lock rule: the list of armed ktimers is guarded by the thread lock.
struct ktimer {
    struct ktimer *next;  // on the armed list
    uint64_t earliest, deadline, latest;
    void (*fire)(struct ktimer *t);
    bool armed;
};

// Arms `t` for [earliest, latest] around `deadline` (earliest <= deadline <= latest); if it is
// already due at `now`, fires it at once instead. Thread lock held.
void ktimer_arm(struct ktimer *t, uint64_t earliest, uint64_t deadline, uint64_t latest,
                uint64_t now);
// Disarms `t` if armed. Thread lock held.
void ktimer_disarm(struct ktimer *t);
// True if `t` may (and should) fire at tick time `now`.
bool ktimer_due(const struct ktimer *t, uint64_t now);
