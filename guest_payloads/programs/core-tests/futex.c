// Futexes (zx_futex_wait / wake / requeue / get_owner) and ulib's zhb/sync.h mutex and
// condition variable built on them.
#include <ktap.h>
#include <string.h>
#include <zhb/sync.h>
#include <zircon/process.h>

#include "child.h"
#include "core-tests.h"
#include "testkit.h"

#define JOIN_MS 5000

bool wait_thread_state(zx_handle_t thread, zx_thread_state_t state, int64_t ms) {
    zx_time_t deadline = zx_deadline_after(ZX_MSEC(ms));
    while (thread_state(thread) != state) {
        if (zx_clock_get_monotonic() > deadline) {
            return false;
        }
        zx_nanosleep(zx_deadline_after(ZX_MSEC(1)));
    }
    return true;
}

struct waiter {
    zx_futex_t *futex;
    zx_futex_t value;
    zx_handle_t owner;
    zx_time_t deadline;
    volatile zx_status_t status;
    volatile uint64_t done;
};

static void waiter_main(void *arg) {
    struct waiter *w = arg;
    w->status = zx_futex_wait(w->futex, w->value, w->owner, w->deadline);
    tk_store(&w->done, 1);
}

static bool start_waiter(struct tk_thread *t, struct waiter *w, zx_futex_t *futex,
                         zx_handle_t owner) {
    *w = (struct waiter){.futex = futex, .value = *futex, .owner = owner,
                         .deadline = ZX_TIME_INFINITE, .status = 1};
    if (tk_thread_start(t, "futex-waiter", waiter_main, w) != ZX_OK) {
        return false;
    }
    return wait_thread_state(t->handle, ZX_THREAD_STATE_BLOCKED_FUTEX, JOIN_MS);
}

static uint64_t count_done(struct waiter *w, int n) {
    uint64_t done = 0;
    for (int i = 0; i < n; i++) {
        done += tk_load(&w[i].done);
    }
    return done;
}

KTAP_CASE(futex_wait_value_mismatch) {
    zx_futex_t f = 5;
    KTAP_EXPECT_STATUS(zx_futex_wait(&f, 6, ZX_HANDLE_INVALID, ZX_TIME_INFINITE),
                       ZX_ERR_BAD_STATE);
}

KTAP_CASE(futex_wait_deadline) {
    zx_futex_t f = 0;
    KTAP_EXPECT_STATUS(zx_futex_wait(&f, 0, ZX_HANDLE_INVALID, 0), ZX_ERR_TIMED_OUT);
    zx_time_t start = zx_clock_get_monotonic();
    KTAP_EXPECT_STATUS(zx_futex_wait(&f, 0, ZX_HANDLE_INVALID, zx_deadline_after(ZX_MSEC(5))),
                       ZX_ERR_TIMED_OUT);
    KTAP_EXPECT_TRUE(zx_clock_get_monotonic() - start >= ZX_MSEC(5));
}

KTAP_CASE(futex_invalid_pointers) {
    static zx_futex_t words[2];
    zx_futex_t *unaligned = (zx_futex_t *)((uintptr_t)&words[0] + 2);
    zx_futex_t *kernel = (zx_futex_t *)(uintptr_t)0xffffff8000001000ull;
    zx_futex_t *unmapped = (zx_futex_t *)(uintptr_t)0x1000;
    zx_koid_t koid;
    KTAP_EXPECT_STATUS(zx_futex_wait(NULL, 0, ZX_HANDLE_INVALID, 0), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_futex_wait(unaligned, 0, ZX_HANDLE_INVALID, 0), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_futex_wait(kernel, 0, ZX_HANDLE_INVALID, 0), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_futex_wait(unmapped, 0, ZX_HANDLE_INVALID, 0), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_futex_wake(NULL, 1), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_futex_wake(unaligned, 1), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_futex_wake(kernel, 1), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_futex_requeue(unaligned, 1, 0, &words[1], 1, ZX_HANDLE_INVALID),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_futex_requeue(&words[0], 1, 0, unaligned, 1, ZX_HANDLE_INVALID),
                       ZX_ERR_INVALID_ARGS);
    // The same futex twice.
    KTAP_EXPECT_STATUS(zx_futex_requeue(&words[0], 1, 0, &words[0], 1, ZX_HANDLE_INVALID),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_futex_get_owner(unaligned, &koid), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_futex_get_owner(&words[0], NULL), ZX_ERR_INVALID_ARGS);
    // A wake with no waiters is fine.
    KTAP_EXPECT_OK(zx_futex_wake(&words[0], 1));
}

