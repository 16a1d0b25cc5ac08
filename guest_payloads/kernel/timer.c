// Kernel time (include/kernel/timer.h): current_time() is the platform's monotonic clock;
// the periodic tick counts itself and hands the scheduler its turn.
//
//   platform timer IRQ -> platform_irq() -> timer_tick() -> ktimers due: fire()      (boot CPU)
//                                                        -> thread_timer_tick(now)  (boot CPU:
//                                                           wake sleepers, quantum)
//                                                        -> thread_tick_local()     (others:
//                                                           quantum only, no thread lock)
//
// Lock rule: the armed ktimer list is guarded by the thread lock (interrupts masked).
#include <kernel/timer.h>

#include <kernel/platform.h>
#include <kernel/percpu.h>
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

// Armed ktimers, unordered (few of them). Thread lock.
static struct ktimer *armed;

bool ktimer_due(const struct ktimer *t, uint64_t now) {
    return now >= t->deadline || (now >= t->earliest && now + TIMER_TICK_NS > t->latest);
}

void ktimer_disarm(struct ktimer *t) {
    if (!t->armed) {
        return;
    }
    for (struct ktimer **link = &armed; *link != NULL; link = &(*link)->next) {
        if (*link == t) {
            *link = t->next;
            break;
        }
    }
    t->next = NULL;
    t->armed = false;
}

void ktimer_arm(struct ktimer *t, uint64_t earliest, uint64_t deadline, uint64_t latest,
                uint64_t now) {
    ktimer_disarm(t);
    t->earliest = earliest;
    t->deadline = deadline;
    t->latest = latest;
    if (ktimer_due(t, now)) {
        t->fire(t);
        return;
    }
    t->armed = true;
    t->next = armed;
    armed = t;
}

static void ktimers_fire(uint64_t now) {
    struct ktimer **link = &armed;
    while (*link != NULL) {
        struct ktimer *t = *link;
        if (!ktimer_due(t, now)) {
            link = &t->next;
            continue;
        }
        *link = t->next;
        t->next = NULL;
        t->armed = false;
        t->fire(t);  // may arm or disarm other timers, never `link`'s predecessors
    }
}

bool timer_tick(void) {
    // Every CPU ticks; the boot CPU keeps the count, fires kernel timers and wakes sleepers for
    // all of them. The others only account their running thread's quantum, without the
    // thread lock: an idle CPU's tick must not contend with the CPUs doing work.
    if (percpu_get()->cpu_num != 0) {
        return thread_tick_local();
    }
    arch_irq_state_t irq = thread_lock_irqsave();
    uint64_t now = current_time();
    ticks = ticks + 1;
    ktimers_fire(now);
    bool resched = thread_timer_tick(now);
    thread_unlock_irqrestore(irq);
    return resched;
}
