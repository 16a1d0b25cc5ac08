// arm64 secondary-CPU start (arch/arm64/start.S arm64_secondary_start, exception.c), used by
// platform/qemu-virt/smp.c.
//
// PSCI CPU_ON enters arm64_secondary_start at its physical address, MMU off, x0 = the physical
// address of a struct arm64_secondary_boot. The CPU leaves EL2 if it is there, loads the boot
// CPU's MAIR/TCR, TTBR1 (the kernel's tables) and TTBR0 = the boot tables (arch/arm64/mmu.c:
// physical memory 1:1, so the MMU can come on under the running code), enables the MMU, jumps
// to its physmap address, takes its stack and the kernel's empty TTBR0, and calls
// arm64_secondary_main(percpu).
#pragma once

// Byte offsets in struct arm64_secondary_boot, for start.S.
#define ARM64_SB_MAIR 0
#define ARM64_SB_TCR 8
#define ARM64_SB_TTBR0_BOOT 16
#define ARM64_SB_TTBR1 24
#define ARM64_SB_SCTLR 32
#define ARM64_SB_HIGH_ENTRY 40
#define ARM64_SB_STACK 48
#define ARM64_SB_PERCPU 56
#define ARM64_SB_TTBR0 64

#ifndef __ASSEMBLER__
#include <stdint.h>

struct arm64_secondary_boot {
    uint64_t mair, tcr, ttbr0_boot, ttbr1, sctlr;
    uint64_t high_entry;  // arm64_secondary_high, a physmap address
    uint64_t stack;       // the CPU's first stack top
    uint64_t percpu;      // its struct percpu
    uint64_t ttbr0;       // the kernel's TTBR0 (no user mappings)
};
_Static_assert(__builtin_offsetof(struct arm64_secondary_boot, ttbr0) == ARM64_SB_TTBR0, "");

struct percpu;

// Fills the boot block for starting `c` on `stack_top`; returns the physical entry address
// for PSCI CPU_ON and stores the block's physical address (its context id) in *context.
uintptr_t arm64_secondary_prepare(struct percpu *c, uintptr_t stack_top, uint64_t *context);

// The boot tables' physical address (arch/arm64/mmu.c).
uintptr_t arm64_mmu_boot_root(void);
#endif
