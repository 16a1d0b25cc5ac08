// Kernel stacks with guard pages (kernel/vm/kstack.c; README "Address-space map").
//
// Every kernel thread's stack lives in its own slot of a dedicated region of the kernel half,
// [ARCH_KSTACK_BASE, + ARCH_KSTACK_REGION_SIZE) from <arch/kernel-layout.h> (outside the
// physmap, present in every address space):
//
//   slot i = ARCH_KSTACK_BASE + i * KSTACK_SLOT_SIZE
//   +0                 guard: KSTACK_GUARD_SIZE, never mapped
//   +KSTACK_GUARD_SIZE stack: KSTACK_SIZE of 4 KiB pmm pages, mapped R W (never executable)
//   +KSTACK_SLOT_SIZE  the next slot's guard: the guard above this stack
//
// So a thread running off the bottom of its stack faults on an unmapped page, whichever
// page of the 16 KiB below it it touches first; the fault is taken on another stack (x86-64:
// #PF and #DF have IST stacks; arm64: the EL1 vectors check sp first) and panics with
//   ZIRCON KERNEL PANIC: kernel stack overflow in thread NAME (fault address 0x...)
//
// Slots are 32 KiB aligned and a stack is the slot's upper half, so bit KSTACK_GUARD_BIT of
// every stack address is 1 and of every guard address 0: the arm64 vectors test that one
// bit to find an overflowed sp before they store anything. The boot stack the bootstrap
// thread runs on (bss, arch/<arch>: start.S or kernel.ld) has the same shape and alignment,
// with kstack_boot_guard[] below it left unmapped by the arch MMU code.
//
// Freed stacks keep their pages in a small cache (KSTACK_CACHE_MAX) so that creating and
// exiting threads costs no page-table work; beyond it a freed slot is unmapped, its pages go
// back to the pmm and the slot to a free list. All functions mask interrupts internally.
#pragma once

#include <arch/kernel-layout.h>

// Plain numbers: assembly uses them too.
#define KSTACK_SIZE 16384        // == THREAD_STACK_SIZE (checked in kstack.c)
#define KSTACK_GUARD_SIZE 16384  // unmapped below every stack
#define KSTACK_SLOT_SIZE 32768   // guard + stack, 32 KiB aligned
#define KSTACK_GUARD_BIT 14      // 1 in every stack address, 0 in every guard address
#define KSTACK_CACHE_MAX 16      // freed stacks kept mapped for reuse

#ifndef __ASSEMBLER__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zircon/types.h>

// The guard below the boot stack (KSTACK_GUARD_SIZE, 32 KiB aligned; the boot stack is the
// KSTACK_SIZE above it). Defined by arch/<arch> (start.S or kernel.ld); never mapped.
extern char kstack_boot_guard[];

// Returns the base (lowest address) of a fresh KSTACK_SIZE stack for the thread named
// `owner` (kept by pointer, for the overflow panic: it must live until kstack_free), or 0 when
// out of memory or slots.
uintptr_t kstack_alloc(const char *owner);
// Gives back a stack from kstack_alloc. Nothing may run on it any more.
void kstack_free(uintptr_t base);

// If `addr` is inside the guard of a live kernel stack (or of the boot stack), the name of
// the thread that owns the stack above it; else NULL. Safe from any exception handler.
const char *kstack_guard_owner(uintptr_t addr);

// Counters for diagnostics and the self-tests.
struct kstack_stats {
    size_t live;      // stacks handed out and not freed
    size_t cached;    // freed stacks kept mapped
    size_t slots;     // slots ever used (the high-water mark)
    size_t mapped;    // stacks whose pages were mapped fresh (cache misses)
};
struct kstack_stats kstack_stats(void);

// The command-line word kernel.test.stack-overflow: runs a thread named
// KSTACK_TEST_THREAD_NAME that recurses until it overflows its stack (the kernel panics).
#define KSTACK_TEST_THREAD_NAME "stack-overflow-test"
__attribute__((noreturn)) void kstack_test_overflow(void);

// ---- The kernel half's page tables (kernel/vm/pagetable.c) -----------------------------------
// Only the kernel-stack region is mapped this way: its tables down to the last level are
// made at boot by the arch (shared by every address space), so these only fill leaf tables.

// Maps the page `paddr` at `vaddr` (page-aligned, inside the region) kernel-only with
// ARCH_MMU_FLAG_* `flags` (no EXECUTE). ZX_ERR_NO_MEMORY if a leaf table cannot be made.
zx_status_t kernel_vm_map_page(uintptr_t vaddr, uintptr_t paddr, uint32_t flags);
// Unmaps the page at `vaddr` and returns the physical page it mapped (0: none).
uintptr_t kernel_vm_unmap_page(uintptr_t vaddr);

#endif  // __ASSEMBLER__
