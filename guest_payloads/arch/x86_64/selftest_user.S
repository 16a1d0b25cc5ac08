// A tiny user program for the kernel self-tests (kernel/selftest_process.c), kept as data:
// the test copies [selftest_user_blob, selftest_user_blob_end) into the code page of a fake
// vDSO, so the two `syscall`s at the labelled return addresses are approved entry points.
// Position-independent. Entry: %rdi = arg1 (a user string), %rsi = arg2 (the mode):
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
    cmp $1, %rsi
    je 1f
    cmp $2, %rsi
    je 2f
    cmp $3, %rsi
    je 3f
    mov $5, %esi
    mov $ZX_SYS_debug_write, %eax
    syscall
selftest_user_sysret_debug_write:
    nop
    lea 42(%rax), %rdi
    mov $ZX_SYS_process_exit, %eax
    syscall
selftest_user_sysret_process_exit:
    nop
    ud2
1:  mov $ZX_SYS_debug_write, %eax
    syscall
    ud2
2:  lea selftest_user_blob(%rip), %rax
    movb $1, (%rax)
    ud2
3:  jmp 3b
selftest_user_blob_end:
