// Stress cases for futexes, sockets and zx_channel_call: futex wake/requeue storms under a
// ulib mutex, socket producer/consumer with back-pressure (stream and datagram), and
// concurrent channel_calls against a server that dies mid-call.
#include <stdio.h>
#include <string.h>
#include <zhb/sync.h>

#include "stress.h"

// ---- futex_wake_requeue_storm ----------------------------------------------------------------

struct storm {
    zx_futex_t gen;    // waiters wait on it while it holds the value they read
    zx_futex_t other;  // the requeue target
    zhb_mutex_t lock;
    uint64_t guarded;  // incremented under lock
    volatile uint64_t increments;
    volatile uint64_t waits, wakes, requeues;
    volatile uint64_t stop;
    struct tk_failure fail;
};

static void storm_waiter(void *arg) {
    struct storm *s = arg;
    while (!tk_load(&s->stop)) {
        zx_futex_t seen = __atomic_load_n(&s->gen, __ATOMIC_SEQ_CST);
        zx_status_t st = zx_futex_wait(&s->gen, seen, ZX_HANDLE_INVALID,
                                       zx_deadline_after(ZX_MSEC(20)));
        if (st != ZX_OK && st != ZX_ERR_BAD_STATE && st != ZX_ERR_TIMED_OUT) {
            TK_FAIL(&s->fail, "futex_wait", st, 0);
        }
        tk_add(&s->waits, 1);
    }
}

static void storm_waker(void *arg) {
    struct storm *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        zx_futex_t g = __atomic_add_fetch(&s->gen, 1, __ATOMIC_SEQ_CST);
        zx_status_t st;
        if (tk_below(&rng, 2) == 0) {
            st = zx_futex_wake(&s->gen, (uint32_t)tk_below(&rng, 4));
            tk_add(&s->wakes, 1);
        } else {
            st = zx_futex_requeue(&s->gen, (uint32_t)tk_below(&rng, 2), g, &s->other,
                                  (uint32_t)tk_below(&rng, 4), ZX_HANDLE_INVALID);
            if (st == ZX_ERR_BAD_STATE) {
                st = ZX_OK;  // another waker moved gen on meanwhile
            }
            tk_add(&s->requeues, 1);
        }
        if (st == ZX_OK) {
            st = zx_futex_wake(&s->other, UINT32_MAX);
        }
        if (st != ZX_OK) {
            TK_FAIL(&s->fail, "wake/requeue", st, 0);
        }
        if (tk_below(&rng, 8) == 0) {
            zx_nanosleep(zx_deadline_after(ZX_USEC(100)));  // let the waiters run
        }
    }
}

static void storm_counter(void *arg) {
    struct storm *s = arg;
    while (!tk_load(&s->stop)) {
        zhb_mutex_lock(&s->lock);
        s->guarded++;
        zhb_mutex_unlock(&s->lock);
        if ((tk_add(&s->increments, 1) & 127) == 0) {
            zx_nanosleep(zx_deadline_after(ZX_USEC(100)));  // one CPU: give the others turns
        }
    }
}

// Waiters, wakers and requeuers race on two futexes; threads counting under a futex mutex
// must end with an exact count. Every call returns a documented status.
KTAP_CASE(futex_wake_requeue_storm) {
    static struct storm s;
    s = (struct storm){.lock = ZHB_MUTEX_INIT};
    static const stress_worker workers[] = {storm_waiter, storm_waiter, storm_waiter,
                                            storm_waker,  storm_waker,  storm_counter,
                                            storm_counter, storm_counter};
    KTAP_EXPECT_OK(stress_round(workers, 8, &s, &s.stop));
    KTAP_EXPECT_EQ(s.guarded, s.increments);
    KTAP_EXPECT_EQ(s.lock.state, 0);
    ktap_diag("%llu waits, %llu wakes, %llu requeues, %llu locked increments",
              (unsigned long long)s.waits, (unsigned long long)s.wakes,
              (unsigned long long)s.requeues, (unsigned long long)s.increments);
    tk_report(&s.fail, __FILE__);
    STRESS_KERNEL_SANE();
}

// ---- socket_producer_consumer --------------------------------------------------------------

