// arm64 user ABI facts for userboot and ulib.
#pragma once

#include <stdint.h>

#define ZHB_ELF_MACHINE 183u  // EM_AARCH64

// The stack pointer a new thread starts with, given the top of its stack: 16-byte aligned.
static inline uintptr_t zhb_initial_sp(uintptr_t stack_top) {
    return stack_top & ~(uintptr_t)15;
}
