// The kernel's own early page tables (arch/x86_64/mmu.c).
#pragma once

// Switches to kernel-owned page tables mapping the low 4 GiB 1:1 with 2 MiB pages, so the
// kernel no longer depends on the boot shim's tables (whose memory it does not own). Called
// from start.S before kernel_main, in long mode, with interrupts off.
void x86_mmu_init(void);
