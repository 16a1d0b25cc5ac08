// The arm64 kernel's translation set-up (arch/arm64/mmu.c).
#pragma once

// Builds the kernel's tables and turns the MMU and caches on with the physmap in TTBR1 and,
// for the jump there, the same tables in TTBR0. Called once by start.S with the MMU off,
// before relocation, at the physical load address.
void arm64_mmu_early_init(void);
// Loads the kernel's final tables into TTBR1: the physmap never executable, the image's
// pages by section (text R X, rodata R, data R W). Called once by arch_init, running in the
// physmap, after start.S has applied the relocations.
void arm64_mmu_protect_kernel(void);
// Replaces the boot-time identity view in TTBR0 by the empty user tables. Called once by
// arch_init, running in the physmap.
void arm64_mmu_drop_identity(void);
