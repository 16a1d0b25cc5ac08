// The arm64 kernel's translation set-up (arch/arm64/mmu.c).
#pragma once

// Builds the kernel's tables and turns the MMU and caches on with the physmap in TTBR1 and,
// for the jump there, the same tables in TTBR0. Called once by start.S with the MMU off,
// before relocation, at the physical load address.
void arm64_mmu_early_init(void);
// Replaces the boot-time identity view in TTBR0 by the empty user tables. Called once by
// arch_init, running in the physmap.
void arm64_mmu_drop_identity(void);
