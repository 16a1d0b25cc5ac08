// arm64 user ABI facts for userboot and ulib.
#pragma once

#include <stdint.h>

#define ZHB_ELF_MACHINE 183u  // EM_AARCH64

// The stack pointer a new thread starts with, given the top of its stack: 16-byte aligned.
static inline uintptr_t zhb_initial_sp(uintptr_t stack_top) {
    return stack_top & ~(uintptr_t)15;
}

// ELF relocation types of this architecture that ld.so knows (ldso/ldso.c).
#define ZHB_R_NONE 0u
#define ZHB_R_ABS64 257u
#define ZHB_R_GLOB_DAT 1025u
#define ZHB_R_JUMP_SLOT 1026u
#define ZHB_R_RELATIVE 1027u
#define ZHB_R_IRELATIVE 1032u
#define ZHB_R_COPY 1024u
