// Parallel null-syscall throughput: N threads of this process each make PARALLEL_CALLS
// null syscalls (zx_handle_close(ZX_HANDLE_INVALID)) at once, for N = 1, 2 and 4. One line each:
//
//   microbench: parallel_null_syscall_x<N> <ns of wall time per call, all threads> ns (<calls>)
//
// With more CPUs than threads the figure falls as N grows (bench_boot prints the speed-up
// against N = 1); on one CPU it stays flat.
#include <stdio.h>

#include "microbench.h"
#include "testkit.h"

#define PARALLEL_CALLS 20000
#define PARALLEL_MAX_THREADS 4
#define PARALLEL_JOIN_MS 60000

struct parallel_run {
    volatile uint64_t go;
    volatile uint64_t failed;
};

static void null_calls(void *arg) {
    struct parallel_run *run = arg;
    while (!tk_load(&run->go)) {
    }
    for (int i = 0; i < PARALLEL_CALLS; i++) {
        if (zx_handle_close(ZX_HANDLE_INVALID) != ZX_OK) {
            tk_add(&run->failed, 1);
        }
    }
}

static int parallel_once(int threads) {
    static struct parallel_run run;
    static struct tk_thread t[PARALLEL_MAX_THREADS];
    run = (struct parallel_run){0};
    for (int i = 0; i < threads; i++) {
        zx_status_t status = tk_thread_start(&t[i], "null-calls", null_calls, &run);
        if (status != ZX_OK) {
            return bench_fail("parallel_null_syscall: zx_thread_start", status);
        }
    }
    zx_time_t start = zx_clock_get_monotonic();
    tk_store(&run.go, 1);
    for (int i = 0; i < threads; i++) {
        zx_status_t status = tk_thread_join(&t[i], PARALLEL_JOIN_MS);
        if (status != ZX_OK) {
            return bench_fail("parallel_null_syscall: join", status);
        }
    }
    if (run.failed != 0) {
        return bench_fail("parallel_null_syscall: zx_handle_close", ZX_ERR_INTERNAL);
    }
    char name[40];
    snprintf(name, sizeof(name), "parallel_null_syscall_x%d", threads);
    bench_report(name, start, threads * PARALLEL_CALLS);
    return 0;
}

int bench_parallel(void) {
    for (int threads = 1; threads <= PARALLEL_MAX_THREADS; threads *= 2) {
        int status = parallel_once(threads);
        if (status != 0) {
            return status;
        }
    }
    return 0;
}
