// Assembler macros shared by every arm64 entry point: the kernel (arch/arm64/start.S) and the
// phys programs (phys/arm64/start.S: the boot shim and poweroff.bin).
//
//   adr_l              PC-relative address of a symbol anywhere within +-4 GiB
//   arm64_drop_to_el1  at EL2: configure EL2 to stay out of the way, eret to EL1h; at EL1: no-op
//   arm64_el1_mmu_off  SCTLR_EL1: MMU, D-cache and I-cache off
//   arm64_apply_relocs apply the R_AARCH64_RELATIVE entries of a static PIE
//   arm64_zero_range   clear [start, end), both 16-byte aligned
//   arm64_vector_table an EL1 exception vector table whose 16 entries all call one C handler
//
// Everything here is position-independent: these programs are static PIEs linked at 0 that run
// wherever they were loaded (see arm64_apply_relocs).
#pragma once

#ifdef __ASSEMBLER__

// ELF relocation type of a static PIE's only dynamic relocations: *(base + off) = base + addend.
#define R_AARCH64_RELATIVE 1027

// SCTLR_EL1 bits we touch, and the RES1 bits of a clean SCTLR_EL1 (bits 29,28,23,22,20,11).
#define SCTLR_M (1 << 0)
#define SCTLR_C (1 << 2)
#define SCTLR_I (1 << 12)
#define SCTLR_EL1_RES1 0x30d00800

// HCR_EL2.RW: EL1 executes in AArch64 state (every other trap/route bit left clear).
#define HCR_EL2_RW (1 << 31)
// CNTHCTL_EL2.EL1PCTEN | EL1PCEN: EL1 may use the physical counter and timer.
#define CNTHCTL_EL2_EL1_ACCESS 3
// CPTR_EL2 with no traps (RES1 bits 13,12,9,7:0 set, TFP/TTA/TCPAC clear).
#define CPTR_EL2_NO_TRAPS 0x33ff
// ICC_SRE_EL2: SRE | DFB | DIB | Enable: GICv3 system registers usable at EL2 and EL1.
#define ICC_SRE_EL2_ALL 0xf
// SPSR for "return to EL1h with D, A, I and F masked".
#define SPSR_EL1H_MASKED 0x3c5

// \reg = address of \sym, computed PC-relatively (adrp + add, range +-4 GiB).
.macro adr_l reg, sym
    adrp \reg, \sym
    add \reg, \reg, :lo12:\sym
.endm

// If running at EL2, leave it: EL1 gets AArch64, the counter/timer, FP/SIMD and (when the CPU
// has a GICv3 CPU interface) the ICC system registers, with no traps into EL2; then eret to
// EL1h with interrupts masked and SCTLR_EL1 at its clean reset value (MMU and caches off).
// At EL1 this does nothing. Clobbers \tmp (a 64-bit register) and, at EL2, the EL2 state.
.macro arm64_drop_to_el1 tmp
    mrs \tmp, CurrentEL
    cmp \tmp, #(2 << 2)
    b.ne .Lat_el1\@
    mov \tmp, #HCR_EL2_RW
    msr hcr_el2, \tmp
    mrs \tmp, cnthctl_el2
    orr \tmp, \tmp, #CNTHCTL_EL2_EL1_ACCESS
    msr cnthctl_el2, \tmp
    msr cntvoff_el2, xzr
    mov \tmp, #CPTR_EL2_NO_TRAPS
    msr cptr_el2, \tmp
    msr hstr_el2, xzr
    msr vttbr_el2, xzr
    mrs \tmp, midr_el1
    msr vpidr_el2, \tmp
    mrs \tmp, mpidr_el1
    msr vmpidr_el2, \tmp
    // ID_AA64PFR0_EL1.GIC (bits 27:24) != 0: GICv3 system register interface present.
    mrs \tmp, id_aa64pfr0_el1
    ubfx \tmp, \tmp, #24, #4
    cbz \tmp, .Lno_gicv3\@
    mrs \tmp, icc_sre_el2
    orr \tmp, \tmp, #ICC_SRE_EL2_ALL
    msr icc_sre_el2, \tmp
    isb
    msr ich_hcr_el2, xzr
.Lno_gicv3\@:
    mov \tmp, #(SCTLR_EL1_RES1 & 0xffff)
    movk \tmp, #(SCTLR_EL1_RES1 >> 16), lsl #16
    msr sctlr_el1, \tmp
    mov \tmp, #SPSR_EL1H_MASKED
    msr spsr_el2, \tmp
    adr \tmp, .Lat_el1\@
    msr elr_el2, \tmp
    eret
.Lat_el1\@:
.endm

// At EL1: turn the MMU and both caches off (physical addressing, everything uncached).
// Clobbers \tmp.
.macro arm64_el1_mmu_off tmp
    mrs \tmp, sctlr_el1
    bic \tmp, \tmp, #SCTLR_M
    bic \tmp, \tmp, #SCTLR_C
    bic \tmp, \tmp, #SCTLR_I
    msr sctlr_el1, \tmp
    isb
.endm

// Applies the static PIE's dynamic relocations, found between the linker-script symbols
// __rela_start and __rela_end (Elf64_Rela: r_offset, r_info, r_addend), for a program whose
// link address 0 is at runtime address \base. Only R_AARCH64_RELATIVE is ever emitted for a
// static PIE; other entries are skipped. Clobbers \cur, \end, \off, \info, \val.
.macro arm64_apply_relocs base, cur, end, off, info, val
    adr_l \cur, __rela_start
    adr_l \end, __rela_end
.Lreloc_next\@:
    cmp \cur, \end
    b.hs .Lreloc_done\@
    ldp \off, \info, [\cur], #16
    ldr \val, [\cur], #8
    cmp \info, #R_AARCH64_RELATIVE
    b.ne .Lreloc_next\@
    add \val, \val, \base
    str \val, [\base, \off]
    b .Lreloc_next\@
.Lreloc_done\@:
.endm

// Clears the memory between the symbols \start_sym and \end_sym (both 16-byte aligned).
// Clobbers \cur and \end.
.macro arm64_zero_range start_sym, end_sym, cur, end
    adr_l \cur, \start_sym
    adr_l \end, \end_sym
.Lzero_next\@:
    cmp \cur, \end
    b.hs .Lzero_done\@
    stp xzr, xzr, [\cur], #16
    b .Lzero_next\@
.Lzero_done\@:
.endm

// An EL1 exception vector table (for VBAR_EL1: 16 slots of 0x80 bytes, 2 KiB aligned) named
// \name, in its own section. Every slot calls \handler(vector index 0-15, ESR_EL1, ELR_EL1,
// FAR_EL1) on the current stack; the handler must not return.
.macro arm64_vector_table name, handler
.pushsection .text.vectors, "ax"
.balign 2048
.globl \name
\name:
.irp vector, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    .balign 0x80
    mov x0, #\vector
    mrs x1, esr_el1
    mrs x2, elr_el1
    mrs x3, far_el1
    b \handler
.endr
.popsection
.endm

#endif  // __ASSEMBLER__
