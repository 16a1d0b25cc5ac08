// x86-64 per-thread architecture state (include/kernel/arch.h): everything a switched-out
// kernel thread keeps in registers is pushed on its own stack by arch_context_switch
// (arch/x86_64/thread.S), so only the stack pointer lives here.
#pragma once

#include <stdint.h>

struct arch_thread {
    uintptr_t sp;  // saved %rsp of a switched-out thread; points at its switch frame
};
