// Sockets: stream and datagram, short writes and reads, peek, back-pressure, signals,
// dispositions, ZX_INFO_SOCKET, rights and peer-closed / last-handle behaviour.
#include <ktap.h>
#include <string.h>
#include <zircon/process.h>
#include <zircon/syscalls/policy.h>

#include "child.h"
#include "core-tests.h"

#define SOCKET_CAPACITY 16384u  // the kernel's per-endpoint buffer (ZX_INFO_SOCKET rx_buf_max)

static zx_signals_t signals_of(zx_handle_t h) {
    zx_signals_t seen = 0;
    zx_object_wait_one(h, 0, 0, &seen);
    return seen;
}

static zx_info_socket_t socket_info(zx_handle_t h) {
    zx_info_socket_t info;
    memset(&info, 0xff, sizeof(info));
    zx_object_get_info(h, ZX_INFO_SOCKET, &info, sizeof(info), NULL, NULL);
    return info;
}

KTAP_CASE(socket_stream_round_trip) {
    zx_handle_t a, b;
    char buf[16] = {0};
    size_t actual = 99;
    KTAP_ASSERT_OK(zx_socket_create(ZX_SOCKET_STREAM, &a, &b));
    KTAP_EXPECT_EQ(signals_of(a), ZX_SOCKET_WRITABLE);
    KTAP_EXPECT_STATUS(zx_socket_read(b, 0, buf, sizeof(buf), &actual), ZX_ERR_SHOULD_WAIT);
    KTAP_EXPECT_OK(zx_socket_write(a, 0, "hello", 5, &actual));
    KTAP_EXPECT_EQ(actual, 5);
    KTAP_EXPECT_OK(zx_socket_write(a, 0, "world", 5, NULL));
    KTAP_EXPECT_EQ(signals_of(b), ZX_SOCKET_READABLE | ZX_SOCKET_WRITABLE);
    // A stream read may be short and may span writes.
    KTAP_EXPECT_OK(zx_socket_read(b, 0, buf, 3, &actual));
    KTAP_EXPECT_EQ(actual, 3);
    KTAP_EXPECT_EQ(memcmp(buf, "hel", 3), 0);
    KTAP_EXPECT_OK(zx_socket_read(b, ZX_SOCKET_PEEK, buf, sizeof(buf), &actual));
    KTAP_EXPECT_EQ(actual, 7);
    KTAP_EXPECT_EQ(memcmp(buf, "loworld", 7), 0);
    KTAP_EXPECT_OK(zx_socket_read(b, 0, buf, sizeof(buf), &actual));
    KTAP_EXPECT_EQ(actual, 7);
    KTAP_EXPECT_EQ(memcmp(buf, "loworld", 7), 0);
    KTAP_EXPECT_EQ(signals_of(b) & ZX_SOCKET_READABLE, 0);
    // The other direction works the same.
    KTAP_EXPECT_OK(zx_socket_write(b, 0, "x", 1, NULL));
    KTAP_EXPECT_OK(zx_socket_read(a, 0, buf, 1, &actual));
    KTAP_EXPECT_EQ(buf[0], 'x');
    zx_handle_close(a);
    zx_handle_close(b);
}

KTAP_CASE(socket_stream_back_pressure) {
    zx_handle_t a, b;
    static char big[SOCKET_CAPACITY + 100];
    static char out[SOCKET_CAPACITY + 100];
    size_t actual = 0;
    for (size_t i = 0; i < sizeof(big); i++) {
        big[i] = (char)(i * 7);
    }
    KTAP_ASSERT_OK(zx_socket_create(0, &a, &b));
    // A write larger than the room is short; the next one gets SHOULD_WAIT.
    KTAP_EXPECT_OK(zx_socket_write(a, 0, big, sizeof(big), &actual));
    KTAP_EXPECT_EQ(actual, SOCKET_CAPACITY);
    KTAP_EXPECT_STATUS(zx_socket_write(a, 0, big, 1, &actual), ZX_ERR_SHOULD_WAIT);
    KTAP_EXPECT_EQ(signals_of(a) & ZX_SOCKET_WRITABLE, 0);
    zx_info_socket_t info = socket_info(b);
    KTAP_EXPECT_EQ(info.rx_buf_max, SOCKET_CAPACITY);
    KTAP_EXPECT_EQ(info.rx_buf_size, SOCKET_CAPACITY);
    KTAP_EXPECT_EQ(info.rx_buf_available, SOCKET_CAPACITY);
    KTAP_EXPECT_EQ(socket_info(a).tx_buf_size, SOCKET_CAPACITY);
    // Reading makes room: WRITABLE comes back, and the bytes wrap around the ring intact.
    KTAP_EXPECT_OK(zx_socket_read(b, 0, out, 1000, &actual));
    KTAP_EXPECT_EQ(actual, 1000);
    KTAP_EXPECT_OK(wait_ms(a, ZX_SOCKET_WRITABLE, 0));
    KTAP_EXPECT_OK(zx_socket_write(a, 0, big + SOCKET_CAPACITY, 100, &actual));
    KTAP_EXPECT_EQ(actual, 100);
    KTAP_EXPECT_OK(zx_socket_read(b, 0, out + 1000, sizeof(out), &actual));
    KTAP_EXPECT_EQ(actual, SOCKET_CAPACITY - 1000 + 100);
    KTAP_EXPECT_EQ(memcmp(out, big, sizeof(big)), 0);
    zx_handle_close(a);
    zx_handle_close(b);
}

KTAP_CASE(socket_datagram_whole_messages) {
    zx_handle_t a, b;
    char buf[16] = {0};
    size_t actual = 0;
    KTAP_ASSERT_OK(zx_socket_create(ZX_SOCKET_DATAGRAM, &a, &b));
    KTAP_EXPECT_EQ(socket_info(a).options, ZX_SOCKET_DATAGRAM);
    KTAP_EXPECT_OK(zx_socket_write(a, 0, "first", 5, &actual));
    KTAP_EXPECT_EQ(actual, 5);
    KTAP_EXPECT_OK(zx_socket_write(a, 0, "second", 6, NULL));
    KTAP_EXPECT_EQ(socket_info(b).rx_buf_available, 5);  // the first datagram
    KTAP_EXPECT_EQ(socket_info(b).rx_buf_size, 11);
    KTAP_EXPECT_OK(zx_socket_read(b, ZX_SOCKET_PEEK, buf, sizeof(buf), &actual));
    KTAP_EXPECT_EQ(actual, 5);
    // A read returns one datagram only, even with room for more.
    KTAP_EXPECT_OK(zx_socket_read(b, 0, buf, sizeof(buf), &actual));
    KTAP_EXPECT_EQ(actual, 5);
    KTAP_EXPECT_EQ(memcmp(buf, "first", 5), 0);
    // A short buffer truncates the datagram and discards the rest.
    KTAP_EXPECT_OK(zx_socket_read(b, 0, buf, 3, &actual));
    KTAP_EXPECT_EQ(actual, 3);
    KTAP_EXPECT_EQ(memcmp(buf, "sec", 3), 0);
    KTAP_EXPECT_STATUS(zx_socket_read(b, 0, buf, sizeof(buf), &actual), ZX_ERR_SHOULD_WAIT);
    zx_handle_close(a);
    zx_handle_close(b);
}