KTAP_CASE(futex_owner_handle_rules) {
    zx_futex_t f = 0;
    zx_handle_t event;
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_STATUS(zx_futex_wait(&f, 0, event, 0), ZX_ERR_WRONG_TYPE);
    KTAP_EXPECT_STATUS(zx_futex_wait(&f, 0, (zx_handle_t)0x7ffffff3u, 0), ZX_ERR_BAD_HANDLE);
    KTAP_EXPECT_STATUS(zx_futex_wait(&f, 0, zx_thread_self(), 0), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_futex_requeue(&f, 0, 0, &f + 1, 0, event), ZX_ERR_WRONG_TYPE);
    KTAP_EXPECT_STATUS(zx_futex_requeue(&f, 0, 1, &f + 1, 0, ZX_HANDLE_INVALID),
                       ZX_ERR_BAD_STATE);
    zx_handle_close(event);
}

KTAP_CASE(futex_wake_one_and_all) {
    static zx_futex_t f;
    struct tk_thread t[3];
    struct waiter w[3];
    f = 7;
    for (int i = 0; i < 3; i++) {
        KTAP_ASSERT_TRUE(start_waiter(&t[i], &w[i], &f, ZX_HANDLE_INVALID));
    }
    KTAP_EXPECT_EQ(count_done(w, 3), 0);
    KTAP_EXPECT_OK(zx_futex_wake(&f, 1));
    KTAP_EXPECT_OK(tk_thread_join(&t[0], JOIN_MS));  // FIFO: the first waiter
    KTAP_EXPECT_EQ(w[0].status, ZX_OK);
    zx_nanosleep(zx_deadline_after(ZX_MSEC(5)));
    KTAP_EXPECT_EQ(count_done(w, 3), 1);
    KTAP_EXPECT_OK(zx_futex_wake(&f, UINT32_MAX));
    for (int i = 1; i < 3; i++) {
        KTAP_EXPECT_OK(tk_thread_join(&t[i], JOIN_MS));
        KTAP_EXPECT_EQ(w[i].status, ZX_OK);
    }
}

KTAP_CASE(futex_owner_tracks_waiters) {
    static zx_futex_t f;
    struct tk_thread t;
    struct waiter w;
    zx_koid_t owner = 1;
    f = 1;
    KTAP_EXPECT_OK(zx_futex_get_owner(&f, &owner));
    KTAP_EXPECT_EQ(owner, ZX_KOID_INVALID);
    // The waiter names us (the main thread) as the owner.
    KTAP_ASSERT_TRUE(start_waiter(&t, &w, &f, zx_thread_self()));
    KTAP_EXPECT_OK(zx_futex_get_owner(&f, &owner));
    KTAP_EXPECT_EQ(owner, koid_of(zx_thread_self()));
    KTAP_EXPECT_OK(zx_futex_wake(&f, 1));  // a wake leaves the futex ownerless
    KTAP_EXPECT_OK(tk_thread_join(&t, JOIN_MS));
    KTAP_EXPECT_OK(zx_futex_get_owner(&f, &owner));
    KTAP_EXPECT_EQ(owner, ZX_KOID_INVALID);
}

KTAP_CASE(futex_requeue_moves_waiters) {
    static zx_futex_t f[2];
    struct tk_thread t[3];
    struct waiter w[3];
    zx_koid_t owner = 0;
    f[0] = 3;
    for (int i = 0; i < 3; i++) {
        KTAP_ASSERT_TRUE(start_waiter(&t[i], &w[i], &f[0], ZX_HANDLE_INVALID));
    }
    // A waiter on the wake futex cannot become the requeue futex's owner.
    KTAP_EXPECT_STATUS(zx_futex_requeue(&f[0], 0, 3, &f[1], 0, t[2].handle),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_futex_requeue(&f[0], 1, 4, &f[1], 2, ZX_HANDLE_INVALID),
                       ZX_ERR_BAD_STATE);
    KTAP_EXPECT_EQ(count_done(w, 3), 0);
    KTAP_EXPECT_OK(zx_futex_requeue(&f[0], 1, 3, &f[1], 2, zx_thread_self()));
    KTAP_EXPECT_OK(tk_thread_join(&t[0], JOIN_MS));
    KTAP_EXPECT_OK(zx_futex_get_owner(&f[1], &owner));
    KTAP_EXPECT_EQ(owner, koid_of(zx_thread_self()));
    // Nobody is left on the first futex; both others now wait on the second.
    KTAP_EXPECT_OK(zx_futex_wake(&f[0], UINT32_MAX));
    zx_nanosleep(zx_deadline_after(ZX_MSEC(5)));
    KTAP_EXPECT_EQ(count_done(w, 3), 1);
    KTAP_EXPECT_EQ(thread_state(t[1].handle), ZX_THREAD_STATE_BLOCKED_FUTEX);
    KTAP_EXPECT_OK(zx_futex_wake(&f[1], UINT32_MAX));
    for (int i = 1; i < 3; i++) {
        KTAP_EXPECT_OK(tk_thread_join(&t[i], JOIN_MS));
        KTAP_EXPECT_EQ(w[i].status, ZX_OK);
    }
}

