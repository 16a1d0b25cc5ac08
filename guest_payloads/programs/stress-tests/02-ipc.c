// Channels under churn: writers sending messages with handles, a reader, and a thread that
// closes and replaces the channels under them; a wait ended by closing its handle.
#include <string.h>

#include "stress.h"

#define SLOTS 4
#define MAX_CARRY 3

struct chan {
    volatile uint64_t stop;
    volatile uint64_t tx[SLOTS], rx[SLOTS];  // current handle values (may be stale)
    volatile uint64_t written, read, replaced;
    struct tk_failure fail;
};

// A channel value read from a slot may be stale (closed by the replacer); once its slot's
// generation wraps (long runs) it may even name another live handle: WRONG_TYPE.
static bool allowed_write(zx_status_t status) {
    return status == ZX_OK || status == ZX_ERR_BAD_HANDLE || status == ZX_ERR_PEER_CLOSED ||
           status == ZX_ERR_NO_MEMORY || status == ZX_ERR_NO_RESOURCES ||
           status == ZX_ERR_WRONG_TYPE;
}

static void chan_writer(void *arg) {
    struct chan *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        zx_handle_t carry[MAX_CARRY];
        zx_koid_t koids[MAX_CARRY];
        uint32_t n = (uint32_t)tk_below(&rng, MAX_CARRY + 1);
        uint32_t made = 0;
        for (; made < n; made++) {
            if (zx_event_create(0, &carry[made]) != ZX_OK) {
                break;
            }
            koids[made] = koid_of(carry[made]);
        }
        zx_handle_t tx = (zx_handle_t)tk_load(&s->tx[tk_below(&rng, SLOTS)]);
        zx_status_t status =
            zx_channel_write(tx, 0, koids, made * sizeof(zx_koid_t), carry, made);
        if (!allowed_write(status)) {
            TK_FAIL(&s->fail, "zx_channel_write on a churning channel", status, made);
        }
        if (status == ZX_OK) {
            tk_add(&s->written, 1);
        }
        // The write consumed the handles either way (not re-checked here: once a slot's
        // generation wraps in a long run, a stale value may name another thread's handle).
    }
}

static void chan_reader(void *arg) {
    struct chan *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        zx_handle_t rx = (zx_handle_t)tk_load(&s->rx[tk_below(&rng, SLOTS)]);
        zx_koid_t koids[MAX_CARRY];
        zx_handle_t got[MAX_CARRY];
        uint32_t nb = 0, nh = 0;
        zx_status_t status = zx_channel_read(rx, 0, koids, got, sizeof(koids), MAX_CARRY, &nb, &nh);
        if (status == ZX_OK) {
            if (nb != nh * sizeof(zx_koid_t)) {
                TK_FAIL(&s->fail, "message bytes match its handles", nb, nh);
            }
            for (uint32_t i = 0; i < nh && i < MAX_CARRY; i++) {
                zx_info_handle_basic_t info = {0};
                zx_object_get_info(got[i], ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL);
                if (info.koid != koids[i] || info.type != ZX_OBJ_TYPE_EVENT) {
                    TK_FAIL(&s->fail, "a received handle is the event sent (koid, expected)",
                            info.koid, koids[i]);
                }
                zx_handle_close(got[i]);
            }
            tk_add(&s->read, 1);
        } else if (status != ZX_ERR_SHOULD_WAIT && status != ZX_ERR_BAD_HANDLE &&
                   status != ZX_ERR_PEER_CLOSED && status != ZX_ERR_WRONG_TYPE) {
            TK_FAIL(&s->fail, "zx_channel_read on a churning channel", status, 0);
        }
    }
}

static void chan_replacer(void *arg) {
    struct chan *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        uint32_t slot = (uint32_t)tk_below(&rng, SLOTS);
        zx_handle_t a, b;
        zx_status_t status = zx_channel_create(0, &a, &b);
        if (status != ZX_OK) {
            if (status != ZX_ERR_NO_MEMORY && status != ZX_ERR_NO_RESOURCES) {
                TK_FAIL(&s->fail, "zx_channel_create", status, 0);
            }
            continue;
        }
        zx_handle_t old_tx = (zx_handle_t)tk_xchg(&s->tx[slot], a);
        zx_handle_t old_rx = (zx_handle_t)tk_xchg(&s->rx[slot], b);
        // Close one end first: queued messages with handles die with the channel.
        if (tk_below(&rng, 2)) {
            zx_handle_close(old_tx);
            zx_handle_close(old_rx);
        } else {
            zx_handle_close(old_rx);
            zx_handle_close(old_tx);
        }
        tk_add(&s->replaced, 1);
        zx_nanosleep(zx_deadline_after(ZX_USEC(200)));
    }
}

