// Ports under concurrency: several threads in zx_port_wait on one port fed by user packets
// and signal packets; async waits on objects (and on ports) closed while they are armed or
// queued; a thread killed while it waits on a port.
#include <string.h>
#include <zircon/syscalls/port.h>

#include "stress.h"

#define OBJ_SLOTS 6
#define STOP_KEY UINT64_MAX

// ---- port_wait_many_threads -----------------------------------------------------------------

struct pw {
    volatile uint64_t stop;
    zx_handle_t port;
    zx_handle_t events[OBJ_SLOTS];
    volatile uint64_t user_sent, user_sum_sent, user_got, user_sum_got;
    volatile uint64_t sig_armed, sig_got;
    struct tk_failure fail;
};

static void pw_producer(void *arg) {
    struct pw *s = arg;
    uint64_t key = 1;
    while (!tk_load(&s->stop)) {
        zx_port_packet_t pkt = {.key = key};
        pkt.user.u64[0] = ~key;
        zx_status_t status = zx_port_queue(s->port, &pkt);
        if (status == ZX_OK) {
            tk_add(&s->user_sent, 1);
            tk_add(&s->user_sum_sent, key);
            key++;
        } else if (status == ZX_ERR_SHOULD_WAIT) {
            zx_nanosleep(zx_deadline_after(ZX_USEC(500)));  // the consumers are behind
        } else {
            TK_FAIL(&s->fail, "zx_port_queue", status, key);
        }
    }
}

// Arms a wait on a random event and signals it (the signal packet has key 0x5167 << 32 | i).
static void pw_signaler(void *arg) {
    struct pw *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        uint32_t i = (uint32_t)tk_below(&rng, OBJ_SLOTS);
        zx_object_signal(s->events[i], ZX_USER_SIGNAL_0, 0);
        zx_status_t status = zx_object_wait_async(s->events[i], s->port, (0x5167ull << 32) | i,
                                                  ZX_USER_SIGNAL_0, 0);
        if (status != ZX_OK) {
            TK_FAIL(&s->fail, "zx_object_wait_async", status, i);
            continue;
        }
        tk_add(&s->sig_armed, 1);
        zx_object_signal(s->events[i], 0, ZX_USER_SIGNAL_0);
    }
}

static void pw_consumer(void *arg) {
    struct pw *s = arg;
    for (;;) {
        zx_port_packet_t pkt;
        zx_status_t status = zx_port_wait(s->port, zx_deadline_after(ZX_MSEC(50)), &pkt);
        if (status == ZX_ERR_TIMED_OUT) {
            continue;
        }
        if (status != ZX_OK) {
            TK_FAIL(&s->fail, "zx_port_wait", status, 0);
            return;
        }
        if (pkt.type == ZX_PKT_TYPE_USER && pkt.key == STOP_KEY) {
            return;
        }
        if (pkt.type == ZX_PKT_TYPE_USER) {
            if (pkt.user.u64[0] != ~pkt.key) {
                TK_FAIL(&s->fail, "a user packet arrives intact (key, payload)", pkt.key,
                        pkt.user.u64[0]);
            }
            tk_add(&s->user_got, 1);
            tk_add(&s->user_sum_got, pkt.key);
        } else if (pkt.type == ZX_PKT_TYPE_SIGNAL_ONE) {
            if ((pkt.key >> 32) != 0x5167 || (pkt.signal.trigger != ZX_USER_SIGNAL_0)) {
                TK_FAIL(&s->fail, "a signal packet is one we armed (key, trigger)", pkt.key,
                        pkt.signal.trigger);
            }
            tk_add(&s->sig_got, 1);
        } else {
            TK_FAIL(&s->fail, "packet type", pkt.type, pkt.key);
        }
    }
}

static void pw_stop_consumers(void *arg) {
    struct pw *s = arg;
    while (!tk_load(&s->stop)) {
        zx_nanosleep(zx_deadline_after(ZX_MSEC(5)));
    }
}

// Three threads wait on one port; a producer queues numbered user packets (backing off on
// ZX_ERR_SHOULD_WAIT at the port's limit) and a signaler arms async waits and fires them.
// Every packet is received exactly once: counts and key sums match, nothing is left over.
KTAP_CASE(port_wait_many_threads) {
    static struct pw s;
    s = (struct pw){0};
    KTAP_ASSERT_OK(zx_port_create(0, &s.port));
    for (int i = 0; i < OBJ_SLOTS; i++) {
        KTAP_ASSERT_OK(zx_event_create(0, &s.events[i]));
    }
    struct tk_thread consumers[3];
    for (int i = 0; i < 3; i++) {
        KTAP_ASSERT_OK(tk_thread_start(&consumers[i], "port-consumer", pw_consumer, &s));
    }
    static const stress_worker workers[] = {pw_producer, pw_signaler, pw_stop_consumers};
    KTAP_EXPECT_OK(stress_round(workers, 3, &s, &s.stop));
    for (int i = 0; i < 3; i++) {
        zx_port_packet_t stop = {.key = STOP_KEY};
        zx_status_t status;
        while ((status = zx_port_queue(s.port, &stop)) == ZX_ERR_SHOULD_WAIT) {
            zx_nanosleep(zx_deadline_after(ZX_MSEC(1)));
        }
        KTAP_EXPECT_OK(status);
    }
    for (int i = 0; i < 3; i++) {
        KTAP_EXPECT_OK(tk_thread_join(&consumers[i], JOIN_MS));
    }
    zx_port_packet_t left;
    KTAP_EXPECT_STATUS(zx_port_wait(s.port, 0, &left), ZX_ERR_TIMED_OUT);
    KTAP_EXPECT_EQ(s.user_got, s.user_sent);
    KTAP_EXPECT_EQ(s.user_sum_got, s.user_sum_sent);
    KTAP_EXPECT_EQ(s.sig_got, s.sig_armed);
    ktap_diag("%llu user packets, %llu signal packets", (unsigned long long)s.user_got,
              (unsigned long long)s.sig_got);
    tk_report(&s.fail, __FILE__);
    for (int i = 0; i < OBJ_SLOTS; i++) {
        zx_handle_close(s.events[i]);
    }
    zx_handle_close(s.port);
    STRESS_KERNEL_SANE();
}

// ---- observers_vs_close ---------------------------------------------------------------------

struct oc {
    volatile uint64_t stop;
    volatile uint64_t port;               // current port (replaced under the others)
    volatile uint64_t objs[OBJ_SLOTS];    // current events / channel ends (replaced)
    volatile uint64_t armed, got, replaced, ports_replaced;
    struct tk_failure fail;
};

static bool ok_or_closed(zx_status_t status) {
    return status == ZX_OK || status == ZX_ERR_BAD_HANDLE || status == ZX_ERR_NO_MEMORY;
}

static void oc_armer(void *arg) {
    struct oc *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        zx_handle_t obj = (zx_handle_t)tk_load(&s->objs[tk_below(&rng, OBJ_SLOTS)]);
        zx_handle_t port = (zx_handle_t)tk_load(&s->port);
        uint32_t options = tk_below(&rng, 2) ? ZX_WAIT_ASYNC_EDGE : 0;
        zx_status_t status = zx_object_wait_async(obj, port, tk_below(&rng, 4),
                                                  ZX_USER_SIGNAL_0 | ZX_CHANNEL_PEER_CLOSED,
                                                  options | ZX_WAIT_ASYNC_TIMESTAMP);
        if (!ok_or_closed(status)) {
            TK_FAIL(&s->fail, "zx_object_wait_async on a churning object", status, 0);
        } else if (status == ZX_OK) {
            tk_add(&s->armed, 1);
        }
        if (tk_below(&rng, 4) == 0) {
            status = zx_port_cancel(port, obj, tk_below(&rng, 4));
            if (!ok_or_closed(status) && status != ZX_ERR_NOT_FOUND) {
                TK_FAIL(&s->fail, "zx_port_cancel on a churning object", status, 0);
            }
        }
    }
}

static void oc_signaler(void *arg) {
    struct oc *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        zx_handle_t obj = (zx_handle_t)tk_load(&s->objs[tk_below(&rng, OBJ_SLOTS)]);
        zx_status_t status = zx_object_signal(obj, ZX_USER_SIGNAL_0, 0);
        if (status == ZX_OK) {
            status = zx_object_signal(obj, 0, ZX_USER_SIGNAL_0);
        }
        if (!ok_or_closed(status)) {
            TK_FAIL(&s->fail, "zx_object_signal on a churning object", status, 0);
        }
    }
}

static void oc_reader(void *arg) {
    struct oc *s = arg;
    while (!tk_load(&s->stop)) {
        zx_port_packet_t pkt;
        zx_handle_t port = (zx_handle_t)tk_load(&s->port);
        zx_status_t status = zx_port_wait(port, zx_deadline_after(ZX_MSEC(2)), &pkt);
        if (status == ZX_OK) {
            if (pkt.type != ZX_PKT_TYPE_SIGNAL_ONE || pkt.key >= 4 || pkt.signal.count != 1) {
                TK_FAIL(&s->fail, "a signal packet (type, key)", pkt.type, pkt.key);
            }
            tk_add(&s->got, 1);
        } else if (status != ZX_ERR_TIMED_OUT && status != ZX_ERR_BAD_HANDLE) {
            TK_FAIL(&s->fail, "zx_port_wait on a churning port", status, 0);
        }
    }
}

// Replaces objects (closing the old ones with observers armed or packets queued; a channel's
// peer close also fires PEER_CLOSED) and, now and then, the port itself.
static void oc_replacer(void *arg) {
    struct oc *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        uint32_t slot = (uint32_t)tk_below(&rng, OBJ_SLOTS);
        zx_handle_t fresh = ZX_HANDLE_INVALID;
        zx_handle_t peer = ZX_HANDLE_INVALID;
        zx_status_t status = tk_below(&rng, 2) ? zx_event_create(0, &fresh)
                                               : zx_channel_create(0, &fresh, &peer);
        if (status != ZX_OK) {
            continue;
        }
        zx_handle_close((zx_handle_t)tk_xchg(&s->objs[slot], fresh));
        zx_handle_close(peer);  // PEER_CLOSED on the channel end we keep
        tk_add(&s->replaced, 1);
        if (tk_below(&rng, 16) == 0) {
            zx_handle_t port;
            if (zx_port_create(0, &port) == ZX_OK) {
                zx_handle_close((zx_handle_t)tk_xchg(&s->port, port));
                tk_add(&s->ports_replaced, 1);
            }
        }
        zx_nanosleep(zx_deadline_after(ZX_USEC(100)));
    }
}

// Async waits armed, cancelled, fired and read while the objects they watch and the port they
// deliver to are closed under them: no packet is malformed, nothing leaks or crashes.
KTAP_CASE(observers_vs_close) {
    static struct oc s;
    s = (struct oc){0};
    zx_handle_t port;
    KTAP_ASSERT_OK(zx_port_create(0, &port));
    s.port = port;
    for (int i = 0; i < OBJ_SLOTS; i++) {
        zx_handle_t ev;
        KTAP_ASSERT_OK(zx_event_create(0, &ev));
        s.objs[i] = ev;
    }
    static const stress_worker workers[] = {oc_armer, oc_armer, oc_signaler, oc_reader,
                                            oc_replacer};
    KTAP_EXPECT_OK(stress_round(workers, 5, &s, &s.stop));
    for (int i = 0; i < OBJ_SLOTS; i++) {
        KTAP_EXPECT_OK(zx_handle_close((zx_handle_t)s.objs[i]));
    }
    KTAP_EXPECT_OK(zx_handle_close((zx_handle_t)s.port));
    ktap_diag("%llu armed, %llu delivered, %llu objects and %llu ports replaced",
              (unsigned long long)s.armed, (unsigned long long)s.got,
              (unsigned long long)s.replaced, (unsigned long long)s.ports_replaced);
    tk_report(&s.fail, __FILE__);
    STRESS_KERNEL_SANE();
}

// ---- kill_thread_blocked_in_port_wait -------------------------------------------------------

static void port_block_forever(void *arg) {
    zx_port_packet_t pkt;
    zx_port_wait(*(zx_handle_t *)arg, ZX_TIME_INFINITE, &pkt);
}

// A thread blocked in zx_port_wait with no deadline is killed (it must leave the wait), and
// the port still works afterwards.
KTAP_CASE(kill_thread_blocked_in_port_wait) {
    static zx_handle_t port;
    KTAP_ASSERT_OK(zx_port_create(0, &port));
    zx_time_t deadline = tk_round_deadline();
    int rounds = 0;
    do {
        struct tk_thread t;
        KTAP_ASSERT_OK(tk_thread_start(&t, "port-blocked", port_block_forever, &port));
        zx_nanosleep(zx_deadline_after(ZX_MSEC(2)));
        KTAP_EXPECT_OK(zx_task_kill(t.handle));
        KTAP_EXPECT_OK(tk_thread_join(&t, JOIN_MS));
        rounds++;
    } while (tk_before(deadline));
    zx_port_packet_t pkt = {.key = 3};
    KTAP_EXPECT_OK(zx_port_queue(port, &pkt));
    KTAP_EXPECT_OK(zx_port_wait(port, 0, &pkt));
    KTAP_EXPECT_EQ(pkt.key, 3);
    zx_handle_close(port);
    ktap_diag("%d kills", rounds);
    STRESS_KERNEL_SANE();
}
