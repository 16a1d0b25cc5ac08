// Kernel locks (kernel/lock.c): spinlocks and blocking mutexes, with a checked lock order.
//
// The whole locking model is written down in docs/architecture.md ("Locking model"); in short:
//
//   mutex      blocking, owned by a thread, never recursive. A syscall may hold one across an
//              allocation or a block on another mutex (never across a wait for signals, a
//              sleep or a user-visible block: thread_block asserts that). Waiters queue FIFO
//              and the lock is handed straight to the first one on unlock, so nobody starves.
//              A mutex wait is not ended by a kill: the holder always finishes in bounded time.
//   spinlock   short leaf sections that may not block (page allocator, heap, counters). Taken
//              with interrupts masked (spin_lock_irqsave); a CPU that finds it taken spins
//              (test-and-test-and-set). The lock records the CPU holding it, so a CPU taking
//              a spinlock it already holds (a re-entry that would spin forever) panics naming it.
//   thread lock  the scheduler, run queue, wait queues, waiter lists and signal state: one
//              global spinlock (kernel/thread.c thread_lock_irqsave) that a CPU may take again
//              while it holds it (the depth is per CPU). It is the one lock handed across a
//              context switch: the switching thread's depth is saved and the resumed thread's
//              put back (include/kernel/thread.h).
//
// Lock order (outermost first). A thread may only take a mutex whose rank is greater than that
// of every mutex it already holds; the check runs in every build (LOCK_CHECKS) and panics
// with both names on a violation. Spinlocks and the thread lock come after every mutex.
//
//   LOCK_RANK_JOB_TREE      the job/process tree (one global mutex)
//   LOCK_RANK_PROCESS       one process's state and thread list
//   LOCK_RANK_CHANNEL       one channel pair (shared by both endpoints)
//   LOCK_RANK_SOCKET        one socket pair (shared by both endpoints; user copies under it)
//   LOCK_RANK_HANDLE_TABLE  one process's handle table
//   LOCK_RANK_FUTEX         one process's futex table (held across the read of *value_ptr)
//   LOCK_RANK_ASPACE        one address space: its VMAR tree, mappings and page tables
//   LOCK_RANK_VMO           one VMO: size, pages[], mapping count
//   (spinlocks: heap, pmm, koid counter; then the thread lock, which also guards ports,
//   async-wait observers and kernel timers: they have no mutex, see include/kernel/port.h)
//
// Releasing the last handle or reference of an object runs its on_last_handle / destroy hooks,
// which take that object's own locks: so handles and references are dropped only after every
// table or object lock is released (the handle table hands taken entries back to the caller
// to drop).
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <kernel/arch.h>
#include <kernel/thread.h>

#ifndef LOCK_CHECKS
#define LOCK_CHECKS 1
#endif

enum lock_rank {
    LOCK_RANK_JOB_TREE = 10,
    LOCK_RANK_PROCESS = 20,
    LOCK_RANK_CHANNEL = 30,
    LOCK_RANK_SOCKET = 35,
    LOCK_RANK_HANDLE_TABLE = 40,
    LOCK_RANK_FUTEX = 45,
    LOCK_RANK_ASPACE = 50,
    LOCK_RANK_VMO = 60,
};

// Mutexes a thread may hold at once (deepest nesting of the order above, plus room).
#define LOCK_MAX_HELD 8

struct mutex {
    // The owner (a struct thread *) | MUTEX_CONTENDED while threads wait; 0: free. The
    // uncontended lock and unlock are one compare-and-swap each, without masking interrupts.
    uintptr_t state;
    struct wait_queue waiters;  // threads blocked in mutex_lock, FIFO (thread lock)
    const char *name;           // for diagnostics ("vmo", "handle-table", ...)
    uint32_t rank;              // enum lock_rank
};

#define MUTEX_CONTENDED ((uintptr_t)1)
#define MUTEX_INITIALIZER(name_, rank_) {.state = 0, .waiters = {0}, .name = (name_), .rank = (rank_)}

void mutex_init(struct mutex *m, const char *name, uint32_t rank);
// Takes `m`, blocking (not killable) while another thread holds it. Panics on recursion and
// on a lock-order violation.
void mutex_lock(struct mutex *m);
// Releases `m` (held by the caller), handing it to the longest waiter.
void mutex_unlock(struct mutex *m);
// True if the calling thread holds `m`.
bool mutex_held(const struct mutex *m);
// Panics unless the calling thread holds `m`.
void mutex_assert_held(const struct mutex *m, const char *where);
// The held mutex that taking `m` now would violate the lock order against (rank at or above
// m's), or NULL: what mutex_lock checks before it panics; the self-tests ask it directly.
const struct mutex *mutex_order_conflict(const struct mutex *m);
// How many mutexes the calling thread holds (thread_block checks it is 0 for user waits).
uint32_t mutex_held_count(void);

typedef struct {
    volatile uint32_t locked;  // 0 free; else the holding CPU's number + 1
    const char *name;
} spinlock_t;

#define SPINLOCK_INITIALIZER(name_) {.locked = 0, .name = (name_)}

// Takes `l` with interrupts already masked by the caller (spins while another CPU holds it).
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
// True if this CPU holds `l`.
bool spin_lock_held(const spinlock_t *l);

// Masks interrupts and takes `l`; returns the interrupt state for spin_unlock_irqrestore.
arch_irq_state_t spin_lock_irqsave(spinlock_t *l);
void spin_unlock_irqrestore(spinlock_t *l, arch_irq_state_t state);

// Per-thread bookkeeping of held mutexes (a field of struct thread).
struct lock_stack {
    uint32_t count;
    const struct mutex *held[LOCK_MAX_HELD];
};
// The calling thread's stack; NULL before threads exist.
static inline struct lock_stack *thread_lock_stack(void) {
    struct thread *self = thread_current();
    return self != NULL ? thread_hot(self)->locks : NULL;
}
