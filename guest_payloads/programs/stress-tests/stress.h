// Shared by the stress-tests sources: the run's knobs, the worker scaffolding and the child
// modes (main.c dispatches `stress-tests child=<mode>` to them).
#pragma once

#include <ktap.h>
#include <stdbool.h>
#include <stdint.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/object.h>

#include "child.h"
#include "testkit.h"

#define STRESS_PATH "bin/stress-tests"
// Waits for threads to join and processes to die (longer with the `scale=N` argument).
// A round this long or longer is a long run (06-exhaust.c's long-only cases run then).
#define LONG_ROUND_MS 1000
#define JOIN_MS TK_SCALED_MS(10000)
#define DEATH_MS TK_SCALED_MS(5000)

// Every case ends with this: the kernel still does a fresh channel round trip, VMO I/O and
// an event wait.
#define STRESS_KERNEL_SANE() KTAP_EXPECT_OK(tk_kernel_sane())

// A random generator seeded per case and thread (reproducible runs are not the point here:
// the interleavings come from the scheduler).
uint64_t stress_seed(uint64_t salt);

// Spawns `stress-tests child=<mode>` in a fresh job under our default job; waits up to `ms`
// (killing it then) and returns its return code through
// *code. ZX_OK if it terminated by itself.
zx_status_t stress_run_child(const char *mode, int64_t ms, int64_t *code);

// One round of racing threads: starts workers[i](arg) for each of the `n` workers, sleeps
// one round, sets *stop and joins them all (each must notice *stop within JOIN_MS). Returns
// ZX_OK, or the first failure to start or to end in time.
typedef void (*stress_worker)(void *arg);
zx_status_t stress_round(const stress_worker *workers, int n, void *arg, volatile uint64_t *stop);

// Parallel mode (parallel.c): every selected case at once, each repeated in a child process
// (`run=NAME`) for its round; returns main's exit status.
int stress_run_parallel(const char *only, const char *skip);
int stress_run_repeated(const char *name);

// Child modes (return the child's exit status).
int child_deep_vmar(void);
int child_churn(void);
int child_kill_threads(void);
int child_resize_map(void);
int child_tlb_reader(void);
