// arm64 translation: the kernel in TTBR1 (upper half), user address spaces in TTBR0, and the
// entry encodings of <kernel/arch_mmu.h> for user tables.
//
// 4 KiB granule, 48-bit virtual addresses on both sides (T0SZ = T1SZ = 16):
//
//   TTBR1_EL1 -> kernel_l0[0] -> kernel_l1[0..511]: the physmap, 1 GiB blocks at
//                0xffff_0000_0000_0000 + physical, EL1-only (AP 00), read-write, never
//                executable (PXN, UXN); the kernel image runs inside it (<arch/kernel-layout.h>)
//       [0, 1 GiB)        Device-nGnRnE      (virt: GIC, UART, PCIe MMIO and ECAM)
//       [1 GiB, 256 GiB)  Normal write-back, inner shareable (virt: RAM from 1 GiB)
//       [256 GiB, 512 GiB) Device-nGnRnE     (virt: high PCIe ECAM and MMIO)
//     except the GiB holding the kernel image: kernel_l2, 2 MiB blocks (read-write, never
//     executable), and kernel_l3[] 4 KiB pages for the 2 MiB blocks the image touches: its
//     pages by section (<kernel/image.h>: text R X, rodata R, data and bss R W; PXN but for
//     text), the others R W. So the image's text is the kernel's only executable memory.
//     The boot stack's guard (kstack_boot_guard, in bss) is left unmapped.
//   TTBR1_EL1 -> kernel_l0[1] -> kstack_l1[0] -> kstack_l2 -> level-3 tables from the pmm: the
//                kernel-stack region (<kernel/kstack.h>), 0xffff_0080_0000_0000, 1 GiB;
//                kernel_vm_map_page fills it. TTBR1 is the same for every address space.
//   TTBR0_EL1 -> the running process's tables (user range only), or empty_l0 (no user
//                address space: every lower-half access faults)
//
// MAIR_EL1: attribute 0 = Device-nGnRnE (0x00), attribute 1 = Normal WB RW-allocate (0xff).
// User tables hold 4 KiB pages only: AP 01 (EL0 RW) or 11 (EL0 RO), PXN always (the kernel
// never runs user code), UXN unless executable, AF preset (no access-flag faults). One ASID
// (0, TCR.A1 = 0) for everything: switching TTBR0 flushes the TLB.
//
// Boot (arch/arm64/start.S): arm64_mmu_early_init runs with the MMU off at the physical load
// address, before the kernel has relocated itself; it builds boot tables (the physmap's 1 GiB
// blocks, RAM executable) and turns the MMU on with TTBR0 = TTBR1 = boot_l0, so the identity
// view keeps the next instructions mapped until start.S has jumped into the physmap and
// written its relocations. arch_init then loads the tables above into TTBR1
// (arm64_mmu_protect_kernel: a new root, so no live entry changes) and drops the identity
// view (arm64_mmu_drop_identity).
#include <stdbool.h>
#include <stdint.h>

#include <arch/arm64/mmu.h>
#include <arch/arm64/smp.h>
#include <kernel/percpu.h>
#include <kernel/arch_mmu.h>
#include <kernel/arch.h>
#include <kernel/image.h>
#include <kernel/kstack.h>
#include <kernel/panic.h>
#include <kernel/physmap.h>
#include <kernel/vm.h>

#define GIB (1ull << 30)
#define BLOCK_2M (2ull << 20)
#define PAGE_4K 4096ull
#define IMAGE_L3S 4  // 2 MiB blocks the image may touch (kernel.ld: at most 6 MiB)
#define RAM_FIRST_GIB 1
#define RAM_END_GIB 256

#define PTE_VALID (1ull << 0)
#define PTE_TABLE (1ull << 1)  // table (levels 0-2) or page (level 3); clear: block
#define PTE_ATTR_DEVICE (0ull << 2)
#define PTE_ATTR_NORMAL (1ull << 2)
#define PTE_AP_EL0 (1ull << 6)  // AP[1]: EL0 access
#define PTE_AP_RO (1ull << 7)   // AP[2]: read-only
#define PTE_SH_INNER (3ull << 8)
#define PTE_AF (1ull << 10)
#define PTE_PXN (1ull << 53)
#define PTE_UXN (1ull << 54)

