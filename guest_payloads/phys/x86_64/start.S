// PVH entry shared by the x86-64 boot programs, and the jump into a ZBI kernel.
//
// QEMU finds phys_start32 through the XEN_ELFNOTE_PHYS32_ENTRY note below and enters it in
// 32-bit protected mode, paging off, flat segments, with %ebx = &hvm_start_info. From there:
//   zero bss -> stack -> page tables: pml4[0] -> pdpt[0..3] -> pd (2048 x 2 MiB = 4 GiB 1:1)
//   -> our GDT -> PAE, CR3, EFER.LME, CR0.PG -> far jump to 64-bit code -> phys_main(%ebx)

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define CODE64_SEL 0x08
#define DATA_SEL 0x10
#define CR0_PE (1 << 0)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define PTE_PRESENT_WRITABLE 0x3
#define PTE_LARGE_PRESENT_WRITABLE 0x83
#define PAGE_SIZE 4096
#define IDENTITY_GIB 4
#define PD_ENTRIES (IDENTITY_GIB * 512)

// The note QEMU reads (name "Xen", type 18, an 8-byte entry address). It must stay 4-byte
// aligned: QEMU aligns the descriptor to the PT_NOTE segment's alignment.
.section .note.Xen, "a", @note
.balign 4
.long 4                  // namesz: "Xen\0"
.long 8                  // descsz
.long XEN_ELFNOTE_PHYS32_ENTRY
.asciz "Xen"
.quad phys_start32

.section .text.boot, "ax"
.code32
.global phys_start32
phys_start32:
    cli
    cld
    // %ebx (start info) is left alone until phys_main; rep stosb uses %edi/%ecx/%eax.
    mov $__bss_start, %edi
    mov $__bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb
    mov $stack_top, %esp

    // Page directories: entry i maps [i * 2 MiB, (i + 1) * 2 MiB); high dwords stay zero.
    xor %ecx, %ecx
1:
    mov %ecx, %eax
    shl $21, %eax
    or $PTE_LARGE_PRESENT_WRITABLE, %eax
    mov %eax, pd(, %ecx, 8)
    inc %ecx
    cmp $PD_ENTRIES, %ecx
    jb 1b
    // pdpt[i] -> the i-th page directory.
    xor %ecx, %ecx
    mov $pd + PTE_PRESENT_WRITABLE, %eax
2:
    mov %eax, pdpt(, %ecx, 8)
    add $PAGE_SIZE, %eax
    inc %ecx
    cmp $IDENTITY_GIB, %ecx
    jb 2b
    movl $pdpt + PTE_PRESENT_WRITABLE, pml4

    lgdt gdt_pointer
    mov %cr4, %eax
    or $CR4_PAE, %eax
    mov %eax, %cr4
    mov $pml4, %eax
    mov %eax, %cr3
    mov $MSR_EFER, %ecx
    rdmsr
    or $EFER_LME, %eax
    wrmsr
    mov %cr0, %eax
    or $(CR0_PG | CR0_PE), %eax
    mov %eax, %cr0
    ljmp $CODE64_SEL, $long_mode

.code64
long_mode:
    mov $DATA_SEL, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    mov $stack_top, %rsp
    xor %ebp, %ebp
    mov %ebx, %edi           // zero-extends: phys_main(uint32_t start_info)
    call phys_main
3:
    cli
    hlt
    jmp 3b

// phys_enter_kernel(entry = %rdi, data_zbi = %rsi): %rsi is already where the kernel wants it.
// The rest of the state follows arch::ZbiBootRaw (Fuchsia, zircon/kernel/lib/arch/x86/include/
// lib/arch/zbi-boot.h): no stack or frame pointer left behind, direction flag clear,
// interrupts off.
.global phys_enter_kernel
phys_enter_kernel:
    cli
    cld
    xor %ebp, %ebp
    xor %esp, %esp
    jmp *%rdi

.section .rodata.gdt, "a"
.balign 8
gdt:
    .quad 0                   // null
    .quad 0x00af9a000000ffff  // CODE64_SEL: 64-bit code, DPL 0
    .quad 0x00cf92000000ffff  // DATA_SEL: flat data, DPL 0
gdt_end:
gdt_pointer:
    .word gdt_end - gdt - 1
    .long gdt                 // 32-bit base: lgdt runs in 32-bit mode

.section .bss.page_tables, "aw", @nobits
.balign PAGE_SIZE
pml4:
    .skip PAGE_SIZE
.global phys_identity_pdpt
phys_identity_pdpt:
pdpt:
    .skip PAGE_SIZE
pd:
    .skip PAGE_SIZE * IDENTITY_GIB

.section .bss.stack, "aw", @nobits
.balign 16
    .skip 16384
stack_top:
