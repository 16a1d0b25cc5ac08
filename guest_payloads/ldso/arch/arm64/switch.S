// ld.so's stack switches, arm64 (declared in ldso/ldso.c; x86_64/switch.S says what each
// does). The frame pointer and link register start at zero, as at thread start.
    .text
    .globl ldso_switch
    .hidden ldso_switch
    .type ldso_switch, %function
    .p2align 2
ldso_switch:
    mov sp, x1
    mov x29, xzr
    mov x30, xzr
    blr x0
    brk #0
    .size ldso_switch, . - ldso_switch

    .globl ldso_enter
    .hidden ldso_enter
    .type ldso_enter, %function
    .p2align 2
ldso_enter:
    mov sp, x1
    mov x16, x0
    mov x0, x2
    mov x1, x3
    mov x29, xzr
    mov x30, xzr
    br x16
    .size ldso_enter, . - ldso_enter
