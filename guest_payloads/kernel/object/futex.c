// Futexes (include/kernel/futex.h): per-process buckets of waiting threads, nodes on the
// waiters' own kernel stacks.
//
//   wait:    lock { read *addr; compare; link node (irqs masked) } unlock; block (irqs still
//            masked); woken -> ZX_OK, else lock { unlink if still linked } -> timeout / kill
//   wake:    lock { irqs masked: unlink up to n nodes of addr, mark woken, thread_wake } unlock
//   requeue: lock { compare; wake n; move m nodes to the other address's bucket } unlock
#include <kernel/futex.h>

#include <kernel/arch.h>
#include <kernel/process.h>
#include <kernel/thread.h>
#include <kernel/usercopy.h>
#include <kernel/wait.h>
#include <zircon/syscalls/object.h>

struct futex_node {
    struct futex_node *next;  // in its bucket, FIFO
    uintptr_t addr;
    struct thread *thread;
    struct uthread *uthread;
    zx_koid_t owner;  // the futex's owner while it has waiters (same in every node of addr)
    bool woken;
};

void futex_table_init(struct futex_table *ft) {
    mutex_init(&ft->lock, "futex", LOCK_RANK_FUTEX);
    for (uint32_t i = 0; i < FUTEX_BUCKETS; i++) {
        ft->buckets[i] = NULL;
    }
}

static struct futex_node **bucket_of(struct futex_table *ft, uintptr_t addr) {
    uintptr_t h = addr >> 2;
    h ^= h >> 7;
    h ^= h >> 13;
    return &ft->buckets[h % FUTEX_BUCKETS];
}

static void node_append(struct futex_table *ft, struct futex_node *n) {
    struct futex_node **link = bucket_of(ft, n->addr);
    while (*link != NULL) {
        link = &(*link)->next;
    }
    n->next = NULL;
    *link = n;
}

// Unlinks `n` if linked; true if it was.
static bool node_unlink(struct futex_table *ft, struct futex_node *n) {
    for (struct futex_node **link = bucket_of(ft, n->addr); *link != NULL;
         link = &(*link)->next) {
        if (*link == n) {
            *link = n->next;
            n->next = NULL;
            return true;
        }
    }
    return false;
}

// Sets the owner recorded in every waiting node of `addr` (lock held).
static void set_owner(struct futex_table *ft, uintptr_t addr, zx_koid_t owner) {
    for (struct futex_node *n = *bucket_of(ft, addr); n != NULL; n = n->next) {
        if (n->addr == addr) {
            n->owner = owner;
        }
    }
}

static bool is_waiter(struct futex_table *ft, uintptr_t addr, const struct uthread *t) {
    if (t == NULL) {
        return false;
    }
    for (struct futex_node *n = *bucket_of(ft, addr); n != NULL; n = n->next) {
        if (n->addr == addr && n->uthread == t) {
            return true;
        }
    }
    return false;
}

// Reads *addr (lock held: a user copy, which takes the aspace lock, ranked after ours).
static zx_status_t read_value(uintptr_t addr, zx_futex_t *value) {
    return copy_from_user(value, (const void *)addr, sizeof(*value)) == ZX_OK
               ? ZX_OK
               : ZX_ERR_INVALID_ARGS;
}

// Wakes up to `count` waiters of `addr` (lock held, interrupts masked).
static void wake_locked(struct futex_table *ft, uintptr_t addr, uint32_t count) {
    struct futex_node **link = bucket_of(ft, addr);
    while (*link != NULL && count > 0) {
        struct futex_node *n = *link;
        if (n->addr != addr) {
            link = &n->next;
            continue;
        }
        *link = n->next;
        n->next = NULL;
        n->woken = true;
        thread_wake(n->thread);
        count--;
    }
}

