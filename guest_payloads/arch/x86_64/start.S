// x86-64 kernel entry (ZBI boot protocol, reference 6.3).
//
// The loader put the container header at 0x100000 and the KERNEL_X64 item header after it,
// so this file's zbi_kernel_t lands at 0x100040 (kernel.ld links it there). It jumps to
// `entry` in 64-bit mode on an identity mapping with %rsi = the data ZBI's physical address.
// Here: take a stack from bss, load our own GDT (gdt.h), zero bss, install our own page tables,
// call kernel_main(zbi).

#include <arch/x86_64/gdt.h>

// zbi_kernel_t: the first 16 bytes of kernel.bin (kernel/pmm.c finds the image by it).
.section .boot.header, "a"
.globl __zbi_kernel
__zbi_kernel:
.quad _start                 // entry: absolute physical address
.quad __kernel_reserve_size  // reserve_memory_size: bss (stack, page tables) past the image

.section .text.boot, "ax"
.code64
.global _start
_start:
    cli
    cld
    mov %rsi, %r12           // the data ZBI, kept in a callee-saved register
    lea boot_stack_top(%rip), %rsp  // the loader's %rsp is unspecified: use ours at once
    xor %ebp, %ebp

    lgdt gdt_pointer(%rip)
    pushq $X86_KERNEL_CS
    lea 1f(%rip), %rax
    pushq %rax
    lretq                    // reload %cs from our GDT
1:
    mov $X86_KERNEL_DS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs

    lea __bss_start(%rip), %rdi
    lea _end(%rip), %rcx
    sub %rdi, %rcx
    xor %eax, %eax
    rep stosb                // the stack is in bss too, but holds nothing live here

    call x86_mmu_init
    mov %r12, %rdi
    call kernel_main
2:
    cli
    hlt
    jmp 2b

// Writable: arch_init fills in the TSS descriptor and `ltr` marks it busy.
.section .data.gdt, "aw"
.balign 16
.globl x86_gdt
x86_gdt:
gdt:
    .quad 0                   // null
    .quad 0x00af9a000000ffff  // X86_KERNEL_CS: 64-bit code, DPL 0
    .quad 0x00cf92000000ffff  // X86_KERNEL_DS: data, DPL 0
    .quad 0x00cffa000000ffff  // X86_USER_CS32: 32-bit code, DPL 3 (sysret's base only)
    .quad 0x00cff2000000ffff  // X86_USER_DS: data, DPL 3
    .quad 0x00affa000000ffff  // X86_USER_CS: 64-bit code, DPL 3
    .quad 0, 0                // X86_TSS_SEL: filled in by arch_init
gdt_end:
gdt_pointer:
    .word gdt_end - gdt - 1
    .quad gdt

.section .bss.boot_stack, "aw", @nobits
.balign 16
boot_stack:
    .skip 16384
boot_stack_top:
