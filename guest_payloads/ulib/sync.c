// zhb_mutex_t and zhb_cond_t on futexes (ulib/include/zhb/sync.h).
#include <zhb/sync.h>

#include <stdint.h>
#include <zircon/syscalls.h>

enum { UNLOCKED = 0, LOCKED = 1, CONTENDED = 2 };

static zx_futex_t cas(zx_futex_t *p, zx_futex_t expected, zx_futex_t desired) {
    __atomic_compare_exchange_n(p, &expected, desired, false, __ATOMIC_ACQUIRE,
                                __ATOMIC_RELAXED);
    return expected;  // the value seen
}

// Takes `m` marking it contended (after a sleep, other threads may still wait on it).
static void lock_contended(zhb_mutex_t *m) {
    while (__atomic_exchange_n(&m->state, CONTENDED, __ATOMIC_ACQUIRE) != UNLOCKED) {
        // ZX_ERR_BAD_STATE: it changed meanwhile; try again.
        zx_futex_wait(&m->state, CONTENDED, ZX_HANDLE_INVALID, ZX_TIME_INFINITE);
    }
}

void zhb_mutex_lock(zhb_mutex_t *m) {
    if (cas(&m->state, UNLOCKED, LOCKED) != UNLOCKED) {
        lock_contended(m);
    }
}

bool zhb_mutex_trylock(zhb_mutex_t *m) {
    return cas(&m->state, UNLOCKED, LOCKED) == UNLOCKED;
}

void zhb_mutex_unlock(zhb_mutex_t *m) {
    if (__atomic_exchange_n(&m->state, UNLOCKED, __ATOMIC_RELEASE) == CONTENDED) {
        zx_futex_wake(&m->state, 1);
    }
}

zx_status_t zhb_cond_timedwait(zhb_cond_t *c, zhb_mutex_t *m, zx_time_t deadline) {
    zx_futex_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
    zhb_mutex_unlock(m);
    zx_status_t status = zx_futex_wait(&c->seq, seq, ZX_HANDLE_INVALID, deadline);
    lock_contended(m);
    return status == ZX_ERR_TIMED_OUT ? ZX_ERR_TIMED_OUT : ZX_OK;
}

void zhb_cond_wait(zhb_cond_t *c, zhb_mutex_t *m) {
    (void)zhb_cond_timedwait(c, m, ZX_TIME_INFINITE);
}

void zhb_cond_signal(zhb_cond_t *c) {
    __atomic_add_fetch(&c->seq, 1, __ATOMIC_RELEASE);
    zx_futex_wake(&c->seq, 1);
}

void zhb_cond_broadcast(zhb_cond_t *c) {
    __atomic_add_fetch(&c->seq, 1, __ATOMIC_RELEASE);
    zx_futex_wake(&c->seq, UINT32_MAX);
}