zx_status_t futex_wait(struct futex_table *ft, uintptr_t addr, zx_futex_t current,
                       struct uthread *owner_thread, zx_koid_t owner, zx_time_t deadline) {
    struct futex_node node = {
        .addr = addr,
        .thread = thread_current(),
        .uthread = uthread_current(),
        .owner = owner,
    };
    mutex_lock(&ft->lock);
    zx_futex_t value;
    zx_status_t status = read_value(addr, &value);
    if (status == ZX_OK && value != current) {
        status = ZX_ERR_BAD_STATE;
    }
    if (status == ZX_OK && is_waiter(ft, addr, owner_thread)) {
        status = ZX_ERR_INVALID_ARGS;
    }
    if (status != ZX_OK) {
        mutex_unlock(&ft->lock);
        return status;
    }
    set_owner(ft, addr, owner);
    arch_irq_state_t irq = thread_lock_irqsave();
    node_append(ft, &node);
    mutex_unlock(&ft->lock);  // interrupts stay masked: no waker runs before we block
    uthread_set_blocked(ZX_THREAD_STATE_BLOCKED_FUTEX);
    status = ZX_OK;
    while (!node.woken && status == ZX_OK) {
        status = thread_block(thread_deadline(deadline));
    }
    uthread_set_blocked(0);
    bool woken = node.woken;
    thread_unlock_irqrestore(irq);
    if (woken) {
        return ZX_OK;
    }
    mutex_lock(&ft->lock);
    if (!node.woken) {
        node_unlink(ft, &node);
    }
    woken = node.woken;  // a wake that came before we took the lock still counts
    mutex_unlock(&ft->lock);
    return woken ? ZX_OK : status;
}

void futex_wake(struct futex_table *ft, uintptr_t addr, uint32_t count) {
    mutex_lock(&ft->lock);
    arch_irq_state_t irq = thread_lock_irqsave();
    wake_locked(ft, addr, count);
    set_owner(ft, addr, ZX_KOID_INVALID);
    thread_unlock_irqrestore(irq);
    mutex_unlock(&ft->lock);
}

zx_status_t futex_requeue(struct futex_table *ft, uintptr_t addr, uint32_t wake_count,
                          zx_futex_t current, uintptr_t requeue_addr, uint32_t requeue_count,
                          struct uthread *owner_thread, zx_koid_t owner) {
    mutex_lock(&ft->lock);
    zx_futex_t value;
    zx_status_t status = read_value(addr, &value);
    if (status == ZX_OK && value != current) {
        status = ZX_ERR_BAD_STATE;
    }
    if (status == ZX_OK &&
        (is_waiter(ft, addr, owner_thread) || is_waiter(ft, requeue_addr, owner_thread))) {
        status = ZX_ERR_INVALID_ARGS;
    }
    if (status != ZX_OK) {
        mutex_unlock(&ft->lock);
        return status;
    }
    arch_irq_state_t irq = thread_lock_irqsave();
    wake_locked(ft, addr, wake_count);
    // Move the next requeue_count waiters, in order, to the end of requeue_addr's queue.
    struct futex_node **link = bucket_of(ft, addr);
    while (*link != NULL && requeue_count > 0) {
        struct futex_node *n = *link;
        if (n->addr != addr) {
            link = &n->next;
            continue;
        }
        *link = n->next;
        n->addr = requeue_addr;
        node_append(ft, n);
        requeue_count--;
    }
    set_owner(ft, addr, ZX_KOID_INVALID);
    set_owner(ft, requeue_addr, owner);
    thread_unlock_irqrestore(irq);
    mutex_unlock(&ft->lock);
    return ZX_OK;
}

zx_koid_t futex_get_owner(struct futex_table *ft, uintptr_t addr) {
    zx_koid_t owner = ZX_KOID_INVALID;
    mutex_lock(&ft->lock);
    for (struct futex_node *n = *bucket_of(ft, addr); n != NULL; n = n->next) {
        if (n->addr == addr) {
            owner = n->owner;
            break;
        }
    }
    mutex_unlock(&ft->lock);
    return owner;
}
