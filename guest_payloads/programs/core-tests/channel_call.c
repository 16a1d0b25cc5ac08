// zx_channel_call: kernel txids, replies delivered to the caller and not queued, deadlines,
// peer closed mid-call, BLOCKED_CHANNEL in ZX_INFO_THREAD, and the documented errors.
#include <ktap.h>
#include <string.h>

#include "child.h"
#include "core-tests.h"
#include "testkit.h"

#define JOIN_MS 5000

enum server_mode { SERVE_REPLY, SERVE_NOISE_THEN_REPLY, SERVE_CLOSE, SERVE_BIG_REPLY };

struct server {
    zx_handle_t ch;
    enum server_mode mode;
    zx_txid_t seen_txid;
    uint32_t seen_bytes;
    zx_status_t status;
};

static void server_main(void *arg) {
    struct server *s = arg;
    uint8_t buf[256];
    uint32_t nb = 0, nh = 0;
    s->status = wait_ms(s->ch, ZX_CHANNEL_READABLE, JOIN_MS);
    if (s->status == ZX_OK) {
        s->status = zx_channel_read(s->ch, 0, buf, NULL, sizeof(buf), 0, &nb, &nh);
    }
    if (s->status != ZX_OK) {
        return;
    }
    memcpy(&s->seen_txid, buf, sizeof(zx_txid_t));
    s->seen_bytes = nb;
    if (s->mode == SERVE_CLOSE) {
        zx_handle_close(s->ch);
        return;
    }
    if (s->mode == SERVE_NOISE_THEN_REPLY) {
        zx_txid_t other = s->seen_txid ^ 1u;
        memcpy(buf, &other, sizeof(other));
        s->status = zx_channel_write(s->ch, 0, buf, 8, NULL, 0);
        memcpy(buf, &s->seen_txid, sizeof(zx_txid_t));
    }
    zx_handle_t event = ZX_HANDLE_INVALID;
    zx_event_create(0, &event);
    memcpy(buf + 4, "pong", 4);
    uint32_t reply_bytes = s->mode == SERVE_BIG_REPLY ? 200 : 8;
    zx_status_t st = zx_channel_write(s->ch, 0, buf, reply_bytes, &event, 1);
    if (s->status == ZX_OK) {
        s->status = st;
    }
}

static zx_channel_call_args_t call_args(void *wr, uint32_t wr_bytes, void *rd, uint32_t rd_bytes,
                                        zx_handle_t *rd_handles, uint32_t rd_num_handles) {
    return (zx_channel_call_args_t){.wr_bytes = wr, .wr_num_bytes = wr_bytes, .rd_bytes = rd,
                                    .rd_num_bytes = rd_bytes, .rd_handles = rd_handles,
                                    .rd_num_handles = rd_num_handles};
}

KTAP_CASE(channel_call_round_trip) {
    zx_handle_t client;
    struct server s = {.mode = SERVE_REPLY};
    struct tk_thread t;
    KTAP_ASSERT_OK(zx_channel_create(0, &client, &s.ch));
    KTAP_ASSERT_OK(tk_thread_start(&t, "server", server_main, &s));
    uint8_t wr[12] = {0, 0, 0, 0, 'p', 'i', 'n', 'g'};
    uint8_t rd[16] = {0};
    zx_handle_t got = ZX_HANDLE_INVALID;
    uint32_t nb = 0, nh = 0;
    zx_channel_call_args_t a = call_args(wr, sizeof(wr), rd, sizeof(rd), &got, 1);
    KTAP_EXPECT_OK(zx_channel_call(client, 0, zx_deadline_after(ZX_SEC(5)), &a, &nb, &nh));
    KTAP_EXPECT_OK(tk_thread_join(&t, JOIN_MS));
    KTAP_EXPECT_OK(s.status);
    KTAP_EXPECT_EQ(s.seen_bytes, sizeof(wr));
    KTAP_EXPECT_TRUE(s.seen_txid >= 0x80000000u);  // the kernel's txid, not ours (0)
    KTAP_EXPECT_EQ(nb, 8);
    KTAP_EXPECT_EQ(nh, 1);
    zx_txid_t txid;
    memcpy(&txid, rd, sizeof(txid));
    KTAP_EXPECT_EQ(txid, s.seen_txid);
    KTAP_EXPECT_EQ(memcmp(rd + 4, "pong", 4), 0);
    zx_info_handle_basic_t basic;
    KTAP_EXPECT_OK(zx_object_get_info(got, ZX_INFO_HANDLE_BASIC, &basic, sizeof(basic), NULL,
                                      NULL));
    KTAP_EXPECT_EQ(basic.type, ZX_OBJ_TYPE_EVENT);
    // The reply went to the call, not into the queue.
    KTAP_EXPECT_STATUS(wait_ms(client, ZX_CHANNEL_READABLE, 0), ZX_ERR_TIMED_OUT);
    zx_handle_close(got);
    zx_handle_close(client);
    zx_handle_close(s.ch);
}

KTAP_CASE(channel_call_other_txids_stay_queued) {
    zx_handle_t client;
    struct server s = {.mode = SERVE_NOISE_THEN_REPLY};
    struct tk_thread t;
    KTAP_ASSERT_OK(zx_channel_create(0, &client, &s.ch));
    KTAP_ASSERT_OK(tk_thread_start(&t, "server", server_main, &s));
    uint8_t wr[4] = {0};
    uint8_t rd[16];
    zx_handle_t got[2];
    uint32_t nb = 0, nh = 0;
    zx_channel_call_args_t a = call_args(wr, sizeof(wr), rd, sizeof(rd), got, 2);
    KTAP_EXPECT_OK(zx_channel_call(client, 0, ZX_TIME_INFINITE, &a, &nb, &nh));
    KTAP_EXPECT_OK(tk_thread_join(&t, JOIN_MS));
    zx_txid_t txid;
    memcpy(&txid, rd, sizeof(txid));
    KTAP_EXPECT_EQ(txid, s.seen_txid);
    zx_handle_close(got[0]);
    // The message with another txid is an ordinary queued message.
    KTAP_EXPECT_OK(zx_channel_read(client, 0, rd, NULL, sizeof(rd), 0, &nb, &nh));
    memcpy(&txid, rd, sizeof(txid));
    KTAP_EXPECT_EQ(txid, s.seen_txid ^ 1u);
    zx_handle_close(client);
    zx_handle_close(s.ch);
}

KTAP_CASE(channel_call_deadline) {
    zx_handle_t client, server;
    KTAP_ASSERT_OK(zx_channel_create(0, &client, &server));
    uint8_t wr[8] = {0};
    uint8_t rd[8];
    uint32_t nb, nh;
    zx_channel_call_args_t a = call_args(wr, sizeof(wr), rd, sizeof(rd), NULL, 0);
    KTAP_EXPECT_STATUS(zx_channel_call(client, 0, zx_deadline_after(ZX_MSEC(5)), &a, &nb, &nh),
                       ZX_ERR_TIMED_OUT);
    KTAP_EXPECT_STATUS(zx_channel_call(client, 0, 0, &a, &nb, &nh), ZX_ERR_TIMED_OUT);
    // Both requests reached the server; a late reply lands in the client's queue.
    KTAP_EXPECT_OK(zx_channel_read(server, 0, rd, NULL, sizeof(rd), 0, &nb, &nh));
    KTAP_EXPECT_OK(zx_channel_write(server, 0, rd, nb, NULL, 0));
    KTAP_EXPECT_OK(wait_ms(client, ZX_CHANNEL_READABLE, 0));
    KTAP_EXPECT_OK(zx_channel_read(server, 0, rd, NULL, sizeof(rd), 0, &nb, &nh));
    zx_handle_close(client);
    zx_handle_close(server);
}

struct caller {
    zx_handle_t ch;
    volatile zx_status_t status;
};

static void caller_main(void *arg) {
    struct caller *c = arg;
    uint8_t wr[4] = {0};
    uint8_t rd[8];
    uint32_t nb, nh;
    zx_channel_call_args_t a = call_args(wr, sizeof(wr), rd, sizeof(rd), NULL, 0);
    c->status = zx_channel_call(c->ch, 0, ZX_TIME_INFINITE, &a, &nb, &nh);
}

