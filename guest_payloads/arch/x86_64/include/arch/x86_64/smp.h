// x86-64 secondary-CPU start (arch/x86_64/trampoline.S, arch.c), used by platform/pc/smp.c.
//
// A started application processor begins in real mode at the SIPI vector's page. The
// trampoline is copied to X86_TRAMPOLINE_PADDR (RAM below 1 MiB that the page allocator never
// hands out, kernel/pmm.c) and takes the CPU through protected mode into long mode on the
// boot page tables (start.S boot_pml4: the low GiB 1:1 and at the image window), then jumps to
// x86_secondary_start in the kernel image, which loads the kernel's page tables and stack and
// calls x86_secondary_main(percpu).
#pragma once

#define X86_TRAMPOLINE_PADDR 0x8000  // page-aligned, below 1 MiB: SIPI vector 0x08

// Parameter block at the end of the trampoline page (byte offsets), filled per start.
#define X86_TRAMPOLINE_PARAMS 0xf00
#define X86_TP_BOOT_CR3 0x00    // boot_pml4's physical address (32-bit reachable)
#define X86_TP_KERNEL_CR3 0x08  // the kernel's page tables
#define X86_TP_STACK 0x10       // the CPU's first stack top (its idle thread's)
#define X86_TP_PERCPU 0x18      // its struct percpu
#define X86_TP_ENTRY 0x20       // x86_secondary_start (image-window address)

#ifndef __ASSEMBLER__
#include <stdint.h>

struct percpu;

// Copies the trampoline and fills its parameters for starting `c` on `stack_top`. Returns
// the SIPI vector (the trampoline's page number).
uint32_t x86_trampoline_prepare(struct percpu *c, uintptr_t stack_top);
#endif
