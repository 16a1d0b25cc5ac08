// Entry of the arm64 phys programs (the boot shim and poweroff.bin): the arm64 Linux `Image`
// header QEMU's -kernel loader (and any Linux boot loader) understands, then the code that
// gets from "loaded somewhere with x0 = devicetree" to phys_main() in C.
//
// Image header (Linux Documentation/arch/arm64/booting.rst), at byte 0 of the file:
//
//     0x00 code0        b phys_entry
//     0x04 code1        0
//     0x08 text_offset  0         (load at a 2 MiB-aligned base + 0)
//     0x10 image_size   _end      (code + data + bss + stack; the appended ZBI is not counted)
//     0x18 flags        LE, 4 KiB pages, may be placed anywhere in RAM
//     0x20 res2-res4    0
//     0x38 magic        "ARM\x64"
//     0x3c res5         0         (no PE/COFF header: this is not an EFI application)
//
// phys_entry: mask interrupts, leave EL2 if started there, MMU and caches off at EL1, clear bss,
// take the stack from bss, relocate (static PIE linked at 0, see phys.ld), install the
// exception vectors (vectors.S), call phys_main(dtb, image base). x19 = dtb, x20 = base.

#include <arch/arm64/asm.h>

// flags: bit 0 = 0 little-endian; bits 2:1 = 1 (4 KiB pages); bit 3 = 1 (anywhere in RAM).
#define IMAGE_FLAGS ((1 << 1) | (1 << 3))

.section .text.boot.image_header, "ax"
.globl _start
_start:
    b phys_entry
    .long 0
    .quad 0
    .quad __phys_image_size
    .quad IMAGE_FLAGS
    .quad 0, 0, 0
    .ascii "ARM\x64"
    .long 0

phys_entry:
    mov x19, x0
    msr daifset, #0xf
    arm64_drop_to_el1 x9
    arm64_el1_mmu_off x9

    adr x20, _start
    arm64_zero_range __bss_start, __bss_end, x9, x10
    adr_l x9, __stack_top
    mov sp, x9
    arm64_apply_relocs x20, x9, x10, x11, x12, x13

    adr_l x9, phys_vectors
    msr vbar_el1, x9
    isb

    mov x0, x19
    mov x1, x20
    bl phys_main
.Lhalt:
    wfi
    b .Lhalt

// phys_boot_kernel(entry, data_zbi): enter a ZBI kernel per the arm64 boot protocol. We run at
// EL1 with the MMU and caches off (phys_entry made it so), so memory already holds what we
// wrote; the I-cache may still hold stale lines from before phys_entry, so invalidate it.
.text
.globl phys_boot_kernel
phys_boot_kernel:
    mov x9, x0
    mov x0, x1
    dsb sy
    ic iallu
    dsb sy
    isb
    br x9