KTAP_CASE(channel_call_peer_closed_mid_call) {
    zx_handle_t server;
    struct caller c = {.status = 1};
    struct tk_thread t;
    KTAP_ASSERT_OK(zx_channel_create(0, &c.ch, &server));
    KTAP_ASSERT_OK(tk_thread_start(&t, "caller", caller_main, &c));
    // While it waits for the reply, ZX_INFO_THREAD says BLOCKED_CHANNEL.
    KTAP_EXPECT_TRUE(wait_thread_state(t.handle, ZX_THREAD_STATE_BLOCKED_CHANNEL, JOIN_MS));
    KTAP_EXPECT_OK(wait_ms(server, ZX_CHANNEL_READABLE, 0));
    KTAP_EXPECT_OK(zx_handle_close(server));
    KTAP_EXPECT_OK(tk_thread_join(&t, JOIN_MS));
    KTAP_EXPECT_EQ(c.status, ZX_ERR_PEER_CLOSED);
    // And a call on a channel whose peer is already gone.
    uint8_t wr[4] = {0};
    uint32_t nb, nh;
    zx_channel_call_args_t a = call_args(wr, sizeof(wr), NULL, 0, NULL, 0);
    KTAP_EXPECT_STATUS(zx_channel_call(c.ch, 0, ZX_TIME_INFINITE, &a, &nb, &nh),
                       ZX_ERR_PEER_CLOSED);
    zx_handle_close(c.ch);
}

KTAP_CASE(channel_call_server_closes_after_read) {
    zx_handle_t client;
    struct server s = {.mode = SERVE_CLOSE};
    struct tk_thread t;
    KTAP_ASSERT_OK(zx_channel_create(0, &client, &s.ch));
    KTAP_ASSERT_OK(tk_thread_start(&t, "server", server_main, &s));
    uint8_t wr[4] = {0};
    uint32_t nb, nh;
    zx_channel_call_args_t a = call_args(wr, sizeof(wr), NULL, 0, NULL, 0);
    KTAP_EXPECT_STATUS(zx_channel_call(client, 0, zx_deadline_after(ZX_SEC(5)), &a, &nb, &nh),
                       ZX_ERR_PEER_CLOSED);
    KTAP_EXPECT_OK(tk_thread_join(&t, JOIN_MS));
    zx_handle_close(client);
}

KTAP_CASE(channel_call_reply_too_big) {
    zx_handle_t client;
    struct server s = {.mode = SERVE_BIG_REPLY};
    struct tk_thread t;
    KTAP_ASSERT_OK(zx_channel_create(0, &client, &s.ch));
    KTAP_ASSERT_OK(tk_thread_start(&t, "server", server_main, &s));
    uint8_t wr[4] = {0};
    uint8_t rd[16];
    zx_handle_t got;
    uint32_t nb = 0, nh = 0;
    zx_channel_call_args_t a = call_args(wr, sizeof(wr), rd, sizeof(rd), &got, 1);
    KTAP_EXPECT_STATUS(zx_channel_call(client, 0, zx_deadline_after(ZX_SEC(5)), &a, &nb, &nh),
                       ZX_ERR_BUFFER_TOO_SMALL);
    KTAP_EXPECT_EQ(nb, 200);
    KTAP_EXPECT_EQ(nh, 1);
    KTAP_EXPECT_OK(tk_thread_join(&t, JOIN_MS));
    // The reply was discarded, not queued.
    KTAP_EXPECT_STATUS(wait_ms(client, ZX_CHANNEL_READABLE, 0), ZX_ERR_TIMED_OUT);
    zx_handle_close(client);
    zx_handle_close(s.ch);
}