#define MAIR_VALUE 0xff00ull  // attr1 = normal WB, attr0 = device nGnRnE
#define TCR_T0SZ 16ull
#define TCR_IRGN0_WBWA (1ull << 8)
#define TCR_ORGN0_WBWA (1ull << 10)
#define TCR_SH0_INNER (3ull << 12)
#define TCR_T1SZ (16ull << 16)
#define TCR_IRGN1_WBWA (1ull << 24)
#define TCR_ORGN1_WBWA (1ull << 26)
#define TCR_SH1_INNER (3ull << 28)
#define TCR_TG1_4K (2ull << 30)
#define TCR_IPS_SHIFT 32
#define PARANGE_48BIT 5ull
#define SCTLR_M (1ull << 0)
#define SCTLR_C (1ull << 2)
#define SCTLR_I (1ull << 12)

static uint64_t boot_l0[MMU_ENTRIES] __attribute__((aligned(4096)));
static uint64_t boot_l1[MMU_ENTRIES] __attribute__((aligned(4096)));
static uint64_t kernel_l0[MMU_ENTRIES] __attribute__((aligned(4096)));
static uint64_t kernel_l1[MMU_ENTRIES] __attribute__((aligned(4096)));
static uint64_t kernel_l2[MMU_ENTRIES] __attribute__((aligned(4096)));
static uint64_t kernel_l3[IMAGE_L3S][MMU_ENTRIES] __attribute__((aligned(4096)));
static uint64_t empty_l0[MMU_ENTRIES] __attribute__((aligned(4096)));
static uint64_t kstack_l1[MMU_ENTRIES] __attribute__((aligned(4096)));
static uint64_t kstack_l2[MMU_ENTRIES] __attribute__((aligned(4096)));

// The physmap's level-1 block for GiB `i`: EL1 read-write, never executable at EL0; device
// memory never executable at EL1 either.
static inline __attribute__((always_inline)) uint64_t physmap_block(uint64_t i) {
    bool ram = i >= RAM_FIRST_GIB && i < RAM_END_GIB;
    uint64_t attrs = ram ? PTE_ATTR_NORMAL | PTE_SH_INNER : PTE_ATTR_DEVICE | PTE_PXN;
    return i * GIB | PTE_VALID | PTE_AF | PTE_UXN | attrs;
}

_Static_assert(ARCH_PHYSMAP_BASE == ~0ull << 48, "the physmap starts TTBR1's range");
_Static_assert(ARCH_PHYSMAP_SIZE == (uint64_t)MMU_ENTRIES * GIB, "kernel_l0[0]: 512 GiB");
_Static_assert(ARCH_KSTACK_BASE == ARCH_PHYSMAP_BASE + ARCH_PHYSMAP_SIZE &&
                   ARCH_KSTACK_REGION_SIZE == GIB,
               "kernel stacks: kernel_l0[1], kstack_l1[0]");

