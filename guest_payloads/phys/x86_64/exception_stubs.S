// Exception entry of the x86-64 boot shim (shim.elf only; the tables are in exceptions.c).
//
// One stub per CPU exception vector (0-31). Each runs on the IST1 stack of the shim's TSS, so
// it works whatever %rsp is: the kernel is entered with %rsp = 0 (arch::ZbiBootRaw), and a
// fault before it sets up a stack of its own must still end in a console line, not a triple
// fault. The stub pushes a zero error code where the CPU pushes none, then the vector, and
// calls phys_exception(vector, error code, &frame) with frame = the CPU's RIP, CS, RFLAGS,
// RSP, SS.

// Vectors that push an error code: #DF 8, #TS 10, #NP 11, #SS 12, #GP 13, #PF 14, #AC 17,
// #CP 21, #VC 29, #SX 30.
#define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || \
                           (v) == 29 || (v) == 30)

.macro exception_stub vector
    .balign 16
    .if !HAS_ERROR_CODE(\vector)
    push $0
    .endif
    push $\vector
    jmp exception_common
.endm

.section .text, "ax"
.code64
.global phys_exception_stubs
.balign 16
phys_exception_stubs:
.irp v, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, \
       24, 25, 26, 27, 28, 29, 30, 31
    exception_stub \v
.endr

exception_common:
    cld
    pop %rdi                 // vector
    pop %rsi                 // error code
    mov %rsp, %rdx           // the CPU's frame: RIP, CS, RFLAGS, RSP, SS
    and $-16, %rsp
    call phys_exception
1:
    cli
    hlt
    jmp 1b