KTAP_CASE(channel_call_errors) {
    zx_handle_t client, server, event, other, other_peer, noread;
    KTAP_ASSERT_OK(zx_channel_create(0, &client, &server));
    KTAP_ASSERT_OK(zx_channel_create(0, &other, &other_peer));
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    // (Channels lack ZX_RIGHT_DUPLICATE: replace one to drop READ.)
    KTAP_ASSERT_OK(zx_handle_replace(other, ZX_DEFAULT_CHANNEL_RIGHTS & ~ZX_RIGHT_READ, &noread));
    uint8_t wr[8] = {0};
    uint32_t nb, nh;
    zx_channel_call_args_t a = call_args(wr, 3, NULL, 0, NULL, 0);
    KTAP_EXPECT_STATUS(zx_channel_call(client, 0, 0, &a, &nb, &nh), ZX_ERR_INVALID_ARGS);
    a.wr_num_bytes = 4;
    KTAP_EXPECT_STATUS(zx_channel_call(client, 1, 0, &a, &nb, &nh), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_channel_call(client, 0, 0, NULL, &nb, &nh), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_channel_call(event, 0, 0, &a, &nb, &nh), ZX_ERR_WRONG_TYPE);
    KTAP_EXPECT_STATUS(zx_channel_call((zx_handle_t)0x7ffffff3u, 0, 0, &a, &nb, &nh),
                       ZX_ERR_BAD_HANDLE);
    KTAP_EXPECT_STATUS(zx_channel_call(noread, 0, 0, &a, &nb, &nh), ZX_ERR_ACCESS_DENIED);
    a.wr_num_bytes = ZX_CHANNEL_MAX_MSG_BYTES + 1;
    KTAP_EXPECT_STATUS(zx_channel_call(client, 0, 0, &a, &nb, &nh), ZX_ERR_OUT_OF_RANGE);
    a.wr_num_bytes = 4;
    a.wr_bytes = (void *)8;
    KTAP_EXPECT_STATUS(zx_channel_call(client, 0, 0, &a, &nb, &nh), ZX_ERR_INVALID_ARGS);
    a.wr_bytes = wr;
    // The channel itself cannot travel in the request; the handles are consumed anyway.
    a.wr_handles = &client;
    a.wr_num_handles = 1;
    KTAP_EXPECT_STATUS(zx_channel_call(client, 0, 0, &a, &nb, &nh), ZX_ERR_NOT_SUPPORTED);
    KTAP_EXPECT_STATUS(zx_handle_close(client), ZX_ERR_BAD_HANDLE);
    // Nothing reached the server.
    KTAP_EXPECT_STATUS(wait_ms(server, ZX_CHANNEL_READABLE, 0), ZX_ERR_TIMED_OUT);
    zx_handle_close(noread);
    zx_handle_close(other_peer);
    zx_handle_close(event);
    zx_handle_close(server);
}

KTAP_CASE(channel_call_killed_caller_leaves) {
    zx_handle_t server;
    struct caller c = {.status = 1};
    struct tk_thread t;
    KTAP_ASSERT_OK(zx_channel_create(0, &c.ch, &server));
    KTAP_ASSERT_OK(tk_thread_start(&t, "caller", caller_main, &c));
    KTAP_ASSERT_TRUE(wait_thread_state(t.handle, ZX_THREAD_STATE_BLOCKED_CHANNEL, JOIN_MS));
    KTAP_EXPECT_OK(zx_task_kill(t.handle));
    KTAP_EXPECT_OK(wait_ms(t.handle, ZX_THREAD_TERMINATED, JOIN_MS));
    KTAP_EXPECT_EQ(c.status, 1);  // it never returned to user mode
    // The reply now has nobody to go to: it is queued like any message.
    uint8_t buf[8];
    uint32_t nb, nh;
    KTAP_EXPECT_OK(zx_channel_read(server, 0, buf, NULL, sizeof(buf), 0, &nb, &nh));
    KTAP_EXPECT_OK(zx_channel_write(server, 0, buf, nb, NULL, 0));
    KTAP_EXPECT_OK(wait_ms(c.ch, ZX_CHANNEL_READABLE, 0));
    tk_thread_join(&t, JOIN_MS);
    zx_handle_close(c.ch);
    zx_handle_close(server);
}