// Only PC-relative addressing and no calls: this runs before the kernel has relocated itself,
// so the address of a static table is its physical address here.
void arm64_mmu_early_init(void) {
    for (uint64_t i = 0; i < MMU_ENTRIES; i++) {
        boot_l1[i] = physmap_block(i);
    }
    boot_l0[0] = (uint64_t)(uintptr_t)boot_l1 | PTE_VALID | PTE_TABLE;

    uint64_t mmfr0;
    __asm__ volatile("mrs %0, id_aa64mmfr0_el1" : "=r"(mmfr0));
    uint64_t parange = mmfr0 & 0xf;
    if (parange > PARANGE_48BIT) {
        parange = PARANGE_48BIT;
    }
    uint64_t tcr = TCR_T0SZ | TCR_IRGN0_WBWA | TCR_ORGN0_WBWA | TCR_SH0_INNER | TCR_T1SZ |
                   TCR_IRGN1_WBWA | TCR_ORGN1_WBWA | TCR_SH1_INNER | TCR_TG1_4K |
                   parange << TCR_IPS_SHIFT;
    __asm__ volatile(
        "msr mair_el1, %0\n"
        "msr tcr_el1, %1\n"
        "msr ttbr0_el1, %2\n"
        "msr ttbr1_el1, %2\n"
        "isb\n"
        "tlbi vmalle1\n"
        "dsb nsh\n"
        "isb\n"
        :
        : "r"(MAIR_VALUE), "r"(tcr), "r"((uint64_t)(uintptr_t)boot_l0)
        : "memory");
    uint64_t sctlr;
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    sctlr |= SCTLR_M | SCTLR_C | SCTLR_I;
    __asm__ volatile("msr sctlr_el1, %0\nisb" : : "r"(sctlr) : "memory");
}

void arm64_mmu_protect_kernel(void) {
    uintptr_t start = vaddr_to_paddr(__kernel_text_start) & ~(PAGE_4K - 1);
    uintptr_t end = vaddr_to_paddr(_end);
    uint64_t gib = start / GIB;
    uint64_t first_block = start / BLOCK_2M, last_block = (end - 1) / BLOCK_2M;
    if ((end - 1) / GIB != gib || last_block - first_block >= IMAGE_L3S) {
        panic("arm64_mmu_protect_kernel: image [0x%lx, 0x%lx) too large or across a GiB",
              start, end);
    }
    for (uint64_t i = 0; i < MMU_ENTRIES; i++) {
        kernel_l1[i] = physmap_block(i) | PTE_PXN;
        uint64_t block = gib * GIB + i * BLOCK_2M;
        kernel_l2[i] = block | PTE_VALID | PTE_AF | PTE_UXN | PTE_PXN | PTE_ATTR_NORMAL |
                       PTE_SH_INNER;
    }
    for (uint64_t b = first_block; b <= last_block; b++) {
        uint64_t *l3 = kernel_l3[b - first_block];
        for (uint64_t i = 0; i < MMU_ENTRIES; i++) {
            uintptr_t pa = b * BLOCK_2M + i * PAGE_4K;
            uintptr_t va = (uintptr_t)paddr_to_physmap(pa);
            uint32_t flags = pa >= start && pa < end ? kernel_image_page_flags(va)
                                                     : ARCH_MMU_FLAG_READ | ARCH_MMU_FLAG_WRITE;
            bool guard = va - (uintptr_t)kstack_boot_guard < KSTACK_GUARD_SIZE;
            l3[i] = guard ? 0 : arch_mmu_pte_page(pa, flags);
        }
        kernel_l2[b % MMU_ENTRIES] = arch_mmu_pte_table(vaddr_to_paddr(l3));
    }
    kernel_l1[gib] = arch_mmu_pte_table(vaddr_to_paddr(kernel_l2));
    kernel_l0[0] = arch_mmu_pte_table(vaddr_to_paddr(kernel_l1));
    kstack_l1[0] = arch_mmu_pte_table(vaddr_to_paddr(kstack_l2));
    kernel_l0[1] = arch_mmu_pte_table(vaddr_to_paddr(kstack_l1));
    __asm__ volatile("dsb ishst\nmsr ttbr1_el1, %0\nisb\ntlbi vmalle1\ndsb ish\nisb"
                     :
                     : "r"((uint64_t)vaddr_to_paddr(kernel_l0))
                     : "memory");
}

bool arch_mmu_kernel_query(uintptr_t vaddr, uint32_t *flags) {
    const uint64_t *table = kernel_l0;
    for (int level = 0; level < MMU_LEVELS; level++) {
        uint64_t pte = table[(vaddr >> (39 - 9 * level)) & (MMU_ENTRIES - 1)];
        if (!mmu_pte_present(pte)) {
            return false;
        }
        if (level == MMU_LEVELS - 1 || (level > 0 && !(pte & PTE_TABLE))) {
            *flags = arch_mmu_pte_flags(pte);
            return true;
        }
        table = paddr_to_physmap(pte & MMU_PTE_ADDR_MASK);
    }
    return false;
}

uintptr_t arm64_mmu_boot_root(void) {
    return vaddr_to_paddr(boot_l0);
}

void arm64_mmu_drop_identity(void) {
    arch_mmu_set_root(arch_mmu_kernel_root());
}

uint64_t arch_phys_limit(void) {
    return RAM_END_GIB * GIB;
}

void arch_mmu_user_root_init(uint64_t *root) {
    (void)root;  // the kernel lives in TTBR1: user tables hold nothing of it
}

uintptr_t arch_mmu_kernel_root(void) {
    return vaddr_to_paddr(empty_l0);
}

uintptr_t arch_mmu_kernel_half_root(void) {
    return vaddr_to_paddr(kernel_l0);
}

uint64_t arch_mmu_pte_table(uintptr_t paddr) {
    return (uint64_t)paddr | PTE_VALID | PTE_TABLE;
}

uint64_t arch_mmu_pte_page(uintptr_t paddr, uint32_t flags) {
    uint64_t pte = (uint64_t)paddr | PTE_VALID | PTE_TABLE | PTE_AF | PTE_ATTR_NORMAL |
                   PTE_SH_INNER;
    pte |= (flags & ARCH_MMU_FLAG_WRITE) ? 0 : PTE_AP_RO;
    bool exec = (flags & ARCH_MMU_FLAG_EXECUTE) != 0;
    if (flags & ARCH_MMU_FLAG_USER) {
        pte |= PTE_AP_EL0 | PTE_PXN | (exec ? 0 : PTE_UXN);
    } else {
        pte |= PTE_UXN | (exec ? 0 : PTE_PXN);
    }
    return pte;
}

uint32_t arch_mmu_pte_flags(uint64_t pte) {
    uint32_t flags = ARCH_MMU_FLAG_READ;
    flags |= (pte & PTE_AP_RO) ? 0 : ARCH_MMU_FLAG_WRITE;
    bool user = (pte & PTE_AP_EL0) != 0;
    flags |= user ? ARCH_MMU_FLAG_USER : 0;
    flags |= (pte & (user ? PTE_UXN : PTE_PXN)) ? 0 : ARCH_MMU_FLAG_EXECUTE;
    return flags;
}

// TLBI VAAE1 takes VA[55:12] in bits 43:0; the bits above (TTL with FEAT_TTL) must stay 0,
// which a kernel (upper-half) address shifted down would not leave them.
#define TLBI_VA_MASK ((1ull << 44) - 1)

// Inner-shareable: every CPU drops the entry before the dsb completes, no IPI needed. In a
// batch one broadcast flush of everything at the end replaces the per-page ones (each
// broadcast TLBI makes QEMU synchronise every vCPU).
void arch_mmu_invalidate_page(uintptr_t vaddr) {
    struct arch_percpu *c = &percpu_get()->arch;
    if (c->tlb_batch) {
        c->tlb_batch_dirty = true;
        return;
    }
    __asm__ volatile("dsb ishst\ntlbi vaae1is, %0\ndsb ish\nisb"
                     :
                     : "r"((vaddr >> 12) & TLBI_VA_MASK)
                     : "memory");
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
        __asm__ volatile("dsb ishst\ntlbi vmalle1is\ndsb ish\nisb" ::: "memory");
    }
}

void arch_mmu_flush_local(void) {
    __asm__ volatile("dsb nshst\ntlbi vmalle1\ndsb nsh\nisb" ::: "memory");
}

void arch_mmu_set_root(uintptr_t root) {
    __asm__ volatile("dsb ishst\nmsr ttbr0_el1, %0\nisb\ntlbi vmalle1\ndsb ish\nisb"
                     :
                     : "r"((uint64_t)root)
                     : "memory");
}
