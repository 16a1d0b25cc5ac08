// x86-64 page tables: the kernel's 1:1 map and the entry encodings of <kernel/arch_mmu.h>.
//
//   CR3 -> pml4[0] -> pdpt[0..3] -> pd[0..3][0..511] : 2 MiB pages, virtual == physical,
//                                                      [0, 4 GiB), present + writable,
//                                                      supervisor-only;
//                                                      [3 GiB, 4 GiB) also cache-disabled
// The top GiB below 4 GiB is never RAM on a PC (PCI hole: local APIC, IO-APIC, HPET,
// firmware), so it is mapped uncached for the device registers there.
// The boot protocol only promises a mapping of the kernel and the data ZBI; the kernel also
// reads ACPI tables and the BIOS area, so it installs this map of the whole low 4 GiB.
//
// Every user address space copies pml4[0] (the generic walker, kernel/vm/pagetable.c) and
// builds its own tables in pml4[1..255] from 4 KiB pages: intermediate entries P|W|U, leaves
// P|U, W only for writable mappings and NX for every non-executable one (EFER.NXE is set
// here). Without U on pml4[0], nothing of the kernel is reachable from ring 3.
#include <arch/x86_64/mmu.h>

#include <stdint.h>

#include <arch/x86_64/cpu.h>
#include <kernel/arch_mmu.h>
#include <kernel/vm.h>

#define X86_PAGE_SIZE 4096
#define PTE_PRESENT (1ull << 0)
#define PTE_WRITABLE (1ull << 1)
#define PTE_USER (1ull << 2)
#define PTE_PWT (1ull << 3)  // write-through
#define PTE_PCD (1ull << 4)  // cache disable
#define PTE_LARGE (1ull << 7)  // in a page directory: this entry maps a 2 MiB page
#define PTE_NX (1ull << 63)
#define LARGE_PAGE_SIZE (2ull << 20)
#define IDENTITY_GIB 4
#define DEVICE_GIB 3  // GiBs from this one up are mapped uncached
#define MSR_EFER 0xc0000080u
#define EFER_NXE (1ull << 11)

static uint64_t pml4[MMU_ENTRIES] __attribute__((aligned(X86_PAGE_SIZE)));
static uint64_t pdpt[MMU_ENTRIES] __attribute__((aligned(X86_PAGE_SIZE)));
static uint64_t pd[IDENTITY_GIB][MMU_ENTRIES] __attribute__((aligned(X86_PAGE_SIZE)));

void x86_mmu_init(void) {
    for (int g = 0; g < IDENTITY_GIB; g++) {
        for (int i = 0; i < MMU_ENTRIES; i++) {
            uint64_t paddr = ((uint64_t)g * MMU_ENTRIES + (uint64_t)i) * LARGE_PAGE_SIZE;
            uint64_t cache = g >= DEVICE_GIB ? PTE_PCD | PTE_PWT : 0;
            pd[g][i] = paddr | PTE_PRESENT | PTE_WRITABLE | PTE_LARGE | cache;
        }
        pdpt[g] = (uint64_t)(uintptr_t)pd[g] | PTE_PRESENT | PTE_WRITABLE;
    }
    pml4[0] = (uint64_t)(uintptr_t)pdpt | PTE_PRESENT | PTE_WRITABLE;
    x86_wrmsr(MSR_EFER, x86_rdmsr(MSR_EFER) | EFER_NXE);
    arch_mmu_set_root((uintptr_t)pml4);
}

uint64_t arch_mmu_kernel_root_entry(void) {
    return pml4[0];
}

uintptr_t arch_mmu_kernel_root(void) {
    return (uintptr_t)pml4;
}

uint64_t arch_mmu_pte_table(uintptr_t paddr) {
    return (uint64_t)paddr | PTE_PRESENT | PTE_WRITABLE | PTE_USER;
}

uint64_t arch_mmu_pte_page(uintptr_t paddr, uint32_t flags) {
    uint64_t pte = (uint64_t)paddr | PTE_PRESENT;
    pte |= (flags & ARCH_MMU_FLAG_WRITE) ? PTE_WRITABLE : 0;
    pte |= (flags & ARCH_MMU_FLAG_USER) ? PTE_USER : 0;
    pte |= (flags & ARCH_MMU_FLAG_EXECUTE) ? 0 : PTE_NX;
    return pte;
}

uint32_t arch_mmu_pte_flags(uint64_t pte) {
    uint32_t flags = ARCH_MMU_FLAG_READ;
    flags |= (pte & PTE_WRITABLE) ? ARCH_MMU_FLAG_WRITE : 0;
    flags |= (pte & PTE_USER) ? ARCH_MMU_FLAG_USER : 0;
    flags |= (pte & PTE_NX) ? 0 : ARCH_MMU_FLAG_EXECUTE;
    return flags;
}

void arch_mmu_invalidate_page(uintptr_t vaddr) {
    __asm__ volatile("invlpg (%0)" : : "r"(vaddr) : "memory");
}

void arch_mmu_set_root(uintptr_t root) {
    __asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)root) : "memory");
}
