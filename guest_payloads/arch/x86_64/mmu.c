// Early identity mapping for the x86-64 kernel.
//
//   CR3 -> pml4[0] -> pdpt[0..3] -> pd[0..3][0..511] : 2 MiB pages, virtual == physical,
//                                                      [0, 4 GiB), present + writable;
//                                                      [3 GiB, 4 GiB) also cache-disabled
// The top GiB below 4 GiB is never RAM on a PC (PCI hole: local APIC, IO-APIC, HPET,
// firmware), so it is mapped uncached for the device registers there.
// The boot protocol only promises a mapping of the kernel and the data ZBI; the kernel also
// reads ACPI tables and the BIOS area, so it installs this map of the whole low 4 GiB.
#include <arch/x86_64/mmu.h>

#include <stdint.h>

#define PAGE_SIZE 4096
#define PT_ENTRIES 512
#define PTE_PRESENT (1ull << 0)
#define PTE_WRITABLE (1ull << 1)
#define PTE_PWT (1ull << 3)  // write-through
#define PTE_PCD (1ull << 4)  // cache disable
#define PTE_LARGE (1ull << 7)  // in a page directory: this entry maps a 2 MiB page
#define LARGE_PAGE_SIZE (2ull << 20)
#define IDENTITY_GIB 4
#define DEVICE_GIB 3  // GiBs from this one up are mapped uncached

static uint64_t pml4[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint64_t pdpt[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static uint64_t pd[IDENTITY_GIB][PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));

void x86_mmu_init(void) {
    for (int g = 0; g < IDENTITY_GIB; g++) {
        for (int i = 0; i < PT_ENTRIES; i++) {
            uint64_t paddr = ((uint64_t)g * PT_ENTRIES + (uint64_t)i) * LARGE_PAGE_SIZE;
            uint64_t cache = g >= DEVICE_GIB ? PTE_PCD | PTE_PWT : 0;
            pd[g][i] = paddr | PTE_PRESENT | PTE_WRITABLE | PTE_LARGE | cache;
        }
        pdpt[g] = (uint64_t)(uintptr_t)pd[g] | PTE_PRESENT | PTE_WRITABLE;
    }
    pml4[0] = (uint64_t)(uintptr_t)pdpt | PTE_PRESENT | PTE_WRITABLE;
    __asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)(uintptr_t)pml4) : "memory");
}
