// Waiting for object signals (include/kernel/wait.h).
//
//   object_wait_handles(objs[n]):
//     thread lock: satisfied already? -> done.  Else link one kwaiter per object (all naming
//     the calling thread).  Look every handle up again (handle-table mutex, thread lock
//     dropped): one closed since the caller's lookup marks its waiter canceled.  Thread lock:
//     check signals and cancels, then thread_block until the deadline, a kill, or a
//     thread_wake from kobject_signal (wait_wake_matching) or from the close of a handle the
//     wait came through (wait_cancel_handle); check again after every wake-up; unlink.
//
// Signals and cancels are recorded in the object and the kwaiter under the thread lock and
// checked under it right before each block, so none can slip in: a waker finds the thread
// either not yet blocked (the check sees what it recorded) or blocked (thread_wake makes it
// ready). The second lookup closes the window between the caller's lookup and the linking,
// which another CPU's close can hit.
//
// Lock rule: waiter lists are guarded by the thread lock.
#include <kernel/wait.h>

#include <kernel/arch.h>
#include <kernel/handle.h>
#include <kernel/object.h>
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
    thread_unlock_irqrestore(irq);
    // A handle closed between the caller's lookup and the linking above found no waiter to
    // cancel: look each one up again now that the waiters are linked (a close from here on
    // cancels them).
    for (size_t i = 0; ht != NULL && handles != NULL && i < n; i++) {
        struct kobject *now = NULL;
        if (handle_table_get((struct handle_table *)ht, handles[i], ZX_OBJ_TYPE_NONE, 0, &now) !=
                ZX_OK ||
            now != objs[i]) {
            waiters[i].canceled = true;  // only this thread and closers (thread lock) write it
        }
        kobject_unref(now);  // never the last: the caller holds a reference too
    }
    irq = thread_lock_irqsave();
    zx_status_t status, woke = ZX_OK;
    for (;;) {
        // A signal may have been cleared again before we ran: then keep waiting. One that came
        // at the last moment still counts after a timeout or a kill.
        bool satisfied = wait_satisfied(objs, want, observed, n);
        if (wait_canceled(waiters, observed, n)) {
            status = ZX_ERR_CANCELED;
            break;
        }
        if (satisfied) {
            status = ZX_OK;
            break;
        }
        if (woke != ZX_OK) {
            status = woke;  // ZX_ERR_TIMED_OUT or ZX_ERR_INTERNAL_INTR_KILLED
            break;
        }
        woke = thread_block(until);
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
