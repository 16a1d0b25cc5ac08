// Waiting for object signals (include/kernel/wait.h).
//
//   object_wait_handles(objs[n]), interrupts masked throughout:
//     satisfied already? -> done.  Else link one kwaiter per object (all naming the calling
//     thread), then thread_block until the deadline, a kill, or a thread_wake from
//     kobject_signal (wait_wake_matching) or from the close of a handle the wait came through
//     (wait_cancel_handle); re-check after every wake-up; unlink; report signals.
//
// Masking interrupts from the first check to thread_block means no signal can slip in between:
// a waker always finds the thread either not yet waiting (the check sees the signal) or
// blocked (thread_wake makes it ready).
//
// Lock rule: waiter lists are guarded by masking interrupts.
#include <kernel/wait.h>

#include <kernel/arch.h>
#include <kernel/thread.h>

void wait_wake_matching(struct kobject *obj) {
    for (struct kwaiter *w = obj->waiters; w != NULL; w = w->next) {
        if ((obj->signals & w->want) != 0) {
            thread_wake(w->thread);
        }
    }
}

void wait_cancel_handle(struct kobject *obj, const struct handle_table *ht, zx_handle_t h) {
    for (struct kwaiter *w = obj->waiters; w != NULL; w = w->next) {
        if (w->ht == ht && w->handle == h) {
            w->canceled = true;
            thread_wake(w->thread);
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
    uint64_t until = thread_deadline(deadline);
    if (n == 0) {  // nothing can wake it: a sleep until the deadline, as in Zircon
        zx_status_t status = thread_sleep_until(until);
        return status == ZX_OK ? ZX_ERR_TIMED_OUT : status;
    }
    arch_irq_state_t irq = thread_lock_irqsave();
    zx_status_t status;
    if (wait_satisfied(objs, want, observed, n)) {
        thread_unlock_irqrestore(irq);
        return ZX_OK;
    }
    for (size_t i = 0; i < n; i++) {
        waiters[i] = (struct kwaiter){
            .obj = objs[i],
            .want = want[i],
            .thread = thread_current(),
            .ht = ht,
            .handle = handles != NULL ? handles[i] : ZX_HANDLE_INVALID,
        };
        waiter_link(&waiters[i]);
    }
    status = ZX_ERR_SHOULD_WAIT;
    while (status == ZX_ERR_SHOULD_WAIT) {
        zx_status_t woke = thread_block(until);
        // A signal may have been cleared again before we ran: then keep waiting. One that came
        // at the last moment still counts after a timeout or a kill.
        status = wait_satisfied(objs, want, observed, n) ? ZX_OK : ZX_ERR_SHOULD_WAIT;
        if (wait_canceled(waiters, observed, n)) {
            status = ZX_ERR_CANCELED;
        } else if (status == ZX_ERR_SHOULD_WAIT && woke != ZX_OK) {
            status = woke;  // ZX_ERR_TIMED_OUT or ZX_ERR_INTERNAL_INTR_KILLED
        }
    }
    for (size_t i = 0; i < n; i++) {
        waiter_unlink(&waiters[i]);
    }
    thread_unlock_irqrestore(irq);
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