KTAP_CASE(socket_datagram_never_short) {
    zx_handle_t a, b;
    static char big[SOCKET_CAPACITY + 1];
    size_t actual = 0;
    KTAP_ASSERT_OK(zx_socket_create(ZX_SOCKET_DATAGRAM, &a, &b));
    KTAP_EXPECT_STATUS(zx_socket_write(a, 0, big, sizeof(big), &actual), ZX_ERR_OUT_OF_RANGE);
    KTAP_EXPECT_OK(zx_socket_write(a, 0, big, SOCKET_CAPACITY - 10, &actual));
    // Not enough room for the whole message: nothing is written.
    KTAP_EXPECT_STATUS(zx_socket_write(a, 0, big, 11, &actual), ZX_ERR_SHOULD_WAIT);
    KTAP_EXPECT_OK(zx_socket_write(a, 0, big, 10, &actual));
    KTAP_EXPECT_EQ(signals_of(a) & ZX_SOCKET_WRITABLE, 0);
    KTAP_EXPECT_OK(zx_socket_read(b, 0, big, sizeof(big), &actual));
    KTAP_EXPECT_EQ(actual, SOCKET_CAPACITY - 10);
    KTAP_EXPECT_OK(zx_socket_read(b, 0, big, sizeof(big), &actual));
    KTAP_EXPECT_EQ(actual, 10);
    zx_handle_close(a);
    zx_handle_close(b);
}

KTAP_CASE(socket_argument_errors) {
    zx_handle_t a, b, event;
    char buf[4];
    size_t actual;
    KTAP_EXPECT_STATUS(zx_socket_create(4, &a, &b), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_socket_create(0, NULL, &b), ZX_ERR_INVALID_ARGS);
    KTAP_ASSERT_OK(zx_socket_create(0, &a, &b));
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_STATUS(zx_socket_write(a, 1, "x", 1, &actual), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_socket_write(a, 0, NULL, 1, &actual), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_socket_write(a, 0, "x", 1, (size_t *)1), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_socket_read(b, 0, buf, sizeof(buf), &actual), ZX_ERR_SHOULD_WAIT);
    KTAP_EXPECT_OK(zx_socket_write(a, 0, "x", 1, &actual));
    KTAP_EXPECT_STATUS(zx_socket_read(b, 1, buf, sizeof(buf), &actual), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_socket_read(b, 0, NULL, 1, &actual), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_socket_read(b, 0, (void *)8, 1, &actual), ZX_ERR_INVALID_ARGS);
    // A failed copy-out consumed nothing.
    KTAP_EXPECT_OK(zx_socket_read(b, 0, buf, sizeof(buf), &actual));
    KTAP_EXPECT_EQ(actual, 1);
    KTAP_EXPECT_STATUS(zx_socket_write(event, 0, "x", 1, &actual), ZX_ERR_WRONG_TYPE);
    KTAP_EXPECT_STATUS(zx_socket_read(event, 0, buf, 1, &actual), ZX_ERR_WRONG_TYPE);
    KTAP_EXPECT_STATUS(zx_socket_set_disposition(event, 0, 0), ZX_ERR_WRONG_TYPE);
    KTAP_EXPECT_STATUS(zx_socket_write((zx_handle_t)0x7ffffff3u, 0, "x", 1, &actual),
                       ZX_ERR_BAD_HANDLE);
    KTAP_EXPECT_STATUS(zx_object_get_info(event, ZX_INFO_SOCKET, buf, sizeof(buf), NULL, NULL),
                       ZX_ERR_WRONG_TYPE);
    zx_info_socket_t info;
    KTAP_EXPECT_STATUS(zx_object_get_info(a, ZX_INFO_SOCKET, &info, 4, NULL, NULL),
                       ZX_ERR_BUFFER_TOO_SMALL);
    zx_handle_close(event);
    zx_handle_close(a);
    zx_handle_close(b);
}

