// A tiny user program for the kernel self-tests (kernel/selftest_process.c), kept as data:
// the test copies [selftest_user_blob, selftest_user_blob_end) into the code page of a fake
// vDSO, so the two `svc`s at the labelled return addresses are approved entry points (the
// kernel returns 12 bytes past them, over the stub's barrier). Position-independent.
// Entry: x0 = arg1 (a user string), x1 = arg2 (the mode):
//   0  zx_debug_write(arg1, 5) from an approved site, then zx_process_exit(status + 42)
//   1  a syscall from an unapproved address (the bad-syscall policy kills the process)
//   2  a write to its own read-only code page (a user fault kills the process)
//   3  spin forever (the test kills the process)

#include <zircon/syscalls-numbers.h>

.section .rodata.selftest_user, "a"
.balign 16
.globl selftest_user_blob, selftest_user_blob_end
.globl selftest_user_sysret_debug_write, selftest_user_sysret_process_exit
selftest_user_blob:
    cmp x1, #1
    b.eq 1f
    cmp x1, #2
    b.eq 2f
    cmp x1, #3
    b.eq 3f
    mov x1, #5
    mov x16, #ZX_SYS_debug_write
    svc #0
selftest_user_sysret_debug_write:
    dsb nsh
    isb
    brk #0
    add x0, x0, #42
    mov x16, #ZX_SYS_process_exit
    svc #0
selftest_user_sysret_process_exit:
    dsb nsh
    isb
    brk #0
    brk #1
1:  mov x16, #ZX_SYS_debug_write
    svc #0
    brk #1
2:  adr x0, selftest_user_blob
    strb w1, [x0]
    brk #1
3:  b 3b
selftest_user_blob_end:
