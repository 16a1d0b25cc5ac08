// x86-64 page tables: the kernel's half and the entry encodings of <kernel/arch_mmu.h>.
//
//   CR3 -> pml4[511] -> pdpt[0..3]     -> pd[0..3][0..511]: the physmap, 2 MiB pages,
//                                         0xffff_ff80_0000_0000 + [0, 4 GiB), present +
//                                         writable, supervisor-only, NX;
//                                         [3 GiB, 4 GiB) also cache-disabled
//                    pdpt[510] -> image_pd[0..7] -> image_pt[0..7]: the kernel image window,
//                                         0xffff_ffff_8000_0000 + physical [0, 16 MiB), 4 KiB
//                                         pages for the image's pages only, by section
//                                         (<kernel/image.h>): text R X, rodata R NX, data and
//                                         bss R W NX; the rest of the window is unmapped,
//                                         and so is the boot stack's guard (kstack_boot_guard)
//                    pdpt[8] -> kstack_pd -> page tables from the pmm: the kernel-stack
//                                         region (<kernel/kstack.h>), 0xffff_ff82_0000_0000,
//                                         1 GiB; leaf tables made by kernel_vm_map_page
// The top GiB below 4 GiB is never RAM on a PC (PCI hole: local APIC, IO-APIC, HPET,
// firmware), so it is mapped uncached for the device registers there.
// start.S came here on boot tables that also map the low GiB 1:1; x86_mmu_init replaces
// them, so nothing of the lower half stays mapped in the kernel's own tables. It also sets
// CR0.WP, so the kernel's own writes obey read-only pages.
//
// Every user address space copies pml4[511] (arch_mmu_user_root_init) — one pointer to the
// one pdpt, so what is mapped under it later (kernel stacks) is in every address space — and
// builds its own tables in pml4[0..255] from 4 KiB pages: intermediate entries P|W|U, leaves
// P|U, W only for writable mappings and NX for every non-executable one (EFER.NXE is set
// here). Without U on pml4[511], nothing of the kernel is reachable from ring 3.
#include <arch/x86_64/mmu.h>

#include <stdint.h>

#include <arch/x86_64/cpu.h>
#include <kernel/arch_mmu.h>
#include <kernel/percpu.h>
#include <kernel/smp.h>
#include <kernel/image.h>
#include <kernel/kstack.h>
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
#define IMAGE_PTS 8           // page tables of the image window: its first 16 MiB (kernel.ld)
#define KSTACK_PDPT_INDEX 8   // ARCH_KSTACK_BASE's PDPT entry
#define MSR_EFER 0xc0000080u
#define EFER_NXE (1ull << 11)
#define CR0_WP (1ull << 16)

static uint64_t pml4[MMU_ENTRIES] __attribute__((aligned(X86_PAGE_SIZE)));
static uint64_t pdpt[MMU_ENTRIES] __attribute__((aligned(X86_PAGE_SIZE)));
static uint64_t pd[PHYSMAP_GIB][MMU_ENTRIES] __attribute__((aligned(X86_PAGE_SIZE)));
static uint64_t image_pd[MMU_ENTRIES] __attribute__((aligned(X86_PAGE_SIZE)));
static uint64_t image_pt[IMAGE_PTS][MMU_ENTRIES] __attribute__((aligned(X86_PAGE_SIZE)));
static uint64_t kstack_pd[MMU_ENTRIES] __attribute__((aligned(X86_PAGE_SIZE)));

_Static_assert(ARCH_PHYSMAP_BASE == 0xffffff8000000000ull, "physmap: pml4[511], pdpt[0]");
_Static_assert(ARCH_PHYSMAP_SIZE == PHYSMAP_GIB << 30, "pd[] covers the physmap");
_Static_assert(ARCH_KERNEL_IMAGE_BASE == 0xffffffff80000000ull, "image: pdpt[510]");
_Static_assert(ARCH_KSTACK_BASE == ARCH_PHYSMAP_BASE + ((uint64_t)KSTACK_PDPT_INDEX << 30) &&
                   ARCH_KSTACK_REGION_SIZE == 1ull << 30,
               "kernel stacks: pdpt[8], one page directory");

void x86_mmu_init(void) {
    for (uint64_t g = 0; g < PHYSMAP_GIB; g++) {
        for (uint64_t i = 0; i < MMU_ENTRIES; i++) {
            uint64_t paddr = (g * MMU_ENTRIES + i) * LARGE_PAGE_SIZE;
            uint64_t cache = g >= DEVICE_GIB ? PTE_PCD | PTE_PWT : 0;
            pd[g][i] = paddr | PTE_PRESENT | PTE_WRITABLE | PTE_LARGE | cache;
        }
        pdpt[g] = vaddr_to_paddr(pd[g]) | PTE_PRESENT | PTE_WRITABLE | PTE_NX;
    }
    for (uint64_t t = 0; t < IMAGE_PTS; t++) {
        image_pd[t] = vaddr_to_paddr(image_pt[t]) | PTE_PRESENT | PTE_WRITABLE;
    }
    uintptr_t first = (uintptr_t)__kernel_text_start & ~(uintptr_t)(X86_PAGE_SIZE - 1);
    for (uintptr_t v = first; v < (uintptr_t)_end; v += X86_PAGE_SIZE) {
        if (v - (uintptr_t)kstack_boot_guard < KSTACK_GUARD_SIZE) {
            continue;  // the boot stack's guard stays unmapped
        }
        uint64_t page = (v - ARCH_KERNEL_IMAGE_BASE) / X86_PAGE_SIZE;  // < IMAGE_PTS * 512
        image_pt[page / MMU_ENTRIES][page % MMU_ENTRIES] =
            arch_mmu_pte_page(vaddr_to_paddr((const void *)v), kernel_image_page_flags(v));
    }
    pdpt[IMAGE_PDPT_INDEX] = vaddr_to_paddr(image_pd) | PTE_PRESENT | PTE_WRITABLE;
    pdpt[KSTACK_PDPT_INDEX] = vaddr_to_paddr(kstack_pd) | PTE_PRESENT | PTE_WRITABLE | PTE_NX;
    pml4[MMU_ENTRIES - 1] = vaddr_to_paddr(pdpt) | PTE_PRESENT | PTE_WRITABLE;
    x86_wrmsr(MSR_EFER, x86_rdmsr(MSR_EFER) | EFER_NXE);
    uint64_t cr0;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0 | CR0_WP) : "memory");
    arch_mmu_set_root(arch_mmu_kernel_root());
}

bool arch_mmu_kernel_query(uintptr_t vaddr, uint32_t *flags) {
    const uint64_t *table = pml4;
    uint64_t allowed = PTE_WRITABLE | PTE_USER, nx = 0;  // W, U: at every level; NX: at any
    for (int level = 0; level < MMU_LEVELS; level++) {
        uint64_t pte = table[(vaddr >> (39 - 9 * level)) & (MMU_ENTRIES - 1)];
        if (!mmu_pte_present(pte)) {
            return false;
        }
        allowed &= pte;
        nx |= pte & PTE_NX;
        if (level == MMU_LEVELS - 1 || (level > 0 && (pte & PTE_LARGE))) {
            *flags = arch_mmu_pte_flags((pte & ~(PTE_WRITABLE | PTE_USER | PTE_NX)) | allowed |
                                        nx);
            return true;
        }
        table = paddr_to_physmap(pte & MMU_PTE_ADDR_MASK);
    }
    return false;
}

void arch_mmu_user_root_init(uint64_t *root) {
    root[MMU_ENTRIES - 1] = pml4[MMU_ENTRIES - 1];
}

uintptr_t arch_mmu_kernel_root(void) {
    return vaddr_to_paddr(pml4);
}

uintptr_t arch_mmu_kernel_half_root(void) {
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
    struct arch_percpu *c = &percpu_get()->arch;
    if (c->tlb_batch) {
        c->tlb_batch_dirty = true;  // the shootdown waits for arch_mmu_batch_end
        return;
    }
    smp_tlb_shootdown();  // the other CPUs flush too before this returns
}

void arch_mmu_batch_begin(void) {
    struct arch_percpu *c = &percpu_get()->arch;
    c->tlb_batch = true;
    c->tlb_batch_dirty = false;
}

void arch_mmu_batch_end(void) {
    struct arch_percpu *c = &percpu_get()->arch;
    c->tlb_batch = false;
    if (c->tlb_batch_dirty) {
        c->tlb_batch_dirty = false;
        smp_tlb_shootdown();
    }
}

void arch_mmu_flush_local(void) {
    uint64_t cr3;
    __asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");  // no global pages
}

void arch_mmu_set_root(uintptr_t root) {
    __asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)root) : "memory");
}
