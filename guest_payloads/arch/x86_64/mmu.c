// x86-64 page tables: the kernel's half and the entry encodings of <kernel/arch_mmu.h>.
//
//   CR3 -> pml4[511] -> pdpt[0..3]     -> pd[0..3][0..511]: the physmap, 2 MiB pages,
//                                         0xffff_ff80_0000_0000 + [0, 4 GiB), present +
//                                         writable, supervisor-only, NX;
//                                         [3 GiB, 4 GiB) also cache-disabled
//                    pdpt[510..511] -> pd[0..1]: the kernel image window, 0xffff_ffff_8000_0000
//                                         + [0, 2 GiB), where the kernel runs (executable)
// The top GiB below 4 GiB is never RAM on a PC (PCI hole: local APIC, IO-APIC, HPET,
// firmware), so it is mapped uncached for the device registers there.
// start.S came here on boot tables that also map the low GiB 1:1; x86_mmu_init replaces
// them, so nothing of the lower half stays mapped in the kernel's own tables.
//
// Every user address space copies pml4[511] (arch_mmu_user_root_init) and builds its own
// tables in pml4[0..255] from 4 KiB pages: intermediate entries P|W|U, leaves P|U, W only
// for writable mappings and NX for every non-executable one (EFER.NXE is set here). Without
// U on pml4[511], nothing of the kernel is reachable from ring 3.
#include <arch/x86_64/mmu.h>

#include <stdint.h>

#include <arch/x86_64/cpu.h>
#include <kernel/arch_mmu.h>
#include <kernel/physmap.h>
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
#define PHYSMAP_GIB 4ull
#define DEVICE_GIB 3  // GiBs from this one up are mapped uncached
#define IMAGE_PDPT_INDEX 510  // ARCH_KERNEL_IMAGE_BASE's PDPT entry
#define IMAGE_GIB 2
#define MSR_EFER 0xc0000080u
#define EFER_NXE (1ull << 11)

static uint64_t pml4[MMU_ENTRIES] __attribute__((aligned(X86_PAGE_SIZE)));
static uint64_t pdpt[MMU_ENTRIES] __attribute__((aligned(X86_PAGE_SIZE)));
static uint64_t pd[PHYSMAP_GIB][MMU_ENTRIES] __attribute__((aligned(X86_PAGE_SIZE)));

_Static_assert(ARCH_PHYSMAP_BASE == 0xffffff8000000000ull, "physmap: pml4[511], pdpt[0]");
_Static_assert(ARCH_PHYSMAP_SIZE == PHYSMAP_GIB << 30, "pd[] covers the physmap");
_Static_assert(ARCH_KERNEL_IMAGE_BASE == 0xffffffff80000000ull, "image: pdpt[510]");

void x86_mmu_init(void) {
    for (uint64_t g = 0; g < PHYSMAP_GIB; g++) {
        for (uint64_t i = 0; i < MMU_ENTRIES; i++) {
            uint64_t paddr = (g * MMU_ENTRIES + i) * LARGE_PAGE_SIZE;
            uint64_t cache = g >= DEVICE_GIB ? PTE_PCD | PTE_PWT : 0;
            pd[g][i] = paddr | PTE_PRESENT | PTE_WRITABLE | PTE_LARGE | cache;
        }
        pdpt[g] = vaddr_to_paddr(pd[g]) | PTE_PRESENT | PTE_WRITABLE | PTE_NX;
    }
    for (uint64_t g = 0; g < IMAGE_GIB; g++) {
        pdpt[IMAGE_PDPT_INDEX + g] = vaddr_to_paddr(pd[g]) | PTE_PRESENT | PTE_WRITABLE;
    }
    pml4[MMU_ENTRIES - 1] = vaddr_to_paddr(pdpt) | PTE_PRESENT | PTE_WRITABLE;
    x86_wrmsr(MSR_EFER, x86_rdmsr(MSR_EFER) | EFER_NXE);
    arch_mmu_set_root(arch_mmu_kernel_root());
}

void arch_mmu_user_root_init(uint64_t *root) {
    root[MMU_ENTRIES - 1] = pml4[MMU_ENTRIES - 1];
}

uintptr_t arch_mmu_kernel_root(void) {
    return vaddr_to_paddr(pml4);
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
