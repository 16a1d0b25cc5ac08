// x86-64 user mode: the first entry into ring 3 and the `syscall` entry point.
//
// syscall (MSR_LSTAR -> x86_syscall_entry): the CPU leaves the user %rip in %rcx, RFLAGS in
// %r11 and masks IF/DF/TF/AC (MSR_FMASK); %rsp is still the user's. Interrupts off, `swapgs`
// makes %gs this CPU's struct percpu: the user %rsp parks in its user_rsp while %rsp becomes
// its kernel_rsp (the running thread's kernel stack top, arch_set_kernel_stack). The way out
// swaps back right before sysretq. The frame built there is a struct
// x86_syscall_frame, lowest address first:
//     rdi rsi rdx r10 r8 r9 r12 r13 (the 8 argument registers) | rax (number) | rcx (user rip)
//     | r11 (user rflags) | user rsp
// x86_syscall_handler(frame) returns the result for %rax. The argument registers are put
// back as the user left them (they are the caller's to clobber, but must not leak kernel
// values); sysretq returns to %rcx with RFLAGS = %r11.

#include <arch/arch_percpu.h>
#include <arch/x86_64/gdt.h>

.section .text.user, "ax"
.code64

// void x86_enter_user(uintptr_t entry, uintptr_t sp, uintptr_t arg1, uintptr_t arg2)
// Leaves the kernel for good: iretq to ring 3 at `entry` with %rsp = sp, %rdi = arg1,
// %rsi = arg2, interrupts enabled and every other register zero.
.globl x86_enter_user
x86_enter_user:
    cli
    pushq $(X86_USER_DS | X86_RPL_USER)
    pushq %rsi
    pushq $0x202                      // RFLAGS: IF | the reserved bit 1
    pushq $(X86_USER_CS | X86_RPL_USER)
    pushq %rdi
    mov %rdx, %rdi
    mov %rcx, %rsi
    xor %eax, %eax
    xor %ebx, %ebx
    xor %ecx, %ecx
    xor %edx, %edx
    xor %ebp, %ebp
    xor %r8d, %r8d
    xor %r9d, %r9d
    xor %r10d, %r10d
    xor %r11d, %r11d
    xor %r12d, %r12d
    xor %r13d, %r13d
    xor %r14d, %r14d
    xor %r15d, %r15d
    mov $(X86_USER_DS | X86_RPL_USER), %edx
    mov %edx, %ds
    mov %edx, %es
    xor %edx, %edx
    swapgs                            // the user's GS base from here on
    iretq

.globl x86_syscall_entry
x86_syscall_entry:
    swapgs
    mov %rsp, %gs:X86_PERCPU_USER_RSP
    mov %gs:X86_PERCPU_KERNEL_RSP, %rsp
    pushq %gs:X86_PERCPU_USER_RSP
    push %r11
    push %rcx
    push %rax
    push %r13
    push %r12
    push %r9
    push %r8
    push %r10
    push %rdx
    push %rsi
    push %rdi
    cld
    mov %rsp, %rdi
    call x86_syscall_handler
    cli
    pop %rdi
    pop %rsi
    pop %rdx
    pop %r10
    pop %r8
    pop %r9
    pop %r12
    pop %r13
    add $8, %rsp                      // the number
    pop %rcx
    pop %r11
    pop %rsp
    swapgs
    sysretq
