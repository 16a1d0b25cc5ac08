// Spinlocks and mutexes (include/kernel/lock.h).
//
//   mutex_lock:    CAS 0 -> self; taken? thread lock { set CONTENDED, queue
//                  FIFO and block until the unlocker hands it over }; record it on the
//                  lock stack
//   mutex_unlock:  CAS self -> 0; CONTENDED? thread lock { state = first waiter, wake it }
//
// Handing the mutex to the first waiter (instead of waking it to race for it) keeps the order
// FIFO and means a woken waiter never has to retry.
#include <kernel/lock.h>

#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/smp.h>

// The lock-stack helpers take the caller's stack (thread_hot(self)->locks): the running
// thread is read once per mutex operation.
static void lock_stack_push(struct lock_stack *ls, const struct mutex *m) {
    if (ls->count == LOCK_MAX_HELD) {
        panic("mutex_lock: %s: a thread holds more than %u mutexes", m->name, LOCK_MAX_HELD);
    }
    ls->held[ls->count++] = m;
}

static void lock_stack_pop(struct lock_stack *ls, const struct mutex *m) {
    for (uint32_t i = ls->count; i-- > 0;) {
        if (ls->held[i] == m) {
            for (uint32_t j = i; j + 1 < ls->count; j++) {
                ls->held[j] = ls->held[j + 1];
            }
            ls->count--;
            return;
        }
    }
    panic("mutex_unlock: %s is not on the lock stack", m->name);
}

static const struct mutex *order_conflict(const struct lock_stack *ls, const struct mutex *m) {
    for (uint32_t i = 0; ls != NULL && i < ls->count; i++) {
        if (ls->held[i]->rank >= m->rank) {
            return ls->held[i];
        }
    }
    return NULL;
}

const struct mutex *mutex_order_conflict(const struct mutex *m) {
    return order_conflict(thread_lock_stack(), m);
}

// The lock-order check: every held mutex must rank below `m`.
static void lock_order_check(const struct lock_stack *ls, const struct mutex *m) {
#if LOCK_CHECKS
    const struct mutex *h = order_conflict(ls, m);
    if (h != NULL) {
        panic("lock order violation: taking %s (rank %u) while holding %s (rank %u)", m->name,
              m->rank, h->name, h->rank);
    }
#else
    (void)ls;
    (void)m;
#endif
}

void mutex_init(struct mutex *m, const char *name, uint32_t rank) {
    m->state = 0;
    m->waiters.head = m->waiters.tail = NULL;
    m->name = name;
    m->rank = rank;
}

static bool state_cas(struct mutex *m, uintptr_t *expected, uintptr_t desired) {
    return __atomic_compare_exchange_n(&m->state, expected, desired, false, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}

// Contended: mark the mutex contended and queue until the unlocker hands it over. Under the
// thread lock, so no unlock can run between marking and blocking.
static void mutex_lock_slow(struct mutex *m, uintptr_t self) {
    arch_irq_state_t irq = thread_lock_irqsave();
    for (;;) {
        uintptr_t cur = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
        if ((cur & ~MUTEX_CONTENDED) == self) {
            break;  // handed to us by mutex_unlock
        }
        if (cur == 0) {
            if (state_cas(m, &cur, self)) {
                break;
            }
            continue;
        }
        if (!(cur & MUTEX_CONTENDED) && !state_cas(m, &cur, cur | MUTEX_CONTENDED)) {
            continue;
        }
        wait_queue_block_etc(&m->waiters, THREAD_DEADLINE_INFINITE, false);
    }
    thread_unlock_irqrestore(irq);
}

void mutex_lock(struct mutex *m) {
    struct thread *self = thread_current();
    if (self == NULL) {
        return;  // before thread_init: one context, nothing to exclude
    }
    struct lock_stack *ls = thread_hot(self)->locks;
    lock_order_check(ls, m);
    uintptr_t expected = 0;
    if (!state_cas(m, &expected, (uintptr_t)self)) {
        if ((expected & ~MUTEX_CONTENDED) == (uintptr_t)self) {
            panic("mutex_lock: %s taken recursively by thread %s", m->name, thread_name(self));
        }
        mutex_lock_slow(m, (uintptr_t)self);
    }
    lock_stack_push(ls, m);
}

void mutex_unlock(struct mutex *m) {
    struct thread *self = thread_current();
    if (self == NULL) {
        return;
    }
    if ((__atomic_load_n(&m->state, __ATOMIC_RELAXED) & ~MUTEX_CONTENDED) != (uintptr_t)self) {
        panic("mutex_unlock: %s not held by the caller", m->name);
    }
    lock_stack_pop(thread_hot(self)->locks, m);
    uintptr_t expected = (uintptr_t)self;
    if (state_cas(m, &expected, 0)) {
        return;  // nobody waits
    }
    // Contended: hand it to the first waiter (still contended if more wait behind it).
    arch_irq_state_t irq = thread_lock_irqsave();
    struct thread *next = wait_queue_wake_first(&m->waiters);
    uintptr_t state = 0;
    if (next != NULL) {
        state = (uintptr_t)next | (m->waiters.head != NULL ? MUTEX_CONTENDED : 0);
    }
    __atomic_store_n(&m->state, state, __ATOMIC_RELEASE);
    thread_unlock_irqrestore(irq);
}

bool mutex_held(const struct mutex *m) {
    return (__atomic_load_n(&m->state, __ATOMIC_RELAXED) & ~MUTEX_CONTENDED) ==
           (uintptr_t)thread_current();
}

void mutex_assert_held(const struct mutex *m, const char *where) {
    if (!mutex_held(m)) {
        panic("%s: %s is not held", where, m->name);
    }
}

uint32_t mutex_held_count(void) {
    const struct lock_stack *ls = thread_lock_stack();
    return ls != NULL ? ls->count : 0;
}

void spin_lock(spinlock_t *l) {
    uint32_t self = percpu_get()->cpu_num + 1;
    for (;;) {
        uint32_t expected = 0;
        if (__atomic_compare_exchange_n(&l->locked, &expected, self, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
            return;
        }
        if (expected == self) {
            // Interrupts are masked: this CPU would wait for itself forever.
            panic("spinlock %s: already held by this CPU (re-entered)", l->name);
        }
        while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED) != 0) {
            smp_poll();  // serve TLB shootdowns meanwhile: the holder may be waiting for us
            arch_spin_pause();
        }
    }
}

void spin_unlock(spinlock_t *l) {
    if (__atomic_load_n(&l->locked, __ATOMIC_RELAXED) != percpu_get()->cpu_num + 1) {
        panic("spinlock %s: released while not held by this CPU", l->name);
    }
    __atomic_store_n(&l->locked, 0u, __ATOMIC_RELEASE);
}

bool spin_lock_held(const spinlock_t *l) {
    return __atomic_load_n(&l->locked, __ATOMIC_RELAXED) == percpu_get()->cpu_num + 1;
}

arch_irq_state_t spin_lock_irqsave(spinlock_t *l) {
    arch_irq_state_t irq = arch_irq_save();
    spin_lock(l);
    return irq;
}

void spin_unlock_irqrestore(spinlock_t *l, arch_irq_state_t state) {
    spin_unlock(l);
    arch_irq_restore(state);
}
