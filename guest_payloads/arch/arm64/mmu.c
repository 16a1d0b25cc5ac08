// arm64 translation: turns the MMU on over a kernel 1:1 map, and the entry encodings of
// <kernel/arch_mmu.h> for user address spaces.
//
// 4 KiB granule, 48-bit virtual addresses (T0SZ = 16), walks from TTBR0_EL1 only for now
// (TCR.EPD1 set: TTBR1 is unused, see README "Address spaces"):
//
//   kernel_l0[0] -> kernel_l1[0..511]: 1 GiB blocks, virtual == physical, EL1-only (AP 00),
//                                      never executable at EL0 (UXN)
//       [0, 1 GiB)        Device-nGnRnE, PXN  (virt: GIC, UART, PCIe MMIO and ECAM)
//       [1 GiB, 256 GiB)  Normal write-back, inner shareable (virt: RAM from 1 GiB)
//       [256 GiB, 512 GiB) Device-nGnRnE, PXN (virt: high PCIe ECAM and MMIO)
//
// MAIR_EL1: attribute 0 = Device-nGnRnE (0x00), attribute 1 = Normal WB RW-allocate (0xff).
// Every user address space copies kernel_l0[0] and fills l0[1..511] with 4 KiB pages:
// AP 01 (EL0 RW) or 11 (EL0 RO), PXN always (the kernel never runs user code), UXN unless
// executable, AF preset (no access-flag faults). One ASID (0) for everything: switching
// the user tables flushes the TLB.
#include <stdbool.h>
#include <stdint.h>

#include <arch/arm64/mmu.h>
#include <kernel/arch_mmu.h>
#include <kernel/arch.h>
#include <kernel/vm.h>

#define GIB (1ull << 30)
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
#define TCR_EPD1 (1ull << 23)
#define TCR_TG1_4K (2ull << 30)
#define TCR_IPS_SHIFT 32
#define PARANGE_48BIT 5ull
#define SCTLR_M (1ull << 0)
#define SCTLR_C (1ull << 2)
#define SCTLR_I (1ull << 12)

static uint64_t kernel_l0[MMU_ENTRIES] __attribute__((aligned(4096)));
static uint64_t kernel_l1[MMU_ENTRIES] __attribute__((aligned(4096)));

// Called by arch_init, MMU off, interrupts masked; the kernel keeps running at the same
// (physical) addresses afterwards.
void arm64_mmu_init(void) {
    for (uint64_t i = 0; i < MMU_ENTRIES; i++) {
        bool ram = i >= RAM_FIRST_GIB && i < RAM_END_GIB;
        uint64_t attrs = ram ? PTE_ATTR_NORMAL | PTE_SH_INNER : PTE_ATTR_DEVICE | PTE_PXN;
        kernel_l1[i] = i * GIB | PTE_VALID | PTE_AF | PTE_UXN | attrs;
    }
    kernel_l0[0] = (uint64_t)(uintptr_t)kernel_l1 | PTE_VALID | PTE_TABLE;

    uint64_t mmfr0;
    __asm__ volatile("mrs %0, id_aa64mmfr0_el1" : "=r"(mmfr0));
    uint64_t parange = mmfr0 & 0xf;
    if (parange > PARANGE_48BIT) {
        parange = PARANGE_48BIT;
    }
    uint64_t tcr = TCR_T0SZ | TCR_IRGN0_WBWA | TCR_ORGN0_WBWA | TCR_SH0_INNER | TCR_T1SZ |
                   TCR_EPD1 | TCR_TG1_4K | parange << TCR_IPS_SHIFT;
    __asm__ volatile(
        "msr mair_el1, %0\n"
        "msr tcr_el1, %1\n"
        "msr ttbr0_el1, %2\n"
        "msr ttbr1_el1, xzr\n"
        "isb\n"
        "tlbi vmalle1\n"
        "dsb nsh\n"
        "isb\n"
        :
        : "r"(MAIR_VALUE), "r"(tcr), "r"((uint64_t)(uintptr_t)kernel_l0)
        : "memory");
    uint64_t sctlr;
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    sctlr |= SCTLR_M | SCTLR_C | SCTLR_I;
    __asm__ volatile("msr sctlr_el1, %0\nisb" : : "r"(sctlr) : "memory");
}

uint64_t arch_phys_limit(void) {
    return RAM_END_GIB * GIB;
}

uint64_t arch_mmu_kernel_root_entry(void) {
    return kernel_l0[0];
}

uintptr_t arch_mmu_kernel_root(void) {
    return (uintptr_t)kernel_l0;
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

void arch_mmu_invalidate_page(uintptr_t vaddr) {
    __asm__ volatile("dsb ishst\ntlbi vaae1, %0\ndsb ish\nisb" : : "r"(vaddr >> 12) : "memory");
}

void arch_mmu_set_root(uintptr_t root) {
    __asm__ volatile("dsb ishst\nmsr ttbr0_el1, %0\nisb\ntlbi vmalle1\ndsb ish\nisb"
                     :
                     : "r"((uint64_t)root)
                     : "memory");
}
