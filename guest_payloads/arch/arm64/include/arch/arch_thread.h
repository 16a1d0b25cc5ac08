// arm64 per-thread architecture state (include/kernel/arch.h): x19-x30 of a switched-out
// kernel thread are pushed on its own stack by arch_context_switch (arch/arm64/thread.S), so
// only the stack pointer lives here.
#pragma once

#include <stdint.h>

struct arch_thread {
    uintptr_t sp;  // saved sp of a switched-out thread; points at its switch frame
};