KTAP_CASE(socket_rights) {
    zx_handle_t a, b, ro, wo, nomanage;
    size_t actual;
    char c;
    KTAP_ASSERT_OK(zx_socket_create(0, &a, &b));
    KTAP_EXPECT_EQ(rights_of(a), ZX_DEFAULT_SOCKET_RIGHTS);
    KTAP_ASSERT_OK(zx_handle_duplicate(a, ZX_DEFAULT_SOCKET_RIGHTS & ~ZX_RIGHT_WRITE, &ro));
    KTAP_ASSERT_OK(zx_handle_duplicate(b, ZX_DEFAULT_SOCKET_RIGHTS & ~ZX_RIGHT_READ, &wo));
    KTAP_ASSERT_OK(
        zx_handle_duplicate(a, ZX_DEFAULT_SOCKET_RIGHTS & ~ZX_RIGHT_MANAGE_SOCKET, &nomanage));
    KTAP_EXPECT_STATUS(zx_socket_write(ro, 0, "x", 1, &actual), ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_OK(zx_socket_write(wo, 0, "x", 1, &actual));
    KTAP_EXPECT_STATUS(zx_socket_read(wo, 0, &c, 1, &actual), ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_OK(zx_socket_read(ro, 0, &c, 1, &actual));
    KTAP_EXPECT_STATUS(
        zx_socket_set_disposition(nomanage, ZX_SOCKET_DISPOSITION_WRITE_DISABLED, 0),
        ZX_ERR_ACCESS_DENIED);
    zx_handle_close(ro);
    zx_handle_close(wo);
    zx_handle_close(nomanage);
    zx_handle_close(a);
    zx_handle_close(b);
}

KTAP_CASE(socket_disposition) {
    zx_handle_t a, b;
    char buf[8];
    size_t actual;
    KTAP_ASSERT_OK(zx_socket_create(0, &a, &b));
    const uint32_t both =
        ZX_SOCKET_DISPOSITION_WRITE_DISABLED | ZX_SOCKET_DISPOSITION_WRITE_ENABLED;
    KTAP_EXPECT_STATUS(zx_socket_set_disposition(a, both, 0), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_socket_set_disposition(a, 0, 4), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_OK(zx_socket_write(a, 0, "abc", 3, &actual));
    KTAP_EXPECT_OK(zx_socket_set_disposition(a, ZX_SOCKET_DISPOSITION_WRITE_DISABLED, 0));
    KTAP_EXPECT_EQ(signals_of(a) & (ZX_SOCKET_WRITE_DISABLED | ZX_SOCKET_WRITABLE),
                   ZX_SOCKET_WRITE_DISABLED);
    KTAP_EXPECT_TRUE((signals_of(b) & ZX_SOCKET_PEER_WRITE_DISABLED) != 0);
    KTAP_EXPECT_STATUS(zx_socket_write(a, 0, "d", 1, &actual), ZX_ERR_BAD_STATE);
    // Re-enabling while a's data is still buffered is refused.
    KTAP_EXPECT_STATUS(zx_socket_set_disposition(a, ZX_SOCKET_DISPOSITION_WRITE_ENABLED, 0),
                       ZX_ERR_BAD_STATE);
    KTAP_EXPECT_STATUS(zx_socket_set_disposition(b, 0, ZX_SOCKET_DISPOSITION_WRITE_ENABLED),
                       ZX_ERR_BAD_STATE);
    // The buffered data can still be read; then reads fail with BAD_STATE.
    KTAP_EXPECT_OK(zx_socket_read(b, 0, buf, sizeof(buf), &actual));
    KTAP_EXPECT_EQ(actual, 3);
    KTAP_EXPECT_STATUS(zx_socket_read(b, 0, buf, sizeof(buf), &actual), ZX_ERR_BAD_STATE);
    // b can still write to a.
    KTAP_EXPECT_OK(zx_socket_write(b, 0, "z", 1, &actual));
    KTAP_EXPECT_OK(zx_socket_set_disposition(b, 0, ZX_SOCKET_DISPOSITION_WRITE_ENABLED));
    KTAP_EXPECT_EQ(signals_of(a) & (ZX_SOCKET_WRITE_DISABLED | ZX_SOCKET_WRITABLE),
                   ZX_SOCKET_WRITABLE);
    KTAP_EXPECT_EQ(signals_of(b) & ZX_SOCKET_PEER_WRITE_DISABLED, 0);
    KTAP_EXPECT_OK(zx_socket_write(a, 0, "e", 1, &actual));
    zx_handle_close(a);
    KTAP_EXPECT_STATUS(zx_socket_set_disposition(b, ZX_SOCKET_DISPOSITION_WRITE_DISABLED, 0),
                       ZX_ERR_PEER_CLOSED);
    zx_handle_close(b);
}

KTAP_CASE(socket_peer_closed) {
    zx_handle_t a, b, dup;
    char buf[8];
    size_t actual;
    KTAP_ASSERT_OK(zx_socket_create(0, &a, &b));
    KTAP_ASSERT_OK(zx_handle_duplicate(b, ZX_RIGHT_SAME_RIGHTS, &dup));
    KTAP_EXPECT_OK(zx_socket_write(b, 0, "bye", 3, &actual));
    // Closing one of two handles is not the last handle: nothing changes.
    KTAP_EXPECT_OK(zx_handle_close(b));
    KTAP_EXPECT_EQ(signals_of(a) & ZX_SOCKET_PEER_CLOSED, 0);
    KTAP_EXPECT_OK(zx_handle_close(dup));
    KTAP_EXPECT_OK(wait_ms(a, ZX_SOCKET_PEER_CLOSED, 0));
    KTAP_EXPECT_EQ(signals_of(a), ZX_SOCKET_READABLE | ZX_SOCKET_PEER_CLOSED);
    KTAP_EXPECT_STATUS(zx_socket_write(a, 0, "x", 1, &actual), ZX_ERR_PEER_CLOSED);
    // Data written before the close can still be read; then PEER_CLOSED.
    KTAP_EXPECT_OK(zx_socket_read(a, 0, buf, sizeof(buf), &actual));
    KTAP_EXPECT_EQ(actual, 3);
    KTAP_EXPECT_STATUS(zx_socket_read(a, 0, buf, sizeof(buf), &actual), ZX_ERR_PEER_CLOSED);
    KTAP_EXPECT_EQ(socket_info(a).tx_buf_max, 0);
    zx_handle_close(a);
}

KTAP_CASE(socket_signal_peer_and_related_koid) {
    zx_handle_t a, b;
    KTAP_ASSERT_OK(zx_socket_create(0, &a, &b));
    zx_info_handle_basic_t basic;
    KTAP_ASSERT_OK(
        zx_object_get_info(a, ZX_INFO_HANDLE_BASIC, &basic, sizeof(basic), NULL, NULL));
    KTAP_EXPECT_EQ(basic.type, ZX_OBJ_TYPE_SOCKET);
    KTAP_EXPECT_EQ(basic.related_koid, koid_of(b));
    KTAP_EXPECT_OK(zx_object_signal_peer(a, 0, ZX_USER_SIGNAL_3));
    KTAP_EXPECT_OK(wait_ms(b, ZX_USER_SIGNAL_3, 0));
    KTAP_EXPECT_STATUS(zx_object_signal(a, 0, ZX_SOCKET_READABLE), ZX_ERR_INVALID_ARGS);
    zx_handle_close(b);
    KTAP_EXPECT_STATUS(zx_object_signal_peer(a, 0, ZX_USER_SIGNAL_3), ZX_ERR_PEER_CLOSED);
    zx_handle_close(a);
}

int policy_child_socket(void) {
    zx_handle_t a, b;
    return -zx_socket_create(0, &a, &b);
}

KTAP_CASE(socket_job_policy_new_socket) {
    zx_handle_t job;
    KTAP_ASSERT_OK(zx_job_create(zx_job_default(), 0, &job));
    KTAP_EXPECT_EQ(run_policy_child_mode(job, POLICY_CHILD_SOCKET_ARG), 0);
    zx_handle_close(job);
    KTAP_ASSERT_OK(zx_job_create(zx_job_default(), 0, &job));
    zx_policy_basic_v1_t policy = {.condition = ZX_POL_NEW_SOCKET, .policy = ZX_POL_ACTION_DENY};
    KTAP_EXPECT_OK(zx_job_set_policy(job, ZX_JOB_POL_RELATIVE, ZX_JOB_POL_BASIC_V1, &policy, 1));
    KTAP_EXPECT_EQ(run_policy_child_mode(job, POLICY_CHILD_SOCKET_ARG), -ZX_ERR_ACCESS_DENIED);
    zx_handle_close(job);
}
