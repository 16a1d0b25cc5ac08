// The per-architecture page-table entry hooks behind the generic 4-level walker
// (kernel/vm/pagetable.c). Owner: K3.
//
// Both arches use the same tree shape: 4 KiB pages, 48-bit virtual addresses, four levels of
// 512 eight-byte entries (x86-64 PML4/PDPT/PD/PT, arm64 level 0..3), indexed by address bits
// 47:39, 38:30, 29:21, 20:12. A user root table holds the user half (lower-half entries,
// built from 4 KiB leaf pages only) plus whatever the arch puts in its upper half
// (arch_mmu_user_root_init: x86-64 the kernel's shared entry; arm64 nothing, the kernel is
// in TTBR1). The arch supplies the entry encodings, TLB maintenance and the switch of the
// user tables (arch/x86_64/mmu.c, arch/arm64/mmu.c).
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define MMU_LEVELS 4
#define MMU_ENTRIES 512
#define MMU_PTE_ADDR_MASK 0x0000fffffffff000ull

// Fills the kernel part of a new, zeroed user root table (its upper-half entries).
void arch_mmu_user_root_init(uint64_t *root);
// Physical address of the root table loaded when no user address space is active.
uintptr_t arch_mmu_kernel_root(void);
// Physical address of the root of the kernel's own half (x86-64: the kernel PML4, whose
// entry 511 every address space shares; arm64: TTBR1's level-0 table), for the kernel-stack
// region's leaf tables (kernel_vm_map_page, <kernel/kstack.h>).
uintptr_t arch_mmu_kernel_half_root(void);
// A non-leaf entry pointing at the next-level table at `paddr` (all access allowed; the
// leaf decides).
uint64_t arch_mmu_pte_table(uintptr_t paddr);
// A level-3 (4 KiB) leaf entry for `paddr` with ARCH_MMU_FLAG_* `flags` (W^X checked by the
// caller).
uint64_t arch_mmu_pte_page(uintptr_t paddr, uint32_t flags);
// ARCH_MMU_FLAG_* of a present leaf entry.
uint32_t arch_mmu_pte_flags(uint64_t pte);
static inline bool mmu_pte_present(uint64_t pte) {
    return (pte & 1u) != 0;  // bit 0: x86-64 P, arm64 valid
}
// ARCH_MMU_FLAG_* of the kernel half's translation of `vaddr` in the kernel's own tables,
// from a walk of any page or block size (a bit must be allowed at every level); false if it
// is not mapped. For the W^X self-test of the kernel's mappings.
bool arch_mmu_kernel_query(uintptr_t vaddr, uint32_t *flags);
// Drops any TLB entry for the page at `vaddr` (every address space: one ASID), a user page or
// a page of the kernel-stack region, on every CPU before it returns (arm64: broadcast TLBI;
// x86-64: local invlpg plus a shootdown IPI to the other CPUs, kernel/smp.c).
void arch_mmu_invalidate_page(uintptr_t vaddr);
// Between these two (interrupts masked, no nesting), arch_mmu_invalidate_page only has to act
// on this CPU; batch_end makes every CPU drop what the calls in between dropped, before it
// returns. For loops over many pages; nothing invalidated inside may be freed before the end.
void arch_mmu_batch_begin(void);
void arch_mmu_batch_end(void);
// Drops every TLB entry of this CPU (the shootdown's receiving end).
void arch_mmu_flush_local(void);
// Loads `root` (physical address of a root table) as the current user translation tables.
void arch_mmu_set_root(uintptr_t root);
