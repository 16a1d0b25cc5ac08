// Channels (bytes and handles), events, event pairs and waiting.
#include <ktap.h>
#include <string.h>

#include "child.h"

KTAP_CASE(channel_bytes_round_trip) {
    zx_handle_t a;
    zx_handle_t b;
    char buf[16] = {0};
    uint32_t bytes = 0;
    uint32_t handles = 0;
    KTAP_ASSERT_OK(zx_channel_create(0, &a, &b));
    KTAP_EXPECT_STATUS(zx_channel_read(b, 0, buf, NULL, sizeof(buf), 0, &bytes, &handles),
                       ZX_ERR_SHOULD_WAIT);
    KTAP_EXPECT_OK(zx_channel_write(a, 0, "hello", 5, NULL, 0));
    KTAP_EXPECT_OK(wait_ms(b, ZX_CHANNEL_READABLE, 0));
    KTAP_EXPECT_STATUS(zx_channel_read(b, 0, buf, NULL, 2, 0, &bytes, &handles),
                       ZX_ERR_BUFFER_TOO_SMALL);
    KTAP_EXPECT_EQ(bytes, 5);
    KTAP_EXPECT_OK(zx_channel_read(b, 0, buf, NULL, sizeof(buf), 0, &bytes, &handles));
    KTAP_EXPECT_EQ(bytes, 5);
    KTAP_EXPECT_EQ(handles, 0);
    KTAP_EXPECT_EQ(memcmp(buf, "hello", 5), 0);
    zx_handle_close(a);
    zx_handle_close(b);
}

KTAP_CASE(channel_carries_handles) {
    zx_handle_t a;
    zx_handle_t b;
    zx_handle_t event;
    zx_handle_t got = ZX_HANDLE_INVALID;
    uint32_t bytes = 0;
    uint32_t handles = 0;
    KTAP_ASSERT_OK(zx_channel_create(0, &a, &b));
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    zx_koid_t koid = koid_of(event);
    KTAP_EXPECT_OK(zx_channel_write(a, 0, "h", 1, &event, 1));
    KTAP_EXPECT_STATUS(zx_handle_close(event), ZX_ERR_BAD_HANDLE);  // moved
    char byte;
    KTAP_EXPECT_OK(zx_channel_read(b, 0, &byte, &got, 1, 1, &bytes, &handles));
    KTAP_EXPECT_EQ(handles, 1);
    KTAP_EXPECT_EQ(koid_of(got), koid);
    KTAP_EXPECT_OK(zx_object_signal(got, 0, ZX_USER_SIGNAL_0));
    // A channel cannot be sent through itself.
    KTAP_EXPECT_STATUS(zx_channel_write(a, 0, "x", 1, &a, 1), ZX_ERR_NOT_SUPPORTED);
    zx_handle_close(got);
    zx_handle_close(b);
}

KTAP_CASE(channel_peer_closed) {
    zx_handle_t a;
    zx_handle_t b;
    KTAP_ASSERT_OK(zx_channel_create(0, &a, &b));
    KTAP_EXPECT_OK(zx_handle_close(b));
    KTAP_EXPECT_OK(wait_ms(a, ZX_CHANNEL_PEER_CLOSED, 0));
    KTAP_EXPECT_STATUS(zx_channel_write(a, 0, "x", 1, NULL, 0), ZX_ERR_PEER_CLOSED);
    zx_handle_close(a);
}

KTAP_CASE(event_signal_and_wait) {
    zx_handle_t event;
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_STATUS(wait_ms(event, ZX_USER_SIGNAL_0, 1), ZX_ERR_TIMED_OUT);
    KTAP_EXPECT_OK(zx_object_signal(event, 0, ZX_USER_SIGNAL_0));
    KTAP_EXPECT_OK(wait_ms(event, ZX_USER_SIGNAL_0, 0));
    KTAP_EXPECT_OK(zx_object_signal(event, ZX_USER_SIGNAL_0, 0));
    KTAP_EXPECT_STATUS(wait_ms(event, ZX_USER_SIGNAL_0, 0), ZX_ERR_TIMED_OUT);
    KTAP_EXPECT_STATUS(zx_object_signal(event, 0, ZX_CHANNEL_READABLE), ZX_ERR_INVALID_ARGS);
    zx_handle_close(event);
}

KTAP_CASE(eventpair_signal_peer) {
    zx_handle_t a;
    zx_handle_t b;
    KTAP_ASSERT_OK(zx_eventpair_create(0, &a, &b));
    KTAP_EXPECT_OK(zx_object_signal_peer(a, 0, ZX_USER_SIGNAL_1));
    KTAP_EXPECT_OK(wait_ms(b, ZX_USER_SIGNAL_1, 0));
    KTAP_EXPECT_STATUS(wait_ms(a, ZX_USER_SIGNAL_1, 0), ZX_ERR_TIMED_OUT);
    KTAP_EXPECT_OK(zx_handle_close(b));
    KTAP_EXPECT_OK(wait_ms(a, ZX_EVENTPAIR_PEER_CLOSED, 0));
    zx_handle_close(a);
}

KTAP_CASE(wait_many_reports_pending) {
    zx_handle_t events[2];
    KTAP_ASSERT_OK(zx_event_create(0, &events[0]));
    KTAP_ASSERT_OK(zx_event_create(0, &events[1]));
    zx_wait_item_t items[2] = {
        {.handle = events[0], .waitfor = ZX_USER_SIGNAL_0},
        {.handle = events[1], .waitfor = ZX_USER_SIGNAL_0},
    };
    KTAP_EXPECT_STATUS(zx_object_wait_many(items, 2, zx_deadline_after(ZX_MSEC(1))),
                       ZX_ERR_TIMED_OUT);
    KTAP_EXPECT_OK(zx_object_signal(events[1], 0, ZX_USER_SIGNAL_0));
    KTAP_EXPECT_OK(zx_object_wait_many(items, 2, ZX_TIME_INFINITE));
    KTAP_EXPECT_EQ(items[0].pending & ZX_USER_SIGNAL_0, 0);
    KTAP_EXPECT_EQ(items[1].pending & ZX_USER_SIGNAL_0, ZX_USER_SIGNAL_0);
    zx_handle_close_many(events, 2);
}
