// x86-64 machine code the test programs copy into child processes (programs/common/child.h).
#pragma once

#include <zircon/syscalls-numbers.h>

// jmp .
#define MC_SPIN                                                                                    \
    { 0xeb, 0xfe }
// xor %edi, %edi; jmp *%rsi   (call arg2(0) without returning: arg2 is a vDSO entry)
#define MC_JUMP_ARG2_ZERO                                                                          \
    { 0x31, 0xff, 0xff, 0xe6 }
// xor %edi, %edi; mov $ZX_SYS_process_exit, %eax; syscall; jmp .
//   (a direct system call from outside the vDSO; exits with 0 if the kernel ever allowed it)
#define MC_RAW_SYSCALL_EXIT                                                                        \
    { 0x31, 0xff, 0xb8, ZX_SYS_process_exit & 0xff, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xfe }
