// ld.so's stack switches, x86-64 (declared in ldso/ldso.c).
    .text
// ldso_switch(fn, sp): runs fn() on the stack whose 16-byte aligned top is sp; never returns.
    .globl ldso_switch
    .hidden ldso_switch
    .type ldso_switch, %function
ldso_switch:
    mov %rsi, %rsp
    xor %ebp, %ebp
    call *%rdi
    ud2
    .size ldso_switch, . - ldso_switch

// ldso_enter(entry, sp, arg0, arg1): jumps to entry(arg0, arg1) with the stack pointer sp, as
// zx_process_start starts a thread.
    .globl ldso_enter
    .hidden ldso_enter
    .type ldso_enter, %function
ldso_enter:
    mov %rsi, %rsp
    mov %rdi, %rax
    mov %rdx, %rdi
    mov %rcx, %rsi
    xor %ebp, %ebp
    jmp *%rax
    .size ldso_enter, . - ldso_enter
