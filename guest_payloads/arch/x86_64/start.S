// x86-64 kernel entry (ZBI boot protocol, reference 6.3).
//
// The loader put the container header at 0x100000 and the KERNEL_X64 item header after it,
// so this file's zbi_kernel_t lands at physical 0x100040. It jumps to `entry` (physical) in
// 64-bit mode on an identity mapping with %rsi = the data ZBI's physical address. The kernel
// is linked at ARCH_KERNEL_IMAGE_BASE + physical (kernel.ld, <arch/kernel-layout.h>): _start
// runs its first instructions at the physical address (RIP-relative only), loads boot_pml4
// (the low GiB both 1:1 and at the image window), jumps to its linked address, takes a stack
// from bss, loads our own GDT (gdt.h), zeroes bss, installs the kernel's own page tables
// (x86_mmu_init: no lower half any more) and calls kernel_main(zbi).

#include <arch/kernel-layout.h>
#include <arch/x86_64/gdt.h>
#include <kernel/kstack.h>

#define BOOT_PTE_TABLE 0x3        // present, writable
#define BOOT_PTE_LARGE 0x83       // present, writable, 2 MiB page

// kernel.ld links at its own KERNEL_IMAGE_BASE and asserts that it equals this one.
.globl __arch_kernel_image_base
.set __arch_kernel_image_base, ARCH_KERNEL_IMAGE_BASE

// zbi_kernel_t: the first 16 bytes of kernel.bin (kernel/pmm.c finds the image by it).
.section .boot.header, "a"
.globl __zbi_kernel
__zbi_kernel:
.quad _start - ARCH_KERNEL_IMAGE_BASE  // entry: absolute physical address
.quad __kernel_reserve_size  // reserve_memory_size: bss (stack, page tables) past the image

// Loads our GDT and reloads %cs (far return) and the data segments from it. Clobbers %rax.
.macro load_kernel_gdt
    lgdt gdt_pointer(%rip)
    pushq $X86_KERNEL_CS
    lea 1f(%rip), %rax
    pushq %rax
    lretq
1:
    mov $X86_KERNEL_DS, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
.endm

.section .text.boot, "ax"
.code64
.global _start
_start:
    cli
    cld
    mov %rsi, %r12           // the data ZBI, kept in a callee-saved register
    lea boot_pml4(%rip), %rax  // RIP-relative at the physical address: boot_pml4's paddr
    mov %rax, %cr3
    movabs $.Lhigh, %rax
    jmp *%rax
.Lhigh:
    lea boot_stack_top(%rip), %rsp  // the loader's %rsp is unspecified: use ours at once
    xor %ebp, %ebp

    load_kernel_gdt

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

// Secondary CPUs, from the trampoline (trampoline.S) in long mode on boot_pml4 at the image
// window: %rdi = struct percpu, %rsi = stack top, %rdx = the kernel's page tables.
.globl x86_secondary_start
x86_secondary_start:
    mov %rdx, %cr3
    mov %rsi, %rsp
    xor %ebp, %ebp
    load_kernel_gdt
    call x86_secondary_main
2:
    cli
    hlt
    jmp 2b

// Boot page tables, used from _start until x86_mmu_init: physical [0, 1 GiB) in 2 MiB pages,
// both at 0 (so the instruction after the CR3 load is still mapped) and at the image window.
.section .data.boot_tables, "aw"
.balign 4096
.globl boot_pml4
boot_pml4:
    .quad boot_pdpt - ARCH_KERNEL_IMAGE_BASE + BOOT_PTE_TABLE
    .fill 510, 8, 0
    .quad boot_pdpt - ARCH_KERNEL_IMAGE_BASE + BOOT_PTE_TABLE
boot_pdpt:
    .quad boot_pd - ARCH_KERNEL_IMAGE_BASE + BOOT_PTE_TABLE
    .fill 509, 8, 0
    .quad boot_pd - ARCH_KERNEL_IMAGE_BASE + BOOT_PTE_TABLE  // 510: the image window
    .quad 0
boot_pd:
    .set boot_page, 0
    .rept 512
    .quad (boot_page << 21) + BOOT_PTE_LARGE
    .set boot_page, boot_page + 1
    .endr

// The template of every CPU's GDT: arch.c copies it per CPU and fills in that CPU's TSS
// descriptor there (`ltr` marks it busy), so this one's TSS slot stays empty.
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

// The boot stack, shaped like a kernel-stack slot (<kernel/kstack.h>): a 16 KiB guard that
// x86_mmu_init leaves unmapped, then the 16 KiB stack, 32 KiB aligned.
.section .bss.boot_stack, "aw", @nobits
.balign KSTACK_SLOT_SIZE
.globl kstack_boot_guard
kstack_boot_guard:
    .skip KSTACK_GUARD_SIZE
boot_stack:
    .skip KSTACK_SIZE
boot_stack_top:
