// x86-64 user copies (include/kernel/arch.h arch_copy_from_user / arch_copy_to_user).
//
// Plain loads and stores through the running address space: the user range holds only user
// pages, and CR0.WP makes a store to a read-only user page fault as ring 3's would (SMAP is
// off). Eight bytes a step, then the tail byte by byte. `*resume` holds the failure exit
// while the copy runs: a page fault the kernel takes at a user address with it set goes to
// usercopy_fault (kernel/usercopy.c), which either resolves the fault (the access is retried)
// or resumes at that exit, which returns 1. Registers are as at the fault there (the
// exception frame put them back), so %rcx still points at the slot to clear.
//
// With SMAP on (x86_smap_enabled, arch.c), the copy opens user access with stac and closes it
// with clac on both exits; an interrupt inside it runs with AC clear (exceptions.S) and iretq
// puts the copy's AC back.
//
// uint64_t arch_copy_from_user(void *dst, const void *usrc, size_t n, uintptr_t *resume)
// uint64_t arch_copy_to_user(void *udst, const void *src, size_t n, uintptr_t *resume)
// (one routine: the direction makes no difference here)

.section .text.usercopy, "ax"
.code64

.macro user_access insn
    cmpb $0, x86_smap_enabled(%rip)
    je 9f
    \insn
9:
.endm

.globl arch_copy_from_user
.globl arch_copy_to_user
arch_copy_from_user:
arch_copy_to_user:
    lea .Lfault(%rip), %rax
    mov %rax, (%rcx)
    user_access stac
    mov %rdx, %r8
    shr $3, %r8
    jz 2f
1:  mov (%rsi), %rax
    mov %rax, (%rdi)
    add $8, %rsi
    add $8, %rdi
    dec %r8
    jnz 1b
2:  and $7, %edx
    jz 4f
3:  movb (%rsi), %al
    movb %al, (%rdi)
    inc %rsi
    inc %rdi
    dec %edx
    jnz 3b
4:  user_access clac
    movq $0, (%rcx)
    xor %eax, %eax
    ret
.Lfault:
    user_access clac
    movq $0, (%rcx)
    mov $1, %eax
    ret
