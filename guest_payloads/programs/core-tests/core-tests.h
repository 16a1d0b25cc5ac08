// Shared between core-tests' sources: the policy helper modes and small helpers.
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <zircon/syscalls.h>
#include <zircon/types.h>

#define POLICY_CHILD_ARG "policy-child"
// Tries zx_process_create in our own job; returns -status (0: allowed).
int policy_child(void);

// `core-tests policy-child-socket` (socket.c): tries zx_socket_create; returns -status.
#define POLICY_CHILD_SOCKET_ARG "policy-child-socket"
int policy_child_socket(void);

// Runs `core-tests <mode>` in `job` (job.c); its return code, or INT64_MIN if it did not run.
int64_t run_policy_child_mode(zx_handle_t job, const char *mode);

// Polls ZX_INFO_THREAD until `thread` is in `state` (futex.c); false after `ms` milliseconds.
bool wait_thread_state(zx_handle_t thread, zx_thread_state_t state, int64_t ms);
