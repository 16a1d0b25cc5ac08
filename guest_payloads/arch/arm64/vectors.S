// The kernel's exception vectors (VBAR_EL1, installed by arch_init in exception.c).
//
// Every one of the 16 slots saves the full register state as a struct arm64_iframe
// (arch/arm64/include/arch/arm64/exception.h) on the current stack and calls
// arm64_exception(frame, slot); when that returns (an IRQ was handled) the state is put back
// and the slot returns with eret. Which slots may return is the C handler's business: today
// only "current EL with SPx, IRQ"; the rest panic.
//
// Frame, lowest address first: x0 x1 ... x29 | x30 sp(before the exception) | elr spsr
// For the lower-EL slots (8-15: taken from EL0) `sp` is SP_EL0, the user stack pointer, and
// it is written back to SP_EL0 on the way out (the handler may have changed it); the
// exception itself runs on SP_EL1, the thread's kernel stack.
//
// Kernel stack overflow: the slots taken from EL1 (4-7, "current EL with SPx") first check that
// the sp they are about to store the frame at is still inside a kernel stack. Every EL1 stack
// (<kernel/kstack.h>: thread stacks and the boot stack) is the upper half of a 32 KiB aligned
// slot whose lower half is its unmapped guard, so bit KSTACK_GUARD_BIT is 1 in every stack
// address and 0 just below. No register is free yet, so x0 is parked in sp for the test (the
// Linux VMAP_STACK trick). An sp in a guard goes to arm64_kstack_overflow on the per-CPU
// emergency stack (struct percpu's arch.emergency_sp, through TPIDR_EL1), which panics naming
// the thread (exception.c).
//
// arm64_enter_user(entry, sp, arg1, arg2): eret to EL0t at entry with SP_EL0 = sp, x0/x1 =
// arg1/arg2, every other register zero and interrupts unmasked (SPSR_EL1 = 0).

#include <arch/arch_percpu.h>
#include <arch/arm64/exception.h>
#include <kernel/kstack.h>

.macro arm64_vector_slot slot
    .balign 0x80
    sub sp, sp, #ARM64_IFRAME_SIZE
    stp x0, x1, [sp, #0]
    mov x0, #\slot
    b arm64_exception_common
.endm

// A current-EL-with-SPx slot: the same, once the new sp is known to be inside a stack.
.macro arm64_vector_slot_el1 slot
    .balign 0x80
    sub sp, sp, #ARM64_IFRAME_SIZE
    add sp, sp, x0              // sp = new sp + x0
    sub x0, sp, x0              // x0 = new sp
    tbz x0, #KSTACK_GUARD_BIT, arm64_kstack_overflow_entry
    sub x0, sp, x0              // x0 = x0 again
    sub sp, sp, x0              // sp = new sp
    stp x0, x1, [sp, #0]
    mov x0, #\slot
    b arm64_exception_common
.endm

.pushsection .text.vectors, "ax"
.balign 2048
.globl arm64_vectors
arm64_vectors:
.irp slot, 0, 1, 2, 3
    arm64_vector_slot \slot
.endr
.irp slot, 4, 5, 6, 7
    arm64_vector_slot_el1 \slot
.endr
.irp slot, 8, 9, 10, 11, 12, 13, 14, 15
    arm64_vector_slot \slot
.endr

// x0 = the sp the frame would have been stored at (in a guard); x0's old value is lost.
arm64_kstack_overflow_entry:
    mrs x1, tpidr_el1           // this CPU's struct percpu
    ldr x1, [x1, #ARM64_PERCPU_EMERGENCY_SP]
    mov sp, x1
    mov x29, xzr
    bl arm64_kstack_overflow    // panics, never returns
1:  wfi
    b 1b

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
    mov x19, x0                 // the slot, kept across the call (x19 is saved above)
    cmp x0, #ARM64_SLOT_LOWER_FIRST
    b.hs 1f
    add x1, sp, #ARM64_IFRAME_SIZE
    b 2f
1:  mrs x1, sp_el0
    mrs x2, tpidr_el1           // from EL0: SP_EL0 becomes the running thread (arch_percpu.h)
    ldr x2, [x2, #ARM64_PERCPU_CURRENT]
    msr sp_el0, x2
2:  stp x30, x1, [sp, #240]
    mrs x1, elr_el1
    mrs x2, spsr_el1
    stp x1, x2, [sp, #256]
    mov x1, x0
    mov x0, sp
    bl arm64_exception
    cmp x19, #ARM64_SLOT_LOWER_FIRST
    b.lo 3f
    ldr x1, [sp, #248]
    msr sp_el0, x1
3:  ldp x1, x2, [sp, #256]
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

.globl arm64_enter_user
arm64_enter_user:
    msr daifset, #0xf
    msr elr_el1, x0
    msr sp_el0, x1
    msr spsr_el1, xzr
    mov x0, x2
    mov x1, x3
    .irp r, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16
    mov x\r, xzr
    .endr
    .irp r, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30
    mov x\r, xzr
    .endr
    eret
.popsection
