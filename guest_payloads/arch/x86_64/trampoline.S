// x86-64 application-processor trampoline (arch/x86_64/include/arch/x86_64/smp.h).
//
// Assembled here, run as a copy at X86_TRAMPOLINE_PADDR: every address it uses is that page
// plus a label's offset. The SIPI starts the CPU in real mode at CS:IP = vector<<8 : 0.
//
//   real mode:      lgdt (flat 32-bit code/data, 64-bit code), CR0.PE -> 32-bit
//   protected mode: CR4.PAE, CR3 = boot_pml4, EFER.LME|NXE|SCE, CR0.PG -> long mode
//   long mode:      load the parameters into registers and jump to x86_secondary_start
//                   (kernel text through boot_pml4's image window)

#include <arch/x86_64/smp.h>

#define TP(label) (X86_TRAMPOLINE_PADDR + ((label) - x86_trampoline_start))
#define PARAM(off) (X86_TRAMPOLINE_PADDR + X86_TRAMPOLINE_PARAMS + (off))

#define TR_CODE32 0x08
#define TR_DATA 0x10
#define TR_CODE64 0x18
#define CR0_PE 0x1
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_SCE_LME_NXE 0x901

.section .rodata.x86_trampoline, "a"
.balign 16
.globl x86_trampoline_start
x86_trampoline_start:
.code16
    cli
    cld
    xor %ax, %ax
    mov %ax, %ds
    lgdtl TP(tr_gdt_pointer)
    mov %cr0, %eax
    or $CR0_PE, %eax
    mov %eax, %cr0
    ljmpl $TR_CODE32, $TP(tr_protected)

.code32
tr_protected:
    mov $TR_DATA, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov PARAM(X86_TP_BOOT_CR3), %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_SCE_LME_NXE, %eax
    wrmsr
    mov %cr0, %eax
    or $CR0_PG, %eax
    mov %eax, %cr0
    ljmpl $TR_CODE64, $TP(tr_long)

.code64
tr_long:
    mov PARAM(X86_TP_KERNEL_CR3), %rdx
    mov PARAM(X86_TP_STACK), %rsi
    mov PARAM(X86_TP_PERCPU), %rdi
    mov PARAM(X86_TP_ENTRY), %rax
    jmp *%rax

.balign 8
tr_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff  // TR_CODE32: 32-bit code, flat
    .quad 0x00cf92000000ffff  // TR_DATA: data, flat
    .quad 0x00af9a000000ffff  // TR_CODE64: 64-bit code
tr_gdt_end:
tr_gdt_pointer:
    .word tr_gdt_end - tr_gdt - 1
    .long TP(tr_gdt)
.globl x86_trampoline_end
x86_trampoline_end:
