// The kernel's own early page tables (arch/x86_64/mmu.c).
#pragma once

// Switches to the kernel's own tables (the physmap and the image window in PML4 entry 511,
// nothing in the lower half), so the kernel no longer depends on start.S's boot tables.
// Called from start.S before kernel_main, running at the linked address, interrupts off.
void x86_mmu_init(void);
