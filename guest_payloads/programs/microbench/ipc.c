// microbench rows for futexes, sockets and zx_channel_call (see microbench.c's table):
//
//   futex_round_trip      two threads hand a turn back and forth through one futex word:
//                         per iteration one zx_futex_wake + zx_futex_wait each way
//   socket_round_trip     zx_socket_write of 64 bytes on one end + zx_socket_read on the other
//   channel_call_round_trip  zx_channel_call of 64 bytes to a server thread that reads and
//                         replies (wait_one + read + write)
#include <stdio.h>
#include <zircon/syscalls.h>

#include "child.h"
#include "microbench.h"
#include "testkit.h"

#define FUTEX_ITERATIONS 1000
#define SOCKET_ITERATIONS 2000
#define CALL_ITERATIONS 1000

static zx_futex_t turn;  // 0: the main thread's turn, 1: the partner's
static volatile uint64_t partner_rounds;

static void futex_partner(void *arg) {
    (void)arg;
    for (int i = 0; i < FUTEX_ITERATIONS; i++) {
        while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != 1) {
            zx_futex_wait(&turn, 0, ZX_HANDLE_INVALID, ZX_TIME_INFINITE);
        }
        __atomic_store_n(&turn, 0, __ATOMIC_RELEASE);
        zx_futex_wake(&turn, 1);
        tk_add(&partner_rounds, 1);
    }
}

static zx_status_t bench_futex(void) {
    // Commit the futex word's page before timing (demand paging): this row measures round
    // trips, as it did when mappings were populated up front. (Without it the first fault on
    // that page, taken inside the partner's zx_futex_wait, stalls the run about 100 ms under
    // TCG: a known problem, see guest_payloads/README.md "VMOs and VMARs".)
    __atomic_store_n(&turn, 0, __ATOMIC_RELEASE);
    struct tk_thread t;
    zx_status_t status = tk_thread_start(&t, "futex-partner", futex_partner, NULL);
    if (status != ZX_OK) {
        return status;
    }
    zx_time_t start = zx_clock_get_monotonic();
    for (int i = 0; i < FUTEX_ITERATIONS; i++) {
        __atomic_store_n(&turn, 1, __ATOMIC_RELEASE);
        zx_futex_wake(&turn, 1);
        while (__atomic_load_n(&turn, __ATOMIC_ACQUIRE) != 0) {
            zx_futex_wait(&turn, 1, ZX_HANDLE_INVALID, ZX_TIME_INFINITE);
        }
    }
    bench_report("futex_round_trip", start, FUTEX_ITERATIONS);
    status = tk_thread_join(&t, 5000);
    return status == ZX_OK && partner_rounds == FUTEX_ITERATIONS ? ZX_OK : ZX_ERR_INTERNAL;
}

static zx_status_t bench_socket(void) {
    zx_handle_t a, b;
    zx_status_t status = zx_socket_create(ZX_SOCKET_STREAM, &a, &b);
    if (status != ZX_OK) {
        return status;
    }
    uint8_t buf[64] = {0};
    zx_time_t start = zx_clock_get_monotonic();
    for (int i = 0; i < SOCKET_ITERATIONS && status == ZX_OK; i++) {
        size_t actual = 0;
        status = zx_socket_write(a, 0, buf, sizeof(buf), &actual);
        if (status == ZX_OK) {
            status = zx_socket_read(b, 0, buf, sizeof(buf), &actual);
        }
        if (status == ZX_OK && actual != sizeof(buf)) {
            status = ZX_ERR_INTERNAL;
        }
    }
    if (status == ZX_OK) {
        bench_report("socket_round_trip", start, SOCKET_ITERATIONS);
    }
    zx_handle_close(a);
    zx_handle_close(b);
    return status;
}

static void call_server(void *arg) {
    zx_handle_t ch = *(zx_handle_t *)arg;
    uint8_t buf[64];
    uint32_t nb, nh;
    while (zx_object_wait_one(ch, ZX_CHANNEL_READABLE | ZX_CHANNEL_PEER_CLOSED, ZX_TIME_INFINITE,
                              NULL) == ZX_OK &&
           zx_channel_read(ch, 0, buf, NULL, sizeof(buf), 0, &nb, &nh) == ZX_OK &&
           zx_channel_write(ch, 0, buf, nb, NULL, 0) == ZX_OK) {
    }
}

static zx_status_t bench_call(void) {
    static zx_handle_t server;
    zx_handle_t client;
    zx_status_t status = zx_channel_create(0, &client, &server);
    struct tk_thread t;
    if (status == ZX_OK) {
        status = tk_thread_start(&t, "call-server", call_server, &server);
    }
    if (status != ZX_OK) {
        return status;
    }
    uint8_t wr[64] = {0}, rd[64];
    zx_time_t start = zx_clock_get_monotonic();
    for (int i = 0; i < CALL_ITERATIONS && status == ZX_OK; i++) {
        uint32_t nb, nh;
        zx_channel_call_args_t args = {.wr_bytes = wr, .wr_num_bytes = sizeof(wr),
                                       .rd_bytes = rd, .rd_num_bytes = sizeof(rd)};
        status = zx_channel_call(client, 0, ZX_TIME_INFINITE, &args, &nb, &nh);
    }
    if (status == ZX_OK) {
        bench_report("channel_call_round_trip", start, CALL_ITERATIONS);
    }
    zx_handle_close(client);  // the server sees PEER_CLOSED and ends
    zx_status_t joined = tk_thread_join(&t, 5000);
    zx_handle_close(server);
    return status != ZX_OK ? status : joined;
}

int bench_ipc(void) {
    zx_status_t status = bench_futex();
    if (status != ZX_OK) {
        return bench_fail("futex_round_trip", status);
    }
    status = bench_socket();
    if (status != ZX_OK) {
        return bench_fail("socket_round_trip", status);
    }
    status = bench_call();
    if (status != ZX_OK) {
        return bench_fail("channel_call_round_trip", status);
    }
    return 0;
}
