// arm64 user copies (include/kernel/arch.h arch_copy_from_user / arch_copy_to_user).
//
// The user side is reached only with the unprivileged ldtr/sttr forms, which EL1 executes
// with EL0's permissions: a read-only or kernel-only page faults as it would for the user.
// Eight bytes a step, then the tail byte by byte (SCTLR_EL1.A is clear: unaligned is fine).
// `*resume` (x3) holds the failure exit while the copy runs: a data abort the kernel takes
// at a user address with it set goes to usercopy_fault (kernel/usercopy.c), which either
// resolves the fault (the access is retried) or resumes at that exit, which returns 1 with
// the registers as at the fault.
//
// uint64_t arch_copy_from_user(void *dst, const void *usrc, size_t n, uintptr_t *resume)
// uint64_t arch_copy_to_user(void *udst, const void *src, size_t n, uintptr_t *resume)

.section .text.usercopy, "ax"

.globl arch_copy_from_user
arch_copy_from_user:
    adr x4, .Lfault_from
    str x4, [x3]
    lsr x5, x2, #3
    cbz x5, 2f
1:  ldtr x6, [x1]
    str x6, [x0], #8
    add x1, x1, #8
    subs x5, x5, #1
    b.ne 1b
2:  ands x2, x2, #7
    b.eq 4f
3:  ldtrb w6, [x1]
    strb w6, [x0], #1
    add x1, x1, #1
    subs x2, x2, #1
    b.ne 3b
4:  str xzr, [x3]
    mov x0, #0
    ret
.Lfault_from:
    str xzr, [x3]
    mov x0, #1
    ret

.globl arch_copy_to_user
arch_copy_to_user:
    adr x4, .Lfault_to
    str x4, [x3]
    lsr x5, x2, #3
    cbz x5, 2f
1:  ldr x6, [x1], #8
    sttr x6, [x0]
    add x0, x0, #8
    subs x5, x5, #1
    b.ne 1b
2:  ands x2, x2, #7
    b.eq 4f
3:  ldrb w6, [x1], #1
    sttrb w6, [x0]
    add x0, x0, #1
    subs x2, x2, #1
    b.ne 3b
4:  str xzr, [x3]
    mov x0, #0
    ret
.Lfault_to:
    str xzr, [x3]
    mov x0, #1
    ret