KTAP_CASE(futex_killed_waiter_leaves) {
    static zx_futex_t f;
    struct tk_thread t[2];
    struct waiter w[2];
    f = 9;
    KTAP_ASSERT_TRUE(start_waiter(&t[0], &w[0], &f, ZX_HANDLE_INVALID));
    KTAP_ASSERT_TRUE(start_waiter(&t[1], &w[1], &f, ZX_HANDLE_INVALID));
    KTAP_EXPECT_OK(zx_task_kill(t[0].handle));
    KTAP_EXPECT_OK(wait_ms(t[0].handle, ZX_THREAD_TERMINATED, JOIN_MS));
    KTAP_EXPECT_EQ(w[0].done, 0);  // it never returned to user mode
    // The one wake goes to the live waiter, not to the dead one's stale node.
    KTAP_EXPECT_OK(zx_futex_wake(&f, 1));
    KTAP_EXPECT_OK(tk_thread_join(&t[1], JOIN_MS));
    KTAP_EXPECT_EQ(w[1].status, ZX_OK);
    tk_thread_join(&t[0], JOIN_MS);
}

struct counter {
    zhb_mutex_t lock;
    uint64_t value;  // guarded by lock, plain (non-atomic) increments
    uint64_t rounds;
};

static void counter_main(void *arg) {
    struct counter *c = arg;
    for (uint64_t i = 0; i < c->rounds; i++) {
        zhb_mutex_lock(&c->lock);
        uint64_t v = c->value;
        if ((i & 63) == 0) {
            zx_nanosleep(0);  // invite a switch while holding the lock
        }
        c->value = v + 1;
        zhb_mutex_unlock(&c->lock);
    }
}

KTAP_CASE(ulib_mutex_counter_exact) {
    static struct counter c;
    c = (struct counter){.lock = ZHB_MUTEX_INIT, .value = 0, .rounds = 3000};
    struct tk_thread t[4];
    for (int i = 0; i < 4; i++) {
        KTAP_ASSERT_OK(tk_thread_start(&t[i], "counter", counter_main, &c));
    }
    for (int i = 0; i < 4; i++) {
        KTAP_EXPECT_OK(tk_thread_join(&t[i], 30000));
    }
    KTAP_EXPECT_EQ(c.value, 4 * 3000);
    KTAP_EXPECT_EQ(c.lock.state, 0);
}

struct queue {
    zhb_mutex_t lock;
    zhb_cond_t not_empty;
    zhb_cond_t not_full;
    uint32_t items[4];
    uint32_t head, count;
    uint64_t sum;
};

static void producer_main(void *arg) {
    struct queue *q = arg;
    for (uint32_t i = 1; i <= 500; i++) {
        zhb_mutex_lock(&q->lock);
        while (q->count == 4) {
            zhb_cond_wait(&q->not_full, &q->lock);
        }
        q->items[(q->head + q->count) % 4] = i;
        q->count++;
        zhb_cond_signal(&q->not_empty);
        zhb_mutex_unlock(&q->lock);
    }
}

static void consumer_main(void *arg) {
    struct queue *q = arg;
    for (uint32_t i = 0; i < 500; i++) {
        zhb_mutex_lock(&q->lock);
        while (q->count == 0) {
            zhb_cond_wait(&q->not_empty, &q->lock);
        }
        q->sum += q->items[q->head];
        q->head = (q->head + 1) % 4;
        q->count--;
        zhb_cond_signal(&q->not_full);
        zhb_mutex_unlock(&q->lock);
    }
}

KTAP_CASE(ulib_condvar_producer_consumer) {
    static struct queue q;
    q = (struct queue){.lock = ZHB_MUTEX_INIT};
    struct tk_thread t[4];
    KTAP_ASSERT_OK(tk_thread_start(&t[0], "producer", producer_main, &q));
    KTAP_ASSERT_OK(tk_thread_start(&t[1], "producer", producer_main, &q));
    KTAP_ASSERT_OK(tk_thread_start(&t[2], "consumer", consumer_main, &q));
    KTAP_ASSERT_OK(tk_thread_start(&t[3], "consumer", consumer_main, &q));
    for (int i = 0; i < 4; i++) {
        KTAP_EXPECT_OK(tk_thread_join(&t[i], 30000));
    }
    KTAP_EXPECT_EQ(q.sum, 2u * (500u * 501u / 2u));
    KTAP_EXPECT_EQ(q.count, 0);
    // A timed wait with nobody signalling times out, holding the mutex again.
    zhb_mutex_lock(&q.lock);
    KTAP_EXPECT_STATUS(zhb_cond_timedwait(&q.not_empty, &q.lock, zx_deadline_after(ZX_MSEC(2))),
                       ZX_ERR_TIMED_OUT);
    KTAP_EXPECT_TRUE(!zhb_mutex_trylock(&q.lock));
    zhb_mutex_unlock(&q.lock);
}
