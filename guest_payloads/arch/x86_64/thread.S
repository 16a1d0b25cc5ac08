// x86-64 kernel thread context switch (include/kernel/arch.h arch_context_switch).
//
// x86_context_switch(uintptr_t *from_sp, uintptr_t to_sp): pushes the SysV callee-saved
// registers on the current stack, stores %rsp in *from_sp, loads to_sp and pops the same
// frame from there; `ret` then resumes the other thread. Switch frame, lowest address first:
//   r15 r14 r13 r12 rbx rbp | return address        (arch.c builds one for a new thread)

.section .text.x86_context_switch, "ax"
.code64
.globl x86_context_switch
x86_context_switch:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdi)
    mov %rsi, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret
