// arm64 machine code the test programs copy into child processes (programs/common/child.h).
#pragma once

#include <zircon/syscalls-numbers.h>

#define MC_WORD(w) ((w)&0xff), (((w) >> 8) & 0xff), (((w) >> 16) & 0xff), (((w) >> 24) & 0xff)

// b .
#define MC_SPIN                                                                                    \
    { MC_WORD(0x14000000u) }
// mov x0, #0; br x1   (call arg2(0) without returning: arg2 is a vDSO entry)
#define MC_JUMP_ARG2_ZERO                                                                          \
    { MC_WORD(0xd2800000u), MC_WORD(0xd61f0020u) }
// mov x0, #0; mov x16, #ZX_SYS_process_exit; svc #0; b .
//   (a direct system call from outside the vDSO; exits with 0 if the kernel ever allowed it)
#define MC_RAW_SYSCALL_EXIT                                                                        \
    {                                                                                              \
        MC_WORD(0xd2800000u), MC_WORD(0xd2800010u | ((unsigned)ZX_SYS_process_exit << 5)),         \
            MC_WORD(0xd4000001u), MC_WORD(0x14000000u)                                             \
    }
// mov x19, x1; 1: mov x0, #INT64_MAX; blr x19; b 1b
//   (calls arg2(ZX_TIME_INFINITE) for ever: arg2 is the vDSO's zx_nanosleep)
#define MC_SLEEP_ARG2_FOREVER                                                                      \
    { MC_WORD(0xaa0103f3u), MC_WORD(0x92f00000u), MC_WORD(0xd63f0260u), MC_WORD(0x17fffffeu) }
// 1: ldrb w0, [x1]; strb w0, [x1]; b 1b   (reads and writes the byte at arg2 for ever)
#define MC_TOUCH_ARG2_LOOP                                                                         \
    { MC_WORD(0x39400020u), MC_WORD(0x39000020u), MC_WORD(0x17fffffeu) }