struct pc {
    zx_handle_t tx, rx;
    bool datagram;
    volatile uint64_t produced, consumed, full;
    volatile uint64_t stop, producer_done;
    struct tk_failure fail;
};

static void pc_producer(void *arg) {
    struct pc *p = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    uint8_t buf[3000];
    uint64_t seq = 0;
    while (!tk_load(&p->stop)) {
        size_t n = 1 + tk_below(&rng, sizeof(buf));
        for (size_t i = 0; i < n; i++) {
            buf[i] = (uint8_t)((seq + i) % 251);
        }
        if (p->datagram) {
            memcpy(buf, &seq, sizeof(seq) < n ? sizeof(seq) : n);
        }
        size_t actual = 0;
        zx_status_t st = zx_socket_write(p->tx, 0, buf, n, &actual);
        if (st == ZX_ERR_SHOULD_WAIT) {
            tk_add(&p->full, 1);
            zx_object_wait_one(p->tx, ZX_SOCKET_WRITABLE, zx_deadline_after(ZX_MSEC(10)), NULL);
            continue;
        }
        if (st != ZX_OK || actual == 0 || actual > n || (p->datagram && actual != n)) {
            TK_FAIL(&p->fail, "socket_write", st, actual);
            break;
        }
        seq += p->datagram ? 1 : actual;
        tk_add(&p->produced, actual);
    }
    tk_store(&p->producer_done, 1);
}

static void pc_consumer(void *arg) {
    struct pc *p = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    uint8_t buf[3000];
    uint64_t seq = 0;
    for (;;) {
        size_t want = p->datagram ? sizeof(buf) : 1 + tk_below(&rng, sizeof(buf));
        size_t actual = 0;
        zx_status_t st = zx_socket_read(p->rx, 0, buf, want, &actual);
        if (st == ZX_ERR_SHOULD_WAIT) {
            if (tk_load(&p->producer_done)) {
                break;  // drained
            }
            zx_object_wait_one(p->rx, ZX_SOCKET_READABLE, zx_deadline_after(ZX_MSEC(10)), NULL);
            continue;
        }
        if (st != ZX_OK) {
            TK_FAIL(&p->fail, "socket_read", st, 0);
            break;
        }
        if (p->datagram) {
            uint64_t got = 0;
            memcpy(&got, buf, sizeof(got) < actual ? sizeof(got) : actual);
            if (actual >= sizeof(got) && got != seq) {
                TK_FAIL(&p->fail, "datagram order", got, seq);
            }
            for (size_t i = sizeof(got); i < actual; i++) {
                if (buf[i] != (uint8_t)((seq + i) % 251)) {
                    TK_FAIL(&p->fail, "datagram byte", i, buf[i]);
                    break;
                }
            }
            seq++;
        } else {
            for (size_t i = 0; i < actual; i++) {
                if (buf[i] != (uint8_t)((seq + i) % 251)) {
                    TK_FAIL(&p->fail, "stream byte", seq + i, buf[i]);
                    break;
                }
            }
            seq += actual;
        }
        tk_add(&p->consumed, actual);
        if (tk_below(&rng, 4) == 0) {
            zx_nanosleep(0);  // let the buffer fill up now and then
        }
    }
}

static void pc_run(bool datagram) {
    static struct pc p;
    p = (struct pc){.datagram = datagram};
    KTAP_ASSERT_OK(zx_socket_create(datagram ? ZX_SOCKET_DATAGRAM : ZX_SOCKET_STREAM, &p.tx,
                                    &p.rx));
    struct tk_thread consumer;
    KTAP_ASSERT_OK(tk_thread_start(&consumer, "consumer", pc_consumer, &p));
    static const stress_worker workers[] = {pc_producer};
    KTAP_EXPECT_OK(stress_round(workers, 1, &p, &p.stop));
    KTAP_EXPECT_OK(tk_thread_join(&consumer, JOIN_MS));
    KTAP_EXPECT_EQ(p.consumed, p.produced);
    ktap_diag("%s: %llu bytes through, %llu writes refused (buffer full)",
              datagram ? "datagram" : "stream", (unsigned long long)p.produced,
              (unsigned long long)p.full);
    zx_handle_close(p.tx);
    zx_handle_close(p.rx);
    tk_report(&p.fail, __FILE__);
}

