// Shared by the microbench sources.
#pragma once

#include <zircon/types.h>

// Prints "microbench: <name> <ns per iteration> ns (<iterations> iterations)".
void bench_report(const char *name, zx_time_t start, int iterations);
// Prints "microbench: error: <what> failed (status N)" and returns 1.
int bench_fail(const char *what, zx_status_t status);
// The futex, socket and channel_call rows (ipc.c): 0, or bench_fail's 1.
int bench_ipc(void);
// The process-builder launch rows (launch.c): 0, or bench_fail's 1.
int bench_launch(void);
// The demand_zero_fault, cow_write_fault and zygote_clone_start rows (vm.c).
int bench_vm(void);
// The parallel null-syscall rows for 1, 2 and 4 threads (parallel.c): 0, or bench_fail's 1.
int bench_parallel(void);
