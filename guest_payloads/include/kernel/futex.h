// Futexes (kernel/object/futex.c): zx_futex_wait / wake / requeue / get_owner.
//
// A futex is a 32-bit word of user memory, keyed by its user address within one process: no
// kernel object, no handle. The per-process table is a fixed array of buckets (hash of the
// address); a waiting thread links a node that lives on its own kernel stack into its bucket,
// so waiting allocates nothing and the table can never grow under user control: at most one
// node per thread of the process is ever linked.
//
//   process->futexes.buckets[hash(addr)] -> node -> node -> ...   (FIFO per address)
//   node: { addr, thread, owner koid of that futex, woken }
//
// Ownership (zx_futex_wait's new_futex_owner, requeue's new_requeue_owner) is only recorded
// while the futex has waiters, as in Zircon: it is a copy in every waiting node of that
// address, and goes away with the last waiter. Wake and requeue make the woken futex ownerless.
//
// Lock rule: `lock` (LOCK_RANK_FUTEX, after the handle table and before the aspace) guards
// every bucket. zx_futex_wait holds it from the read of *value_ptr (a user copy: it takes the
// aspace lock) to linking its node with interrupts masked, then releases it and blocks without
// unmasking, so a zx_futex_wake from another thread (which needs the lock) finds the waiter
// either not yet checking or already linked: no wake-up is lost. A waker unlinks the node,
// sets `woken` and readies the thread; a waiter that ends by deadline or kill unlinks itself
// under the lock.
#pragma once

#include <stdint.h>

#include <kernel/lock.h>
#include <zircon/types.h>

#define FUTEX_BUCKETS 32u

struct futex_node;

struct futex_table {
    struct mutex lock;  // LOCK_RANK_FUTEX
    struct futex_node *buckets[FUTEX_BUCKETS];
};

void futex_table_init(struct futex_table *ft);

// The calling thread's process's table; `addr` is a user address aligned to 4, validated by
// the caller for alignment. `owner` is the new owner's koid (ZX_KOID_INVALID: none);
// `owner_thread` its uthread (NULL: none), to reject an owner that is itself a waiter.
// ZX_OK (woken), ZX_ERR_BAD_STATE (*addr != current), ZX_ERR_INVALID_ARGS (unreadable, or the
// owner is waiting on this futex), ZX_ERR_TIMED_OUT, ZX_ERR_INTERNAL_INTR_KILLED.
struct uthread;
zx_status_t futex_wait(struct futex_table *ft, uintptr_t addr, zx_futex_t current,
                       struct uthread *owner_thread, zx_koid_t owner, zx_time_t deadline);
// Wakes up to `count` waiters of `addr` (FIFO); the futex becomes ownerless.
void futex_wake(struct futex_table *ft, uintptr_t addr, uint32_t count);
// Checks *addr == current (ZX_ERR_BAD_STATE), wakes `wake_count` waiters of `addr`, moves up
// to `requeue_count` more to `requeue_addr` whose owner becomes `owner`. ZX_ERR_INVALID_ARGS
// if *addr is unreadable or owner_thread waits on either futex.
zx_status_t futex_requeue(struct futex_table *ft, uintptr_t addr, uint32_t wake_count,
                          zx_futex_t current, uintptr_t requeue_addr, uint32_t requeue_count,
                          struct uthread *owner_thread, zx_koid_t owner);
// The owner's koid of the futex at `addr` (ZX_KOID_INVALID when it has none or no waiters).
zx_koid_t futex_get_owner(struct futex_table *ft, uintptr_t addr);
