// Spinlocks and mutexes (include/kernel/lock.h).
//
//   mutex_lock:    thread lock (irqs masked) { free? take it : queue FIFO and block until the
//                  unlocker hands it over }                    then record it on the lock stack
//   mutex_unlock:  thread lock { first waiter? owner = it, wake it : owner = NULL }
//
// Handing the mutex to the first waiter (instead of waking it to race for it) keeps the order
// FIFO and means a woken waiter never has to retry.
#include <kernel/lock.h>

#include <kernel/panic.h>

static void lock_stack_push(const struct mutex *m) {
    struct lock_stack *ls = thread_lock_stack();
    if (ls == NULL) {
        return;
    }
    if (ls->count == LOCK_MAX_HELD) {
        panic("mutex_lock: %s: a thread holds more than %u mutexes", m->name, LOCK_MAX_HELD);
    }
    ls->held[ls->count++] = m;
}

static void lock_stack_pop(const struct mutex *m) {
    struct lock_stack *ls = thread_lock_stack();
    if (ls == NULL) {
        return;
    }
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

// The lock-order check: every held mutex must rank below `m`.
static void lock_order_check(const struct mutex *m) {
#if LOCK_CHECKS
    const struct lock_stack *ls = thread_lock_stack();
    if (ls == NULL) {
        return;
    }
    for (uint32_t i = 0; i < ls->count; i++) {
        const struct mutex *h = ls->held[i];
        if (h->rank >= m->rank) {
            panic("lock order violation: taking %s (rank %u) while holding %s (rank %u)",
                  m->name, m->rank, h->name, h->rank);
        }
    }
#else
    (void)m;
#endif
}

void mutex_init(struct mutex *m, const char *name, uint32_t rank) {
    m->owner = NULL;
    m->waiters.head = m->waiters.tail = NULL;
    m->name = name;
    m->rank = rank;
}

void mutex_lock(struct mutex *m) {
    struct thread *self = thread_current();
    if (self == NULL) {
        return;  // before thread_init: one context, nothing to exclude
    }
    arch_irq_state_t irq = arch_irq_save();
    if (m->owner == self) {
        panic("mutex_lock: %s taken recursively by thread %s", m->name, thread_name(self));
    }
    lock_order_check(m);
    if (m->owner == NULL) {
        m->owner = self;
    } else {
        while (m->owner != self) {
            wait_queue_block_etc(&m->waiters, THREAD_DEADLINE_INFINITE, false);
        }
    }
    lock_stack_push(m);
    arch_irq_restore(irq);
}

void mutex_unlock(struct mutex *m) {
    if (thread_current() == NULL) {
        return;
    }
    arch_irq_state_t irq = arch_irq_save();
    if (m->owner != thread_current()) {
        panic("mutex_unlock: %s not held by the caller", m->name);
    }
    lock_stack_pop(m);
    m->owner = wait_queue_wake_first(&m->waiters);
    arch_irq_restore(irq);
}

bool mutex_held(const struct mutex *m) {
    return m->owner == thread_current();
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

arch_irq_state_t spin_lock_irqsave(spinlock_t *l) {
    arch_irq_state_t irq = arch_irq_save();
    if (__atomic_exchange_n(&l->locked, 1u, __ATOMIC_ACQUIRE) != 0) {
        // One CPU with interrupts masked: nobody else can ever release it.
        panic("spinlock %s: already held (re-entered)", l->name);
    }
    return irq;
}

void spin_unlock_irqrestore(spinlock_t *l, arch_irq_state_t state) {
    if (l->locked == 0) {
        panic("spinlock %s: released while not held", l->name);
    }
    __atomic_store_n(&l->locked, 0u, __ATOMIC_RELEASE);
    arch_irq_restore(state);
}

bool spin_lock_held(const spinlock_t *l) {
    return l->locked != 0;
}
