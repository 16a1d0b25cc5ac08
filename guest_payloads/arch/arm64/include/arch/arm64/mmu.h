// The arm64 kernel's translation set-up (arch/arm64/mmu.c).
#pragma once

// Turns the MMU and caches on over the kernel's 1:1 map. Called once by arch_init, first
// thing in kernel_main, with the MMU off and interrupts masked.
void arm64_mmu_init(void);
