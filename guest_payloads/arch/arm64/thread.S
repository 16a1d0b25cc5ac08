// arm64 kernel thread context switch (include/kernel/arch.h arch_context_switch).
//
// arm64_context_switch(uintptr_t *from_sp, uintptr_t to_sp): pushes the AAPCS64
// callee-saved registers x19-x30 on the current stack, stores sp in *from_sp, loads to_sp and
// pops the same frame from there; `ret` (x30) then resumes the other thread. Switch frame,
// lowest address first (exception.c builds one for a new thread):
//   x19 x20 x21 x22 x23 x24 x25 x26 x27 x28 x29 x30
// No FP/SIMD state: the kernel is built with -mgeneral-regs-only.

#define SWITCH_FRAME_SIZE (12 * 8)

.section .text.arm64_context_switch, "ax"
.globl arm64_context_switch
arm64_context_switch:
    sub sp, sp, #SWITCH_FRAME_SIZE
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    mov x9, sp
    str x9, [x0]
    mov sp, x1
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    add sp, sp, #SWITCH_FRAME_SIZE
    ret
