// Job policy for zx_job_set_policy(), as Zircon's <zircon/syscalls/policy.h>.
//
// Policy can only be set on a job with no children and no processes (else ZX_ERR_BAD_STATE);
// the call's last argument counts entries, not bytes.
#pragma once

#include <stdint.h>
#include <zircon/types.h>

// options
#define ZX_JOB_POL_RELATIVE 0u  // ignore conditions the parent already fixes
#define ZX_JOB_POL_ABSOLUTE 1u  // apply exactly, or fail

// topics
#define ZX_JOB_POL_BASIC_V1 0u
#define ZX_JOB_POL_BASIC_V2 0x01000000u
#define ZX_JOB_POL_TIMER_SLACK 1u
#define ZX_JOB_POL_BASIC ZX_JOB_POL_BASIC_V1

typedef struct zx_policy_basic_v1 {
    uint32_t condition;  // ZX_POL_*
    uint32_t policy;     // ZX_POL_ACTION_*
} zx_policy_basic_v1_t;

typedef struct zx_policy_basic_v2 {
    uint32_t condition;  // ZX_POL_*
    uint32_t action;     // ZX_POL_ACTION_*
    uint32_t flags;      // ZX_POL_OVERRIDE_*
} zx_policy_basic_v2_t;

typedef struct zx_policy_basic_v1 zx_policy_basic_t;

// Conditions.
#define ZX_POL_BAD_HANDLE 0u
#define ZX_POL_WRONG_OBJECT 1u
#define ZX_POL_VMAR_WX 2u
#define ZX_POL_NEW_ANY 3u
#define ZX_POL_NEW_VMO 4u
#define ZX_POL_NEW_CHANNEL 5u
#define ZX_POL_NEW_EVENT 6u
#define ZX_POL_NEW_EVENTPAIR 7u
#define ZX_POL_NEW_PORT 8u
#define ZX_POL_NEW_SOCKET 9u
#define ZX_POL_NEW_FIFO 10u
#define ZX_POL_NEW_TIMER 11u
#define ZX_POL_NEW_PROCESS 12u
#define ZX_POL_NEW_PROFILE 13u
#define ZX_POL_NEW_PAGER 14u
#define ZX_POL_AMBIENT_MARK_VMO_EXEC 15u

// Actions.
#define ZX_POL_ACTION_ALLOW 0u
#define ZX_POL_ACTION_DENY 1u
#define ZX_POL_ACTION_ALLOW_EXCEPTION 2u
#define ZX_POL_ACTION_DENY_EXCEPTION 3u
#define ZX_POL_ACTION_KILL 4u

// Override (zx_policy_basic_v2_t.flags).
#define ZX_POL_OVERRIDE_ALLOW 0u
#define ZX_POL_OVERRIDE_DENY 1u

typedef struct zx_policy_timer_slack {
    zx_duration_t min_slack;
    uint32_t default_mode;
    uint8_t padding1[4];
} zx_policy_timer_slack_t;
