// A mutex and a condition variable for guest programs, built on Zircon futexes (ulib/sync.c).
//
//   zhb_mutex_t m = ZHB_MUTEX_INIT;           zhb_cond_t c = ZHB_COND_INIT;
//   zhb_mutex_lock(&m);                       while (!ready) zhb_cond_wait(&c, &m);
//   ... ; zhb_mutex_unlock(&m);               zhb_cond_signal(&c) / zhb_cond_broadcast(&c)
//
// The mutex is one futex word: 0 free, 1 held, 2 held with (possible) waiters. An uncontended
// lock or unlock is one atomic instruction and no syscall; a contended lock sleeps in
// zx_futex_wait and an unlock of a contended mutex wakes one waiter with zx_futex_wake.
// Not recursive; unlocking a mutex the caller does not hold is undefined.
// The condition variable is a futex sequence number: a wait samples it, unlocks, and sleeps
// until a signal or broadcast changes it (so a signal between the unlock and the sleep is not
// lost: the futex value check fails and the wait returns at once).
#pragma once

#include <stdbool.h>
#include <zircon/types.h>

typedef struct {
    zx_futex_t state;
} zhb_mutex_t;

typedef struct {
    zx_futex_t seq;
} zhb_cond_t;

#define ZHB_MUTEX_INIT {0}
#define ZHB_COND_INIT {0}

void zhb_mutex_lock(zhb_mutex_t *m);
bool zhb_mutex_trylock(zhb_mutex_t *m);
void zhb_mutex_unlock(zhb_mutex_t *m);

// Atomically unlocks `m` and waits for a signal; holds `m` again on return. Spurious wake-ups
// are possible: call it in a loop checking the condition.
void zhb_cond_wait(zhb_cond_t *c, zhb_mutex_t *m);
// The same with an absolute ZX_CLOCK_MONOTONIC deadline: ZX_OK or ZX_ERR_TIMED_OUT (holding
// `m` again either way).
zx_status_t zhb_cond_timedwait(zhb_cond_t *c, zhb_mutex_t *m, zx_time_t deadline);
void zhb_cond_signal(zhb_cond_t *c);
void zhb_cond_broadcast(zhb_cond_t *c);