// A producer writes a numbered byte stream (then numbered datagrams) in random sizes as fast
// as it can, backing off on ZX_ERR_SHOULD_WAIT until WRITABLE; a consumer reads in random
// sizes and checks every byte and the datagram order.
KTAP_CASE(socket_producer_consumer) {
    pc_run(false);
    pc_run(true);
    STRESS_KERNEL_SANE();
}

// ---- channel_call_dying_server ---------------------------------------------------------------

struct call_round {
    zx_handle_t client, server;
    volatile uint64_t calls, closed;
    struct tk_failure *fail;
};

static void call_client(void *arg) {
    struct call_round *r = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    for (;;) {
        uint8_t wr[16], rd[32];
        uint64_t token = tk_rand(&rng);
        memset(wr, 0, 4);
        memcpy(wr + 4, &token, sizeof(token));
        uint32_t nb = 0, nh = 0;
        zx_channel_call_args_t a = {.wr_bytes = wr, .wr_num_bytes = 12, .rd_bytes = rd,
                                    .rd_num_bytes = sizeof(rd)};
        zx_status_t st = zx_channel_call(r->client, 0, zx_deadline_after(ZX_MSEC(TK_SCALED_MS(5000))), &a, &nb, &nh);
        if (st == ZX_ERR_PEER_CLOSED) {
            tk_add(&r->closed, 1);
            return;
        }
        if (st != ZX_OK || nb != 12 || memcmp(rd + 4, wr + 4, 8) != 0) {
            TK_FAIL(r->fail, "channel_call", st, nb);
            return;
        }
        tk_add(&r->calls, 1);
    }
}

// Reads up to four requests, then answers them in reverse order; ends when its handle is
// closed under it.
static void call_server(void *arg) {
    struct call_round *r = arg;
    uint8_t msgs[4][32];
    uint32_t sizes[4];
    for (;;) {
        if (zx_object_wait_one(r->server, ZX_CHANNEL_READABLE, zx_deadline_after(ZX_MSEC(TK_SCALED_MS(5000))),
                               NULL) != ZX_OK) {
            return;
        }
        int n = 0;
        uint32_t nh;
        while (n < 4 && zx_channel_read(r->server, 0, msgs[n], NULL, sizeof(msgs[n]), 0,
                                        &sizes[n], &nh) == ZX_OK) {
            n++;
        }
        while (n-- > 0) {
            if (zx_channel_write(r->server, 0, msgs[n], sizes[n], NULL, 0) != ZX_OK) {
                return;
            }
        }
    }
}

// Three threads call concurrently through one channel while a server thread answers out of
// order; the server's handle is closed at a random moment. Every call returns its own reply
// or ZX_ERR_PEER_CLOSED.
KTAP_CASE(channel_call_dying_server) {
    static struct tk_failure fail;
    fail = (struct tk_failure){0};
    uint64_t rng = stress_seed(0xca11);
    uint64_t calls = 0, rounds = 0;
    zx_time_t deadline = tk_round_deadline();
    do {
        static struct call_round r;
        r = (struct call_round){.fail = &fail};
        KTAP_ASSERT_OK(zx_channel_create(0, &r.client, &r.server));
        struct tk_thread t[4];
        KTAP_ASSERT_OK(tk_thread_start(&t[0], "server", call_server, &r));
        for (int i = 1; i < 4; i++) {
            KTAP_ASSERT_OK(tk_thread_start(&t[i], "client", call_client, &r));
        }
        zx_nanosleep(zx_deadline_after(ZX_USEC(100) * (int64_t)tk_below(&rng, 50)));
        KTAP_EXPECT_OK(zx_handle_close(r.server));
        for (int i = 0; i < 4; i++) {
            KTAP_EXPECT_OK(tk_thread_join(&t[i], JOIN_MS));
        }
        KTAP_EXPECT_EQ(r.closed, 3);
        KTAP_EXPECT_OK(zx_handle_close(r.client));
        calls += r.calls;
        rounds++;
    } while (tk_before(deadline));
    ktap_diag("%llu rounds, %llu calls answered", (unsigned long long)rounds,
              (unsigned long long)calls);
    tk_report(&fail, __FILE__);
    STRESS_KERNEL_SANE();
}
