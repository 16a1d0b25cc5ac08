// Waiting for object signals (include/kernel/wait.h).
//
//   object_wait_handles(objs[n]):
//     irqs off: satisfied already? -> done.  Else link one kwaiter per object, all sharing
//     one `woken` flag, then block until woken, the deadline, a kill, or the close of a
//     handle the wait came through (wait_cancel_handle); unlink; report signals.
//
// Blocking: kernel/thread.c has no block/wake primitive yet, so a waiter sleeps one tick at a
// time and re-checks its `woken` flag (set by kobject_signal -> wait_wake_matching): a wake-up
// is seen within one tick (TIMER_TICK_NS). wait_block() is the only place that knows this.
// A user thread whose process is being killed stops waiting (ZX_ERR_INTERNAL_INTR_KILLED), so
// that it can leave the kernel and die even in a wait without a deadline.
//
// Lock rule: waiter lists are guarded by masking interrupts.
//
// <kernel/timer.h> defines ZX_USEC/MSEC/SEC as <zircon/time.h> does (differently typed):
// include it first and keep Zircon's.
#include <kernel/timer.h>
#undef ZX_USEC
#undef ZX_MSEC
#undef ZX_SEC

#include <kernel/wait.h>

#include <kernel/arch.h>
#include <kernel/process.h>
#include <kernel/thread.h>

void wait_wake_matching(struct kobject *obj) {
    for (struct kwaiter *w = obj->waiters; w != NULL; w = w->next) {
        if ((obj->signals & w->want) != 0) {
            *w->woken = true;
        }
    }
}

void wait_cancel_handle(struct kobject *obj, const struct handle_table *ht, zx_handle_t h) {
    for (struct kwaiter *w = obj->waiters; w != NULL; w = w->next) {
        if (w->ht == ht && w->handle == h) {
            w->canceled = true;
            *w->woken = true;
        }
    }
}

static void waiter_link(struct kwaiter *w) {
    w->next = w->obj->waiters;
    w->obj->waiters = w;
}

static void waiter_unlink(struct kwaiter *w) {
    for (struct kwaiter **link = &w->obj->waiters; *link != NULL; link = &(*link)->next) {
        if (*link == w) {
            *link = w->next;
            return;
        }
    }
}

// True if the calling thread is a user thread whose process is being killed.
static bool wait_killed(void) {
    struct uthread *u = uthread_current();
    return u != NULL && u->kill_requested;
}

// Blocks (interrupts on) until *woken (ZX_OK), the deadline (ZX_ERR_TIMED_OUT) or a kill
// (ZX_ERR_INTERNAL_INTR_KILLED).
static zx_status_t wait_block(volatile bool *woken, zx_time_t deadline) {
    for (;;) {
        if (*woken) {
            return ZX_OK;
        }
        if (wait_killed()) {
            return ZX_ERR_INTERNAL_INTR_KILLED;
        }
        uint64_t now = current_time();
        if (deadline != ZX_TIME_INFINITE && (deadline <= 0 || (uint64_t)deadline <= now)) {
            return ZX_ERR_TIMED_OUT;
        }
        thread_sleep(1);  // until the next tick
    }
}

// True (and observed[] filled) if any object already satisfies its mask; interrupts masked.
static bool wait_satisfied(struct kobject *const *objs, const zx_signals_t *want,
                           zx_signals_t *observed, size_t n) {
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        observed[i] = objs[i]->signals;
        any |= (observed[i] & want[i]) != 0;
    }
    return any;
}

// True if a handle some waiter came through was closed (interrupts masked); marks the
// observed signals of those items.
static bool wait_canceled(const struct kwaiter *waiters, zx_signals_t *observed, size_t n) {
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (waiters[i].canceled) {
            observed[i] |= ZX_SIGNAL_HANDLE_CLOSED;
            any = true;
        }
    }
    return any;
}

zx_status_t object_wait_handles(const struct handle_table *ht, const zx_handle_t *handles,
                                struct kobject *const *objs, const zx_signals_t *want,
                                zx_signals_t *observed, size_t n, zx_time_t deadline) {
    if (n > ZX_WAIT_MANY_MAX_ITEMS) {
        return ZX_ERR_OUT_OF_RANGE;
    }
    struct kwaiter waiters[ZX_WAIT_MANY_MAX_ITEMS];
    volatile bool woken = false;
    if (n == 0) {  // nothing can wake it: a sleep until the deadline, as in Zircon
        zx_status_t status = wait_block(&woken, deadline);
        return status == ZX_OK ? ZX_ERR_TIMED_OUT : status;
    }
    arch_irq_state_t irq = arch_irq_save();
    if (wait_satisfied(objs, want, observed, n)) {
        arch_irq_restore(irq);
        return ZX_OK;
    }
    for (size_t i = 0; i < n; i++) {
        waiters[i] = (struct kwaiter){
            .obj = objs[i],
            .want = want[i],
            .woken = &woken,
            .ht = ht,
            .handle = handles != NULL ? handles[i] : ZX_HANDLE_INVALID,
        };
        waiter_link(&waiters[i]);
    }
    arch_irq_restore(irq);

    zx_status_t status = ZX_ERR_SHOULD_WAIT;
    while (status == ZX_ERR_SHOULD_WAIT) {
        status = wait_block(&woken, deadline);
        if (status != ZX_OK) {
            break;
        }
        irq = arch_irq_save();
        woken = false;
        // A signal may have been cleared again before we looked: then keep waiting.
        status = wait_satisfied(objs, want, observed, n) ? ZX_OK : ZX_ERR_SHOULD_WAIT;
        if (wait_canceled(waiters, observed, n)) {
            status = ZX_ERR_CANCELED;
        }
        arch_irq_restore(irq);
    }

    irq = arch_irq_save();
    for (size_t i = 0; i < n; i++) {
        waiter_unlink(&waiters[i]);
    }
    if (status == ZX_ERR_TIMED_OUT || status == ZX_ERR_INTERNAL_INTR_KILLED) {
        // Refreshes observed[]; a signal that came at the last moment still counts.
        if (wait_satisfied(objs, want, observed, n)) {
            status = ZX_OK;
        }
    }
    arch_irq_restore(irq);
    return status;
}

zx_status_t object_wait_many(struct kobject *const *objs, const zx_signals_t *want,
                             zx_signals_t *observed, size_t n, zx_time_t deadline) {
    return object_wait_handles(NULL, NULL, objs, want, observed, n, deadline);
}

zx_status_t object_wait_one(struct kobject *obj, zx_signals_t want, zx_time_t deadline,
                            zx_signals_t *observed) {
    zx_signals_t seen = 0;
    zx_status_t status = object_wait_many(&obj, &want, &seen, 1, deadline);
    if (observed != NULL) {
        *observed = seen;
    }
    return status;
}
