// Exception types and reports (a subset), as Zircon's <zircon/syscalls/exception.h>.
//
// A syscall from outside the vDSO, or with an unknown number, raises ZX_EXCP_POLICY_ERROR with
// synth_code ZX_EXCP_POLICY_CODE_BAD_SYSCALL and synth_data = the syscall number; unhandled,
// it kills the process (ZX_TASK_RETCODE_EXCEPTION_KILL).
#pragma once

#include <stdint.h>
#include <zircon/types.h>

typedef uint32_t zx_excp_type_t;

// Architectural exceptions.
#define ZX_EXCP_GENERAL ((uint32_t)0x008u)
#define ZX_EXCP_FATAL_PAGE_FAULT ((uint32_t)0x108u)  // synth_code: the zx_status_t
#define ZX_EXCP_UNDEFINED_INSTRUCTION ((uint32_t)0x208u)
#define ZX_EXCP_SW_BREAKPOINT ((uint32_t)0x308u)
#define ZX_EXCP_HW_BREAKPOINT ((uint32_t)0x408u)
#define ZX_EXCP_UNALIGNED_ACCESS ((uint32_t)0x508u)

// Synthetic exceptions carry ZX_EXCP_SYNTH.
#define ZX_EXCP_SYNTH ((uint32_t)0x8000u)
#define ZX_EXCP_THREAD_STARTING ((uint32_t)0x008u | ZX_EXCP_SYNTH)
#define ZX_EXCP_THREAD_EXITING ((uint32_t)0x108u | ZX_EXCP_SYNTH)
#define ZX_EXCP_POLICY_ERROR ((uint32_t)0x208u | ZX_EXCP_SYNTH)  // synth_code: below
#define ZX_EXCP_PROCESS_STARTING ((uint32_t)0x308u | ZX_EXCP_SYNTH)
#define ZX_EXCP_IS_ARCH(excp) (((excp) & ZX_EXCP_SYNTH) == 0)

// synth_code of ZX_EXCP_POLICY_ERROR.
#define ZX_EXCP_POLICY_CODE_BAD_HANDLE 0u
#define ZX_EXCP_POLICY_CODE_WRONG_OBJECT 1u
#define ZX_EXCP_POLICY_CODE_VMAR_WX 2u
#define ZX_EXCP_POLICY_CODE_NEW_ANY 3u
#define ZX_EXCP_POLICY_CODE_NEW_VMO 4u
#define ZX_EXCP_POLICY_CODE_NEW_CHANNEL 5u
#define ZX_EXCP_POLICY_CODE_NEW_EVENT 6u
#define ZX_EXCP_POLICY_CODE_NEW_EVENTPAIR 7u
#define ZX_EXCP_POLICY_CODE_NEW_PORT 8u
#define ZX_EXCP_POLICY_CODE_NEW_SOCKET 9u
#define ZX_EXCP_POLICY_CODE_NEW_FIFO 10u
#define ZX_EXCP_POLICY_CODE_NEW_TIMER 11u
#define ZX_EXCP_POLICY_CODE_NEW_PROCESS 12u
#define ZX_EXCP_POLICY_CODE_NEW_PROFILE 13u
#define ZX_EXCP_POLICY_CODE_NEW_PAGER 14u
#define ZX_EXCP_POLICY_CODE_AMBIENT_MARK_VMO_EXEC 15u
#define ZX_EXCP_POLICY_CODE_CHANNEL_FULL_WRITE 16u
#define ZX_EXCP_POLICY_CODE_PORT_TOO_MANY_PACKETS 17u
#define ZX_EXCP_POLICY_CODE_BAD_SYSCALL 18u  // synth_data: the syscall number
#define ZX_EXCP_POLICY_CODE_PORT_TOO_MANY_OBSERVERS 19u

typedef struct zx_x86_64_exc_data {
    uint64_t vector;
    uint64_t err_code;
    uint64_t cr2;
} zx_x86_64_exc_data_t;

typedef struct zx_arm64_exc_data {
    uint32_t esr;
    uint8_t padding1[4];
    uint64_t far;
    uint8_t padding2[8];
} zx_arm64_exc_data_t;

typedef struct zx_riscv64_exc_data {
    uint64_t cause;
    uint64_t tval;
    uint8_t padding1[8];
} zx_riscv64_exc_data_t;

typedef struct zx_exception_context {
    struct {
        union {
            zx_x86_64_exc_data_t x86_64;
            zx_arm64_exc_data_t arm_64;
            zx_riscv64_exc_data_t riscv_64;
        } u;
    } arch;
    uint32_t synth_code;
    uint32_t synth_data;
} zx_exception_context_t;

typedef struct zx_exception_header {
    uint32_t size;  // of the whole report, this header included
    zx_excp_type_t type;
} zx_exception_header_t;

typedef struct zx_exception_report {
    zx_exception_header_t header;
    zx_exception_context_t context;
} zx_exception_report_t;

// Sent with the exception handle over an exception channel.
typedef struct zx_exception_info {
    zx_koid_t pid;
    zx_koid_t tid;
    zx_excp_type_t type;
    uint8_t padding1[4];
} zx_exception_info_t;

// zx_info_thread_t.wait_exception_channel_type
#define ZX_EXCEPTION_CHANNEL_TYPE_NONE ((uint32_t)0u)
#define ZX_EXCEPTION_CHANNEL_TYPE_DEBUGGER ((uint32_t)1u)
#define ZX_EXCEPTION_CHANNEL_TYPE_THREAD ((uint32_t)2u)
#define ZX_EXCEPTION_CHANNEL_TYPE_PROCESS ((uint32_t)3u)
#define ZX_EXCEPTION_CHANNEL_TYPE_JOB ((uint32_t)4u)
#define ZX_EXCEPTION_CHANNEL_TYPE_JOB_DEBUGGER ((uint32_t)5u)
