// Shared between core-tests' main.c and job.c: the policy helper mode.
#pragma once

#define POLICY_CHILD_ARG "policy-child"

// Tries zx_process_create in our own job; returns -status (0: allowed).
int policy_child(void);
