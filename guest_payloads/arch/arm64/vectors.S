// The kernel's exception vectors (VBAR_EL1, installed by arch_init in exception.c).
//
// Every one of the 16 slots saves the full register state as a struct arm64_iframe
// (arch/arm64/include/arch/arm64/exception.h) on the current stack and calls
// arm64_exception(frame, slot); when that returns (an IRQ was handled) the state is put back
// and the slot returns with eret. Which slots may return is the C handler's business: today
// only "current EL with SPx, IRQ"; the rest panic.
//
// Frame, lowest address first: x0 x1 ... x29 | x30 sp(before the exception) | elr spsr

#include <arch/arm64/exception.h>

.macro arm64_vector_slot slot
    .balign 0x80
    sub sp, sp, #ARM64_IFRAME_SIZE
    stp x0, x1, [sp, #0]
    mov x0, #\slot
    b arm64_exception_common
.endm

.pushsection .text.vectors, "ax"
.balign 2048
.globl arm64_vectors
arm64_vectors:
.irp slot, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    arm64_vector_slot \slot
.endr

// x0 = slot; x0/x1 of the interrupted code are already in the frame.
arm64_exception_common:
    stp x2, x3, [sp, #16]
    stp x4, x5, [sp, #32]
    stp x6, x7, [sp, #48]
    stp x8, x9, [sp, #64]
    stp x10, x11, [sp, #80]
    stp x12, x13, [sp, #96]
    stp x14, x15, [sp, #112]
    stp x16, x17, [sp, #128]
    stp x18, x19, [sp, #144]
    stp x20, x21, [sp, #160]
    stp x22, x23, [sp, #176]
    stp x24, x25, [sp, #192]
    stp x26, x27, [sp, #208]
    stp x28, x29, [sp, #224]
    add x1, sp, #ARM64_IFRAME_SIZE
    stp x30, x1, [sp, #240]
    mrs x1, elr_el1
    mrs x2, spsr_el1
    stp x1, x2, [sp, #256]
    mov x1, x0
    mov x0, sp
    bl arm64_exception
    ldp x1, x2, [sp, #256]
    msr elr_el1, x1
    msr spsr_el1, x2
    ldp x0, x1, [sp, #0]
    ldp x2, x3, [sp, #16]
    ldp x4, x5, [sp, #32]
    ldp x6, x7, [sp, #48]
    ldp x8, x9, [sp, #64]
    ldp x10, x11, [sp, #80]
    ldp x12, x13, [sp, #96]
    ldp x14, x15, [sp, #112]
    ldp x16, x17, [sp, #128]
    ldp x18, x19, [sp, #144]
    ldp x20, x21, [sp, #160]
    ldp x22, x23, [sp, #176]
    ldp x24, x25, [sp, #192]
    ldp x26, x27, [sp, #208]
    ldp x28, x29, [sp, #224]
    ldr x30, [sp, #240]
    add sp, sp, #ARM64_IFRAME_SIZE
    eret
.popsection
