// arm64 kernel entry: the first bytes of kernel.bin (the KERNEL_ARM64 item's payload).
//
// Boot protocol (zircon-reference 6.3): the loader put the container header, the kernel item
// header and this payload contiguously at a page-aligned physical address, and jumps to
// `entry` bytes past that container header at EL1 (or EL2), MMU and caches off, with x0 = the
// physical address of the data ZBI. Image layout (link addresses == offsets from the
// container header, see kernel.ld):
//
//     0x00  container header   (written by the ZBI builder, not part of kernel.bin)
//     0x20  KERNEL_ARM64 item header
//     0x40  zbi_kernel_t { entry = _start, reserve_memory_size = bss + stack }
//     0x50  _start, then text, rodata, relocations, data          <- end of kernel.bin
//           bss, boot stack                                      <- reserve_memory_size
//
// The kernel is a static PIE linked at 0: _start leaves EL2 if started there, turns the MMU
// and caches off, finds where it runs, clears bss, takes the boot stack and turns the MMU on
// (arm64_mmu_early_init: the physmap in TTBR1, the same tables in TTBR0 for now). It then
// moves into the upper half: PC, SP and its base all get ARCH_PHYSMAP_BASE added, and it
// applies its own R_AARCH64_RELATIVE relocations for that base, so every pointer from here
// on is a physmap address (README "Address-space map"). kernel_main(zbi) follows, whose
// first act (arch_init) installs the exception vectors (vectors.S) and drops the identity
// view from TTBR0. Its code only uses PC-relative addressing before the relocations. The
// load address must be a multiple of 32 KiB (adrp needs 4 KiB; the boot stack must be a
// 32 KiB aligned kernel-stack slot for the vectors' overflow check, which arch_init checks);
// the shim uses 64 KiB.

#include <arch/arm64/asm.h>
#include <arch/arm64/smp.h>
#include <arch/kernel-layout.h>

// Offset of kernel.bin inside the loaded image: the container and kernel item headers.
#define KERNEL_PAYLOAD_OFFSET 64

.section .text.boot.zbi_kernel, "ax"

// zbi_kernel_t. entry is fixed at assembly time (same section); the reserve size is an
// absolute symbol computed by kernel.ld, so neither needs a run-time relocation.
.globl __zbi_kernel
__zbi_kernel:
    .quad _start - __zbi_kernel + KERNEL_PAYLOAD_OFFSET
    .quad __kernel_reserve_size

// x0 = data ZBI physical address. x19 keeps it, x20 holds the run-time address of link
// address 0 (the container header in front of this kernel): physical, then in the physmap.
.globl _start
_start:
    mov x19, x0
    msr daifset, #0xf
    arm64_drop_to_el1 x9
    arm64_el1_mmu_off x9

    adr x20, __zbi_kernel
    sub x20, x20, #KERNEL_PAYLOAD_OFFSET

    arm64_zero_range __bss_start, __bss_end, x9, x10
    adr_l x9, __stack_top
    mov sp, x9
    msr sp_el0, xzr             // no thread yet (arch_thread_current)
    bl arm64_mmu_early_init

    // Into the physmap: the same bytes, ARCH_PHYSMAP_BASE higher.
    ldr x21, =ARCH_PHYSMAP_BASE
    add x20, x20, x21
    mov x9, sp
    add sp, x9, x21
    adr x9, .Lhigh
    add x9, x9, x21
    br x9
.Lhigh:
    arm64_apply_relocs x20, x9, x10, x11, x12, x13

    mov x0, x19
    bl kernel_main
.Lhalt:
    wfi
    b .Lhalt

// Secondary CPUs (arch/arm64/include/arch/arm64/smp.h): x0 = the boot block's physical address.
.globl arm64_secondary_start
arm64_secondary_start:
    mov x19, x0
    msr daifset, #0xf
    arm64_drop_to_el1 x9
    arm64_el1_mmu_off x9
    ldr x9, [x19, #ARM64_SB_MAIR]
    msr mair_el1, x9
    ldr x9, [x19, #ARM64_SB_TCR]
    msr tcr_el1, x9
    ldr x9, [x19, #ARM64_SB_TTBR0_BOOT]
    msr ttbr0_el1, x9
    ldr x9, [x19, #ARM64_SB_TTBR1]
    msr ttbr1_el1, x9
    isb
    tlbi vmalle1
    dsb nsh
    isb
    ldr x9, [x19, #ARM64_SB_SCTLR]
    ldr x10, [x19, #ARM64_SB_HIGH_ENTRY]
    ldr x11, [x19, #ARM64_SB_STACK]
    ldr x12, [x19, #ARM64_SB_PERCPU]
    ldr x13, [x19, #ARM64_SB_TTBR0]
    msr sctlr_el1, x9
    isb
    br x10

// Now at the physmap address (TTBR1).
arm64_secondary_high:
    mov sp, x11
    msr sp_el0, xzr             // arch_percpu_install sets its idle thread
    mov x29, xzr
    msr ttbr0_el1, x13
    isb
    tlbi vmalle1
    dsb nsh
    isb
    mov x0, x12
    bl arm64_secondary_main
1:  wfi
    b 1b

.globl arm64_secondary_high_entry
.set arm64_secondary_high_entry, arm64_secondary_high
