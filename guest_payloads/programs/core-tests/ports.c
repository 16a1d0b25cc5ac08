// Ports: zx_port_create/_queue/_wait/_cancel and zx_object_wait_async, their errors, rights,
// limits, and what closing handles does to pending waits.
#include <ktap.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/syscalls/port.h>

#include "child.h"

// A poll of the port: ZX_ERR_TIMED_OUT when it is empty.
static zx_status_t port_poll(zx_handle_t port, zx_port_packet_t *pkt) {
    return zx_port_wait(port, 0, pkt);
}

static zx_info_handle_basic_t basic_of(zx_handle_t h) {
    zx_info_handle_basic_t info;
    memset(&info, 0, sizeof(info));
    zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL);
    return info;
}

KTAP_CASE(port_create_rights_and_options) {
    zx_handle_t port;
    KTAP_ASSERT_OK(zx_port_create(0, &port));
    zx_info_handle_basic_t info = basic_of(port);
    KTAP_EXPECT_EQ(info.type, ZX_OBJ_TYPE_PORT);
    KTAP_EXPECT_EQ(info.rights, ZX_DEFAULT_PORT_RIGHTS);
    KTAP_EXPECT_EQ(ZX_DEFAULT_PORT_RIGHTS, 0x800fu);
    KTAP_EXPECT_EQ(sizeof(zx_port_packet_t), 48);
    KTAP_EXPECT_EQ(__builtin_offsetof(zx_port_packet_t, signal.count), 24);
    zx_handle_close(port);
    KTAP_EXPECT_OK(zx_port_create(ZX_PORT_BIND_TO_INTERRUPT, &port));
    zx_handle_close(port);
    KTAP_EXPECT_STATUS(zx_port_create(2, &port), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_port_create(0, NULL), ZX_ERR_INVALID_ARGS);
}

KTAP_CASE(port_queue_wait_user_packets_fifo) {
    zx_handle_t port;
    KTAP_ASSERT_OK(zx_port_create(0, &port));
    zx_port_packet_t in = {.key = 42, .type = ZX_PKT_TYPE_SIGNAL_ONE, .status = -7};
    for (int i = 0; i < 4; i++) {
        in.user.u64[i] = 0x1111111111111111ull * (uint64_t)(i + 1);
    }
    KTAP_EXPECT_OK(zx_port_queue(port, &in));
    in.key = 43;
    KTAP_EXPECT_OK(zx_port_queue(port, &in));
    zx_port_packet_t out;
    memset(&out, 0xa5, sizeof(out));
    KTAP_EXPECT_OK(zx_port_wait(port, ZX_TIME_INFINITE, &out));
    KTAP_EXPECT_EQ(out.key, 42);
    KTAP_EXPECT_EQ(out.type, ZX_PKT_TYPE_USER);  // whatever the caller put there
    KTAP_EXPECT_EQ(out.status, -7);
    KTAP_EXPECT_EQ(out.user.u64[3], 0x4444444444444444ull);
    KTAP_EXPECT_OK(port_poll(port, &out));
    KTAP_EXPECT_EQ(out.key, 43);
    KTAP_EXPECT_STATUS(port_poll(port, &out), ZX_ERR_TIMED_OUT);
    zx_handle_close(port);
}

KTAP_CASE(port_wait_deadlines) {
    zx_handle_t port;
    zx_port_packet_t pkt;
    KTAP_ASSERT_OK(zx_port_create(0, &port));
    KTAP_EXPECT_STATUS(zx_port_wait(port, ZX_TIME_INFINITE_PAST, &pkt), ZX_ERR_TIMED_OUT);
    zx_time_t start = zx_clock_get_monotonic();
    KTAP_EXPECT_STATUS(zx_port_wait(port, start + ZX_MSEC(3), &pkt), ZX_ERR_TIMED_OUT);
    KTAP_EXPECT_TRUE(zx_clock_get_monotonic() >= start + ZX_MSEC(3));
    // A packet already there is returned even with a deadline in the past.
    zx_port_packet_t in = {.key = 1};
    KTAP_EXPECT_OK(zx_port_queue(port, &in));
    KTAP_EXPECT_OK(zx_port_wait(port, ZX_TIME_INFINITE_PAST, &pkt));
    zx_handle_close(port);
}

KTAP_CASE(port_errors_and_rights) {
    zx_handle_t port;
    zx_handle_t event;
    zx_handle_t ro;
    zx_handle_t wo;
    zx_port_packet_t pkt = {.key = 5};
    KTAP_ASSERT_OK(zx_port_create(0, &port));
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_STATUS(zx_port_queue(event, &pkt), ZX_ERR_WRONG_TYPE);
    KTAP_EXPECT_STATUS(zx_port_wait(event, 0, &pkt), ZX_ERR_WRONG_TYPE);
    KTAP_EXPECT_STATUS(zx_port_queue(ZX_HANDLE_INVALID, &pkt), ZX_ERR_BAD_HANDLE);
    zx_handle_t stale;
    KTAP_ASSERT_OK(zx_port_create(0, &stale));
    KTAP_EXPECT_OK(zx_handle_close(stale));
    KTAP_EXPECT_STATUS(zx_port_wait(stale, 0, &pkt), ZX_ERR_BAD_HANDLE);
    KTAP_EXPECT_STATUS(zx_port_queue(port, NULL), ZX_ERR_INVALID_ARGS);
    // Without WRITE no queueing, without READ no waiting; a port cannot be waited on.
    KTAP_ASSERT_OK(zx_handle_duplicate(port, ZX_RIGHT_READ, &ro));
    KTAP_ASSERT_OK(zx_handle_duplicate(port, ZX_RIGHT_WRITE, &wo));
    KTAP_EXPECT_STATUS(zx_port_queue(ro, &pkt), ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_STATUS(zx_port_wait(wo, 0, &pkt), ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_STATUS(zx_object_wait_async(event, ro, 1, ZX_USER_SIGNAL_0, 0),
                       ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_STATUS(zx_port_cancel(ro, event, 1), ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_STATUS(wait_ms(port, ZX_USER_SIGNAL_0, 0), ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_OK(zx_port_queue(wo, &pkt));
    // The packet is dequeued before the copy-out: a bad pointer loses it, as in Zircon.
    KTAP_EXPECT_STATUS(zx_port_wait(ro, 0, NULL), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(port_poll(port, &pkt), ZX_ERR_TIMED_OUT);
    zx_handle_close(ro);
    zx_handle_close(wo);
    zx_handle_close(event);
    zx_handle_close(port);
}

KTAP_CASE(port_user_packet_limit) {
    zx_handle_t port;
    zx_port_packet_t pkt = {.key = 0};
    KTAP_ASSERT_OK(zx_port_create(0, &port));
    zx_status_t status = ZX_OK;
    uint32_t queued = 0;
    while (queued < 100000 && (status = zx_port_queue(port, &pkt)) == ZX_OK) {
        queued++;
        pkt.key = queued;
    }
    KTAP_EXPECT_STATUS(status, ZX_ERR_SHOULD_WAIT);
    KTAP_EXPECT_EQ(queued, 4096);
    // Signal packets are the observers' own and do not count against the limit.
    zx_handle_t event;
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_OK(zx_object_wait_async(event, port, 7, ZX_EVENT_SIGNALED, 0));
    KTAP_EXPECT_OK(zx_object_signal(event, 0, ZX_EVENT_SIGNALED));
    zx_port_packet_t out;
    KTAP_EXPECT_OK(port_poll(port, &out));
    KTAP_EXPECT_EQ(out.key, 0);
    KTAP_EXPECT_OK(zx_port_queue(port, &pkt));  // room for one again
    KTAP_EXPECT_STATUS(zx_port_queue(port, &pkt), ZX_ERR_SHOULD_WAIT);
    zx_handle_close(event);
    zx_handle_close(port);  // frees 4096 packets and the queued signal packet
}

KTAP_CASE(wait_async_level_once) {
    zx_handle_t port;
    zx_handle_t event;
    zx_port_packet_t pkt;
    KTAP_ASSERT_OK(zx_port_create(0, &port));
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_OK(zx_object_wait_async(event, port, 0x1234, ZX_USER_SIGNAL_0 | ZX_USER_SIGNAL_1,
                                        ZX_WAIT_ASYNC_ONCE));
    KTAP_EXPECT_STATUS(port_poll(port, &pkt), ZX_ERR_TIMED_OUT);
    KTAP_EXPECT_OK(zx_object_signal(event, 0, ZX_USER_SIGNAL_2));  // not a trigger
    KTAP_EXPECT_STATUS(port_poll(port, &pkt), ZX_ERR_TIMED_OUT);
    KTAP_EXPECT_OK(zx_object_signal(event, 0, ZX_USER_SIGNAL_1));
    KTAP_EXPECT_OK(port_poll(port, &pkt));
    KTAP_EXPECT_EQ(pkt.key, 0x1234);
    KTAP_EXPECT_EQ(pkt.type, ZX_PKT_TYPE_SIGNAL_ONE);
    KTAP_EXPECT_EQ(pkt.status, ZX_OK);
    KTAP_EXPECT_EQ(pkt.signal.trigger, ZX_USER_SIGNAL_0 | ZX_USER_SIGNAL_1);
    KTAP_EXPECT_EQ(pkt.signal.observed, ZX_USER_SIGNAL_1 | ZX_USER_SIGNAL_2);
    KTAP_EXPECT_EQ(pkt.signal.count, 1);
    KTAP_EXPECT_EQ(pkt.signal.timestamp, 0);
    // One shot: no second packet.
    KTAP_EXPECT_OK(zx_object_signal(event, ZX_USER_SIGNAL_1, 0));
    KTAP_EXPECT_OK(zx_object_signal(event, 0, ZX_USER_SIGNAL_0));
    KTAP_EXPECT_STATUS(port_poll(port, &pkt), ZX_ERR_TIMED_OUT);
    // Level: a signal already active fires at once.
    KTAP_EXPECT_OK(zx_object_wait_async(event, port, 9, ZX_USER_SIGNAL_0, 0));
    KTAP_EXPECT_OK(port_poll(port, &pkt));
    KTAP_EXPECT_EQ(pkt.key, 9);
    // Two waits with the same arguments are two observers.
    KTAP_EXPECT_OK(zx_object_wait_async(event, port, 10, ZX_USER_SIGNAL_3, 0));
    KTAP_EXPECT_OK(zx_object_wait_async(event, port, 10, ZX_USER_SIGNAL_3, 0));
    KTAP_EXPECT_OK(zx_object_signal(event, 0, ZX_USER_SIGNAL_3));
    KTAP_EXPECT_OK(port_poll(port, &pkt));
    KTAP_EXPECT_OK(port_poll(port, &pkt));
    KTAP_EXPECT_STATUS(port_poll(port, &pkt), ZX_ERR_TIMED_OUT);
    zx_handle_close(event);
    zx_handle_close(port);
}

KTAP_CASE(wait_async_edge_and_timestamp) {
    zx_handle_t port;
    zx_handle_t event;
    zx_port_packet_t pkt;
    KTAP_ASSERT_OK(zx_port_create(0, &port));
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_OK(zx_object_signal(event, 0, ZX_EVENT_SIGNALED));
    KTAP_EXPECT_OK(zx_object_wait_async(event, port, 1, ZX_EVENT_SIGNALED, ZX_WAIT_ASYNC_EDGE));
    KTAP_EXPECT_STATUS(port_poll(port, &pkt), ZX_ERR_TIMED_OUT);  // already active: no packet
    KTAP_EXPECT_OK(zx_object_signal(event, ZX_EVENT_SIGNALED, 0));
    KTAP_EXPECT_STATUS(port_poll(port, &pkt), ZX_ERR_TIMED_OUT);
    zx_time_t before = zx_clock_get_monotonic();
    KTAP_EXPECT_OK(zx_object_wait_async(event, port, 2, ZX_EVENT_SIGNALED,
                                        ZX_WAIT_ASYNC_EDGE | ZX_WAIT_ASYNC_TIMESTAMP));
    KTAP_EXPECT_OK(zx_object_signal(event, 0, ZX_EVENT_SIGNALED));  // the edge
    zx_time_t after = zx_clock_get_monotonic();
    // Both fire on the same change (in no promised order).
    zx_port_packet_t two[2];
    KTAP_EXPECT_OK(port_poll(port, &two[0]));
    KTAP_EXPECT_OK(port_poll(port, &two[1]));
    KTAP_EXPECT_STATUS(port_poll(port, &pkt), ZX_ERR_TIMED_OUT);
    const zx_port_packet_t *k1 = two[0].key == 1 ? &two[0] : &two[1];
    const zx_port_packet_t *k2 = two[0].key == 1 ? &two[1] : &two[0];
    KTAP_EXPECT_EQ(k1->key, 1);
    KTAP_EXPECT_EQ(k1->signal.timestamp, 0);
    KTAP_EXPECT_EQ(k2->key, 2);
    KTAP_EXPECT_TRUE((zx_time_t)k2->signal.timestamp >= before);
    KTAP_EXPECT_TRUE((zx_time_t)k2->signal.timestamp <= after);
    zx_handle_close(event);
    zx_handle_close(port);
}

KTAP_CASE(wait_async_errors) {
    zx_handle_t port;
    zx_handle_t event;
    zx_handle_t nowait;
    KTAP_ASSERT_OK(zx_port_create(0, &port));
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_STATUS(zx_object_wait_async(event, port, 0, ZX_EVENT_SIGNALED, 8),
                       ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_object_wait_async(event, event, 0, ZX_EVENT_SIGNALED, 0),
                       ZX_ERR_WRONG_TYPE);
    KTAP_EXPECT_STATUS(zx_object_wait_async(event, ZX_HANDLE_INVALID, 0, ZX_EVENT_SIGNALED, 0),
                       ZX_ERR_BAD_HANDLE);
    KTAP_EXPECT_STATUS(zx_object_wait_async(ZX_HANDLE_INVALID, port, 0, ZX_EVENT_SIGNALED, 0),
                       ZX_ERR_BAD_HANDLE);
    KTAP_ASSERT_OK(zx_handle_duplicate(event, ZX_RIGHT_SIGNAL, &nowait));
    KTAP_EXPECT_STATUS(zx_object_wait_async(nowait, port, 0, ZX_EVENT_SIGNALED, 0),
                       ZX_ERR_ACCESS_DENIED);
    // A port has no WAIT right, so it cannot watch itself.
    KTAP_EXPECT_STATUS(zx_object_wait_async(port, port, 0, ZX_EVENT_SIGNALED, 0),
                       ZX_ERR_ACCESS_DENIED);
    zx_handle_close(nowait);
    zx_handle_close(event);
    zx_handle_close(port);
}

KTAP_CASE(port_cancel_observers_and_packets) {
    zx_handle_t port;
    zx_handle_t event;
    zx_handle_t nowait;
    zx_port_packet_t pkt;
    KTAP_ASSERT_OK(zx_port_create(0, &port));
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_OK(zx_object_wait_async(event, port, 1, ZX_USER_SIGNAL_0, 0));
    KTAP_EXPECT_OK(zx_object_wait_async(event, port, 2, ZX_USER_SIGNAL_0, 0));
    KTAP_EXPECT_OK(zx_port_cancel(port, event, 1));
    KTAP_EXPECT_STATUS(zx_port_cancel(port, event, 1), ZX_ERR_NOT_FOUND);
    KTAP_EXPECT_OK(zx_object_signal(event, 0, ZX_USER_SIGNAL_0));
    KTAP_EXPECT_OK(port_poll(port, &pkt));
    KTAP_EXPECT_EQ(pkt.key, 2);
    KTAP_EXPECT_STATUS(port_poll(port, &pkt), ZX_ERR_TIMED_OUT);
    // A packet already queued by the wait is removed too; user packets with the key stay.
    zx_port_packet_t user = {.key = 3};
    KTAP_EXPECT_OK(zx_object_wait_async(event, port, 3, ZX_USER_SIGNAL_0, 0));  // fires now
    KTAP_EXPECT_OK(zx_port_queue(port, &user));
    KTAP_EXPECT_OK(zx_port_cancel(port, event, 3));
    KTAP_EXPECT_OK(port_poll(port, &pkt));
    KTAP_EXPECT_EQ(pkt.type, ZX_PKT_TYPE_USER);
    KTAP_EXPECT_STATUS(port_poll(port, &pkt), ZX_ERR_TIMED_OUT);
    // Errors.
    KTAP_EXPECT_STATUS(zx_port_cancel(port, ZX_HANDLE_INVALID, 1), ZX_ERR_BAD_HANDLE);
    KTAP_EXPECT_STATUS(zx_port_cancel(event, event, 1), ZX_ERR_WRONG_TYPE);
    KTAP_ASSERT_OK(zx_handle_duplicate(event, ZX_RIGHT_SIGNAL, &nowait));
    KTAP_EXPECT_STATUS(zx_port_cancel(port, nowait, 1), ZX_ERR_ACCESS_DENIED);
    zx_handle_close(nowait);
    zx_handle_close(event);
    zx_handle_close(port);
}

KTAP_CASE(wait_async_handle_closed) {
    zx_handle_t port;
    zx_handle_t event;
    zx_handle_t dup;
    zx_port_packet_t pkt;
    KTAP_ASSERT_OK(zx_port_create(0, &port));
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    // Closing the handle a wait came through ends the wait without a packet...
    KTAP_ASSERT_OK(zx_handle_duplicate(event, ZX_RIGHT_SAME_RIGHTS, &dup));
    KTAP_EXPECT_OK(zx_object_wait_async(dup, port, 1, ZX_USER_SIGNAL_0, 0));
    KTAP_EXPECT_OK(zx_handle_close(dup));
    KTAP_EXPECT_OK(zx_object_signal(event, 0, ZX_USER_SIGNAL_0));
    KTAP_EXPECT_STATUS(port_poll(port, &pkt), ZX_ERR_TIMED_OUT);
    // ...but a packet it already queued stays.
    KTAP_ASSERT_OK(zx_handle_duplicate(event, ZX_RIGHT_SAME_RIGHTS, &dup));
    KTAP_EXPECT_OK(zx_object_wait_async(dup, port, 2, ZX_USER_SIGNAL_0, 0));
    KTAP_EXPECT_OK(zx_handle_close(dup));
    KTAP_EXPECT_OK(port_poll(port, &pkt));
    KTAP_EXPECT_EQ(pkt.key, 2);
    zx_handle_close(event);
    zx_handle_close(port);
}

KTAP_CASE(wait_async_last_handle_and_peer_closed) {
    zx_handle_t port;
    zx_handle_t a;
    zx_handle_t b;
    zx_port_packet_t pkt;
    KTAP_ASSERT_OK(zx_port_create(0, &port));
    KTAP_ASSERT_OK(zx_channel_create(0, &a, &b));
    KTAP_EXPECT_OK(zx_object_wait_async(a, port, 1, ZX_CHANNEL_PEER_CLOSED, 0));
    KTAP_EXPECT_OK(zx_object_wait_async(b, port, 2, ZX_CHANNEL_READABLE, 0));
    KTAP_EXPECT_OK(zx_object_wait_async(a, port, 3, ZX_CHANNEL_READABLE, 0));
    KTAP_EXPECT_OK(zx_handle_close(b));  // b's observer goes with its last handle
    KTAP_EXPECT_OK(port_poll(port, &pkt));
    KTAP_EXPECT_EQ(pkt.key, 1);
    KTAP_EXPECT_EQ(pkt.signal.observed, ZX_CHANNEL_PEER_CLOSED);
    KTAP_EXPECT_STATUS(port_poll(port, &pkt), ZX_ERR_TIMED_OUT);
    KTAP_EXPECT_OK(zx_handle_close(a));  // so does a's (key 3), with a itself
    KTAP_EXPECT_STATUS(port_poll(port, &pkt), ZX_ERR_TIMED_OUT);
    KTAP_EXPECT_STATUS(zx_port_cancel(port, a, 3), ZX_ERR_BAD_HANDLE);
    zx_handle_close(port);
}

KTAP_CASE(port_closed_with_pending_observers) {
    zx_handle_t port;
    zx_handle_t event;
    zx_handle_t other;
    zx_port_packet_t pkt = {.key = 1};
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_ASSERT_OK(zx_port_create(0, &port));
    KTAP_EXPECT_OK(zx_object_wait_async(event, port, 1, ZX_USER_SIGNAL_0, 0));  // armed
    KTAP_EXPECT_OK(zx_object_wait_async(event, port, 2, ZX_USER_SIGNAL_1, 0));
    KTAP_EXPECT_OK(zx_object_signal(event, 0, ZX_USER_SIGNAL_1));                // queued
    KTAP_EXPECT_OK(zx_port_queue(port, &pkt));
    KTAP_EXPECT_OK(zx_handle_close(port));
    // The event no longer points at the port: signalling and waiting work, and a new port
    // sees only its own waits.
    KTAP_EXPECT_OK(zx_object_signal(event, 0, ZX_USER_SIGNAL_0));
    KTAP_EXPECT_OK(wait_ms(event, ZX_USER_SIGNAL_0, 0));
    KTAP_ASSERT_OK(zx_port_create(0, &other));
    KTAP_EXPECT_OK(zx_object_wait_async(event, other, 5, ZX_USER_SIGNAL_0, 0));
    KTAP_EXPECT_OK(port_poll(other, &pkt));
    KTAP_EXPECT_EQ(pkt.key, 5);
    KTAP_EXPECT_STATUS(port_poll(other, &pkt), ZX_ERR_TIMED_OUT);
    zx_handle_close(other);
    zx_handle_close(event);
}

KTAP_CASE(port_wait_wakes_on_timer_packet) {
    zx_handle_t port;
    zx_handle_t timer;
    zx_port_packet_t pkt;
    KTAP_ASSERT_OK(zx_port_create(0, &port));
    KTAP_ASSERT_OK(zx_timer_create(ZX_TIMER_SLACK_LATE, ZX_CLOCK_MONOTONIC, &timer));
    KTAP_EXPECT_OK(zx_object_wait_async(timer, port, 77, ZX_TIMER_SIGNALED,
                                        ZX_WAIT_ASYNC_TIMESTAMP));
    zx_time_t deadline = zx_deadline_after(ZX_MSEC(5));
    KTAP_EXPECT_OK(zx_timer_set(timer, deadline, 0));
    // Blocks until the tick fires the timer and queues the packet.
    KTAP_EXPECT_OK(zx_port_wait(port, zx_deadline_after(ZX_SEC(5)), &pkt));
    KTAP_EXPECT_EQ(pkt.key, 77);
    KTAP_EXPECT_EQ(pkt.signal.observed & ZX_TIMER_SIGNALED, ZX_TIMER_SIGNALED);
    KTAP_EXPECT_TRUE((zx_time_t)pkt.signal.timestamp >= deadline);  // LATE: never early
    KTAP_EXPECT_TRUE(zx_clock_get_monotonic() >= deadline);
    zx_handle_close(timer);
    zx_handle_close(port);
}

KTAP_CASE(info_handle_count_and_stats) {
    zx_handle_t event;
    zx_handle_t dup;
    zx_info_handle_count_t count;
    zx_info_process_handle_stats_t before;
    zx_info_process_handle_stats_t after;
    size_t actual = 0;
    size_t avail = 0;
    KTAP_ASSERT_OK(zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS_HANDLE_STATS, &before,
                                      sizeof(before), NULL, NULL));
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_OK(zx_object_get_info(event, ZX_INFO_HANDLE_COUNT, &count, sizeof(count),
                                      &actual, &avail));
    KTAP_EXPECT_EQ(count.handle_count, 1);
    KTAP_EXPECT_EQ(actual, 1);
    KTAP_EXPECT_EQ(avail, 1);
    KTAP_ASSERT_OK(zx_handle_duplicate(event, ZX_RIGHT_SAME_RIGHTS, &dup));
    KTAP_EXPECT_OK(zx_object_get_info(event, ZX_INFO_HANDLE_COUNT, &count, sizeof(count), NULL,
                                      NULL));
    KTAP_EXPECT_EQ(count.handle_count, 2);
    KTAP_EXPECT_OK(zx_object_get_info(zx_process_self(), ZX_INFO_PROCESS_HANDLE_STATS, &after,
                                      sizeof(after), NULL, NULL));
    KTAP_EXPECT_EQ(after.handle_count[ZX_OBJ_TYPE_EVENT],
                   before.handle_count[ZX_OBJ_TYPE_EVENT] + 2);
    KTAP_EXPECT_TRUE(after.handle_count[ZX_OBJ_TYPE_PROCESS] >= 1);
    KTAP_EXPECT_STATUS(zx_object_get_info(event, ZX_INFO_PROCESS_HANDLE_STATS, &after,
                                          sizeof(after), NULL, NULL),
                       ZX_ERR_WRONG_TYPE);
    KTAP_EXPECT_STATUS(zx_object_get_info(event, ZX_INFO_HANDLE_COUNT, &count, 2, NULL, NULL),
                       ZX_ERR_BUFFER_TOO_SMALL);
    zx_handle_t noinspect;
    KTAP_ASSERT_OK(zx_handle_duplicate(event, ZX_RIGHT_WAIT, &noinspect));
    KTAP_EXPECT_STATUS(zx_object_get_info(noinspect, ZX_INFO_HANDLE_COUNT, &count,
                                          sizeof(count), NULL, NULL),
                       ZX_ERR_ACCESS_DENIED);
    zx_handle_close(noinspect);
    zx_handle_close(dup);
    zx_handle_close(event);
}
