// The generic side of user-mode entry (kernel/syscall.c), called by the arch's trap code.
//
//   user `syscall` / `svc`  -> syscall_dispatch(num, args, pc)       result -> user result reg
//   user page not present   -> user_page_fault(addr, access)         true: retry the access
//   user fault (any trap)   -> user_fault(kind, addr, pc)            never returns
//   every return to user    -> user_return_check()                   may not return (killed)
//
// syscall_dispatch accepts syscall `num` only when `pc` (the return address of the trap
// instruction: x86-64 %rcx, arm64 ELR_EL1) is the calling process's vDSO base plus the
// CODE_SYSRET offset of that syscall's stub (README "vDSO rules"). Anything else — a number
// out of range, no vDSO mapped, another PC — is a bad syscall: the policy exception
// ZX_EXCP_POLICY_CODE_BAD_SYSCALL, which nobody handles, so the process is killed
// (ZX_TASK_RETCODE_EXCEPTION_KILL) with one console line, and the call "returns"
// ZX_ERR_BAD_SYSCALL to a thread that never runs again.
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define SYSCALL_MAX_ARGS 8

// Runs syscall `num` for the current user thread (interrupts on while it runs).
int64_t syscall_dispatch(uint64_t num, const uint64_t args[SYSCALL_MAX_ARGS], uintptr_t pc);

// Demand paging for the running user thread: its access (ARCH_MMU_FLAG_READ, _WRITE or
// _EXECUTE, <kernel/vm.h>) to `addr` found no page. True when a mapping allowed it and the page
// is now mapped; false: a real fault (call user_fault). Interrupts on.
bool user_page_fault(uintptr_t addr, uint32_t access);

// The running user thread faulted (`kind` names the exception): prints
//   zhb kernel: user fault: process <name> koid <K>: <kind> at address 0x.. pc 0x..
// kills its process (ZX_TASK_RETCODE_EXCEPTION_KILL) and ends the thread.
__attribute__((noreturn)) void user_fault(const char *kind, uintptr_t addr, uintptr_t pc);

// Called with interrupts masked right before returning to user mode: ends the thread if it
// or its process was killed meanwhile.
void user_return_check(void);
