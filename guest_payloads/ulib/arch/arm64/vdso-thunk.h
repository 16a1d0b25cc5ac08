// VDSO_THUNK name, offset: the absolute symbol __zhb_vdso_off_<name> = offset (see
// ZHB_VDSO_OFFSET in <zhb/runtime.h>) and a global function `name` that tail-jumps to the
// vDSO the program was started with (__zhb_vdso_base, set by crt.c) plus `offset`, the
// entry point's value in vdso.so. The generated vdso-thunks.S has one line per exported
// zx_* (tools/vdso_syms.py).
// x16/x17 are the intra-procedure-call scratch registers; the arguments are untouched.
.macro VDSO_THUNK name, offset
    .globl __zhb_vdso_off_\name
    .set __zhb_vdso_off_\name, \offset
    .section .text.\name, "ax", %progbits
    .globl \name
    .type \name, %function
    .p2align 2
\name:
    adrp x16, __zhb_vdso_base
    ldr x16, [x16, :lo12:__zhb_vdso_base]
    ldr x17, =\offset
    add x16, x16, x17
    br x16
    .ltorg
    .size \name, . - \name
.endm
