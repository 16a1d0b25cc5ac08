// x86-64 user ABI facts for userboot and ulib.
#pragma once

#include <stdint.h>

#define ZHB_ELF_MACHINE 62u  // EM_X86_64

// The stack pointer a new thread starts with, given the top of its stack: as right after a
// call (16-byte aligned minus the 8 bytes of a return address), per the SysV ABI and Zircon.
static inline uintptr_t zhb_initial_sp(uintptr_t stack_top) {
    return (stack_top & ~(uintptr_t)15) - 8;
}

// ELF relocation types of this architecture that ld.so knows (ldso/ldso.c).
#define ZHB_R_NONE 0u
#define ZHB_R_ABS64 1u
#define ZHB_R_GLOB_DAT 6u
#define ZHB_R_JUMP_SLOT 7u
#define ZHB_R_RELATIVE 8u
#define ZHB_R_IRELATIVE 37u
#define ZHB_R_COPY 5u
