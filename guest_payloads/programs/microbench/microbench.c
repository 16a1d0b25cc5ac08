// microbench: in-guest costs, in ns from zx_clock_get_monotonic, one line per figure:
//
//   microbench: <name> <ns per operation> ns (<iterations> iterations)
//
//   null_syscall          zx_handle_close(ZX_HANDLE_INVALID) through the vDSO
//   process_lifecycle     zx_process_create + start of a child calling zx_process_exit(0)
//                         through its own vDSO mapping + wait for ZX_PROCESS_TERMINATED
//   channel_round_trip    zx_channel_write of 64 bytes on one end + zx_channel_read on the other
//   port_queue_wait       zx_port_queue of a user packet + zx_port_wait taking it (one thread)
//   futex_round_trip, socket_round_trip, channel_call_round_trip: see ipc.c
//   pb_launch_static, pb_launch_dynamic: see launch.c
//   demand_zero_fault, cow_write_fault, zygote_clone_start: see vm.c
//   parallel_null_syscall_x1, _x2, _x4: N threads making null syscalls at once, see parallel.c
//
// scripts/bench_boot collects these lines. Exits 0 unless an operation fails (then prints
// "microbench: error: ..." and exits 1).
#include <stdio.h>
#include <zhb/runtime.h>
#include <zircon/process.h>

#include "child.h"
#include "machine-code.h"
#include "microbench.h"

ZHB_DECLARE_VDSO_OFFSET(zx_process_exit);

#define NULL_SYSCALL_ITERATIONS 10000
#define PROCESS_ITERATIONS 20
#define CHANNEL_ITERATIONS 2000
#define PORT_ITERATIONS 2000
#define CHILD_WAIT_MS 5000

void bench_report(const char *name, zx_time_t start, int iterations) {
    zx_duration_t total = zx_clock_get_monotonic() - start;
    printf("microbench: %s %lld ns (%d iterations)\n", name, (long long)(total / iterations),
           iterations);
}

int bench_fail(const char *what, zx_status_t status) {
    printf("microbench: error: %s failed (status %d)\n", what, status);
    return 1;
}

static zx_status_t one_process(void) {
    static const uint8_t code[] = MC_JUMP_ARG2_ZERO;
    struct child child;
    zx_status_t status = child_create(zx_job_default(), "bench", code, sizeof(code), true, &child);
    if (status == ZX_OK) {
        status = child_start(&child, child.vdso_base + ZHB_VDSO_OFFSET(zx_process_exit));
    }
    if (status == ZX_OK) {
        status = wait_ms(child.proc, ZX_PROCESS_TERMINATED, CHILD_WAIT_MS);
    }
    child_destroy(&child);
    return status;
}

static int port_queue_wait(void) {
    zx_handle_t port;
    zx_status_t status = zx_port_create(0, &port);
    if (status != ZX_OK) {
        return bench_fail("zx_port_create", status);
    }
    zx_port_packet_t packet = {.key = 1};
    zx_time_t start = zx_clock_get_monotonic();
    for (int i = 0; i < PORT_ITERATIONS && status == ZX_OK; i++) {
        status = zx_port_queue(port, &packet);
        if (status == ZX_OK) {
            status = zx_port_wait(port, ZX_TIME_INFINITE, &packet);
        }
    }
    zx_handle_close(port);
    if (status != ZX_OK) {
        return bench_fail("port_queue_wait", status);
    }
    bench_report("port_queue_wait", start, PORT_ITERATIONS);
    return 0;
}

int main(void) {
    zx_time_t start = zx_clock_get_monotonic();
    for (int i = 0; i < NULL_SYSCALL_ITERATIONS; i++) {
        zx_handle_close(ZX_HANDLE_INVALID);
    }
    bench_report("null_syscall", start, NULL_SYSCALL_ITERATIONS);

    start = zx_clock_get_monotonic();
    for (int i = 0; i < PROCESS_ITERATIONS; i++) {
        zx_status_t status = one_process();
        if (status != ZX_OK) {
            return bench_fail("process_lifecycle", status);
        }
    }
    bench_report("process_lifecycle", start, PROCESS_ITERATIONS);

    zx_handle_t a;
    zx_handle_t b;
    zx_status_t status = zx_channel_create(0, &a, &b);
    if (status != ZX_OK) {
        return bench_fail("zx_channel_create", status);
    }
    uint8_t buf[64] = {0};
    start = zx_clock_get_monotonic();
    for (int i = 0; i < CHANNEL_ITERATIONS && status == ZX_OK; i++) {
        uint32_t bytes;
        uint32_t handles;
        status = zx_channel_write(a, 0, buf, sizeof(buf), NULL, 0);
        if (status == ZX_OK) {
            status = zx_channel_read(b, 0, buf, NULL, sizeof(buf), 0, &bytes, &handles);
        }
    }
    if (status != ZX_OK) {
        return bench_fail("channel_round_trip", status);
    }
    bench_report("channel_round_trip", start, CHANNEL_ITERATIONS);
    zx_handle_close(a);
    zx_handle_close(b);
    int status_port = port_queue_wait();
    if (status_port != 0) {
        return status_port;
    }
    int failed = bench_ipc();
    if (failed == 0) {
        failed = bench_vm();
    }
    if (failed == 0) {
        failed = bench_launch();
    }
    return failed != 0 ? failed : bench_parallel();
}
