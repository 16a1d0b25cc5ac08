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
// mov %rsi, %rbx; 1: movabs $INT64_MAX, %rdi; call *%rbx; jmp 1b
//   (calls arg2(ZX_TIME_INFINITE) for ever: arg2 is the vDSO's zx_nanosleep)
#define MC_SLEEP_ARG2_FOREVER                                                                      \
    { 0x48, 0x89, 0xf3, 0x48, 0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xd3,    \
      0xeb, 0xf2 }
// 1: mov (%rsi), %al; mov %al, (%rsi); jmp 1b   (reads and writes the byte at arg2 for ever)
#define MC_TOUCH_ARG2_LOOP                                                                         \
    { 0x8a, 0x06, 0x88, 0x06, 0xeb, 0xfa }
