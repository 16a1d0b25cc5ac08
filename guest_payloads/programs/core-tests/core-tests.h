// Shared between core-tests' main.c and job.c: the policy helper mode.
#pragma once

#define POLICY_CHILD_ARG "policy-child"

// Tries zx_process_create in our own job; returns -status (0: allowed).
int policy_child(void);

// Polls ZX_INFO_THREAD until `thread` is in `state` (futex.c); false after `ms` milliseconds.
#include <zircon/syscalls.h>
bool wait_thread_state(zx_handle_t thread, zx_thread_state_t state, int64_t ms);
