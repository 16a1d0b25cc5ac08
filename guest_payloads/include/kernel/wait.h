// Waiting for object signals (kernel/object/wait.c): zx_object_wait_one / wait_many on
// kernel objects.
//
//   obj->waiters -> kwaiter -> kwaiter -> ...     one per (waiting thread, object)
//   a wait_many thread has one kwaiter on each of its objects; kobject_signal wakes the
//   thread (thread_wake) when an object's signals meet that kwaiter's mask
//
// The waiting thread is blocked in thread_block (include/kernel/thread.h), not polling: a
// signal makes it ready at once. A user thread whose process is being killed stops waiting
// (ZX_ERR_INTERNAL_INTR_KILLED) so that it can leave the kernel and die.
//
// A wait is satisfied when (obj->signals & want) != 0, checked before blocking and after every
// wake-up; it ends with ZX_ERR_TIMED_OUT when the monotonic clock reaches the deadline first.
// Deadlines are absolute ZX_CLOCK_MONOTONIC times (current_time()); ZX_TIME_INFINITE never
// expires, a deadline in the past makes the call a poll.
//
// Lock rule: waiter lists are guarded by masking interrupts.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <kernel/object.h>
#include <zircon/types.h>

struct handle_table;
struct thread;

// thread_block's deadline for a Zircon deadline: ZX_TIME_INFINITE never comes, one at or
// before 0 has passed.
static inline uint64_t thread_deadline(zx_time_t deadline) {
    if (deadline == ZX_TIME_INFINITE) {
        return UINT64_MAX;  // THREAD_DEADLINE_INFINITE
    }
    return deadline <= 0 ? 0 : (uint64_t)deadline;
}

struct kwaiter {
    struct kwaiter *next;  // on obj->waiters
    struct kobject *obj;
    zx_signals_t want;
    struct thread *thread;  // the waiting thread: woken when obj->signals & want != 0
    // The handle the wait came through (a syscall), or NULL / ZX_HANDLE_INVALID: closing that
    // handle during the wait sets `canceled` and wakes the thread.
    const struct handle_table *ht;
    zx_handle_t handle;
    bool canceled;
};

// Waits until obj's signals intersect `want` or `deadline` passes. *observed (if not NULL)
// gets the signals at the end. ZX_OK, ZX_ERR_TIMED_OUT, or ZX_ERR_INTERNAL_INTR_KILLED when
// the calling user thread's process is being killed. The caller holds a reference.
zx_status_t object_wait_one(struct kobject *obj, zx_signals_t want, zx_time_t deadline,
                            zx_signals_t *observed);

// Waits until any objs[i]'s signals intersect want[i] or `deadline` passes; observed[i] gets
// each object's signals at the end. Results as object_wait_one; ZX_ERR_OUT_OF_RANGE if `n` is
// above ZX_WAIT_MANY_MAX_ITEMS; with n == 0 it sleeps until the deadline (ZX_ERR_TIMED_OUT). The
// caller holds a reference on every object.
zx_status_t object_wait_many(struct kobject *const *objs, const zx_signals_t *want,
                             zx_signals_t *observed, size_t n, zx_time_t deadline);

// object_wait_many for zx_object_wait_one/many: objs[i] was looked up through handle
// handles[i] of `ht`. If one of those handles is closed during the wait, the wait ends with
// ZX_ERR_CANCELED and ZX_SIGNAL_HANDLE_CLOSED in that item's observed signals.
zx_status_t object_wait_handles(const struct handle_table *ht, const zx_handle_t *handles,
                                struct kobject *const *objs, const zx_signals_t *want,
                                zx_signals_t *observed, size_t n, zx_time_t deadline);

// Called by the handle table (interrupts masked) when handle `h` of `ht` to `obj` goes away:
// cancels the waits that came through it.
void wait_cancel_handle(struct kobject *obj, const struct handle_table *ht, zx_handle_t h);

// Called by kobject_signal (interrupts masked): wakes every waiter on `obj` that the new
// signal state satisfies.
void wait_wake_matching(struct kobject *obj);