// Two writers send messages carrying 0-3 new events on four channels, a reader receives
// and checks each handle against the koids in the message, and a fourth thread keeps
// closing channels (with messages and handles queued) and replacing them.
KTAP_CASE(channel_churn_with_handles) {
    static struct chan s;
    s = (struct chan){0};
    for (int i = 0; i < SLOTS; i++) {
        zx_handle_t a, b;
        KTAP_ASSERT_OK(zx_channel_create(0, &a, &b));
        s.tx[i] = a;
        s.rx[i] = b;
    }
    static const stress_worker workers[] = {chan_writer, chan_writer, chan_reader,
                                            chan_replacer};
    KTAP_EXPECT_OK(stress_round(workers, 4, &s, &s.stop));
    for (int i = 0; i < SLOTS; i++) {
        KTAP_EXPECT_OK(zx_handle_close((zx_handle_t)s.tx[i]));
        KTAP_EXPECT_OK(zx_handle_close((zx_handle_t)s.rx[i]));
    }
    ktap_diag("%llu written, %llu read, %llu channels replaced", (unsigned long long)s.written,
              (unsigned long long)s.read, (unsigned long long)s.replaced);
    tk_report(&s.fail, __FILE__);
    STRESS_KERNEL_SANE();
}

// ---- wait_ended_by_close -------------------------------------------------------------------

struct waiter {
    zx_handle_t handle;
    volatile uint64_t started;
    volatile int64_t status;
};

static void wait_thread(void *arg) {
    struct waiter *w = arg;
    zx_signals_t seen = 0;
    tk_store(&w->started, 1);
    w->status = zx_object_wait_one(w->handle, ZX_EVENT_SIGNALED, ZX_TIME_INFINITE, &seen);
}

// A thread waits with no deadline on an event; another closes the handle it waits through:
// the wait ends with ZX_ERR_CANCELED (or BAD_HANDLE if the close came first).
KTAP_CASE(wait_ended_by_close) {
    static struct waiter w;
    zx_time_t deadline = tk_round_deadline();
    int rounds = 0;
    do {
        w = (struct waiter){0};
        KTAP_ASSERT_OK(zx_event_create(0, &w.handle));
        struct tk_thread t;
        KTAP_ASSERT_OK(tk_thread_start(&t, "waiter", wait_thread, &w));
        if (rounds % 2) {
            zx_nanosleep(zx_deadline_after(ZX_MSEC(1)));
        }
        KTAP_EXPECT_OK(zx_handle_close(w.handle));
        KTAP_EXPECT_OK(tk_thread_join(&t, JOIN_MS));
        KTAP_EXPECT_TRUE(w.status == ZX_ERR_CANCELED || w.status == ZX_ERR_BAD_HANDLE);
        rounds++;
    } while (tk_before(deadline));
    ktap_diag("%d waits", rounds);
    STRESS_KERNEL_SANE();
}

// ---- wait_many_vs_close --------------------------------------------------------------------

struct many {
    volatile uint64_t stop;
    volatile uint64_t handles[4];  // event pair ends, replaced as they are closed
    volatile uint64_t waits;
    struct tk_failure fail;
};

static void many_waiter(void *arg) {
    struct many *s = arg;
    while (!tk_load(&s->stop)) {
        zx_wait_item_t items[4];
        for (int i = 0; i < 4; i++) {
            items[i] = (zx_wait_item_t){(zx_handle_t)tk_load(&s->handles[i]),
                                        ZX_EVENTPAIR_PEER_CLOSED | ZX_USER_SIGNAL_0, 0};
        }
        zx_status_t status =
            zx_object_wait_many(items, 4, zx_deadline_after(ZX_MSEC(2)));
        if (status != ZX_OK && status != ZX_ERR_TIMED_OUT && status != ZX_ERR_CANCELED &&
            status != ZX_ERR_BAD_HANDLE) {
            TK_FAIL(&s->fail, "zx_object_wait_many on closing handles", status, 0);
        }
        tk_add(&s->waits, 1);
    }
}

static void many_closer(void *arg) {
    struct many *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        int pair = (int)tk_below(&rng, 2) * 2;
        zx_handle_t a, b;
        zx_status_t status = zx_eventpair_create(0, &a, &b);
        if (status != ZX_OK) {
            TK_FAIL(&s->fail, "zx_eventpair_create", status, 0);
            break;
        }
        zx_handle_t old_a = (zx_handle_t)tk_xchg(&s->handles[pair], a);
        zx_handle_t old_b = (zx_handle_t)tk_xchg(&s->handles[pair + 1], b);
        zx_object_signal_peer(old_a, 0, ZX_USER_SIGNAL_0);
        zx_handle_close(old_a);
        zx_nanosleep(zx_deadline_after(ZX_USEC(100)));
        zx_handle_close(old_b);
    }
}

// Two threads wait on four event-pair ends with zx_object_wait_many while a third signals
// peers and closes the ends (and replaces them): every wait ends with OK, TIMED_OUT,
// CANCELED or BAD_HANDLE, and nothing is left waiting.
KTAP_CASE(wait_many_vs_close) {
    static struct many s;
    s = (struct many){0};
    for (int i = 0; i < 4; i += 2) {
        zx_handle_t a, b;
        KTAP_ASSERT_OK(zx_eventpair_create(0, &a, &b));
        s.handles[i] = a;
        s.handles[i + 1] = b;
    }
    static const stress_worker workers[] = {many_waiter, many_waiter, many_closer};
    KTAP_EXPECT_OK(stress_round(workers, 3, &s, &s.stop));
    for (int i = 0; i < 4; i++) {
        KTAP_EXPECT_OK(zx_handle_close((zx_handle_t)s.handles[i]));
    }
    ktap_diag("%llu waits", (unsigned long long)s.waits);
    tk_report(&s.fail, __FILE__);
    STRESS_KERNEL_SANE();
}
