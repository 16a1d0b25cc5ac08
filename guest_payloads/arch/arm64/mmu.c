// arm64 translation: the kernel in TTBR1 (upper half), user address spaces in TTBR0, and the
// entry encodings of <kernel/arch_mmu.h> for user tables.
//
// 4 KiB granule, 48-bit virtual addresses on both sides (T0SZ = T1SZ = 16):
//
//   TTBR1_EL1 -> kernel_l0[0] -> kernel_l1[0..511]: the physmap, 1 GiB blocks at
//                0xffff_0000_0000_0000 + physical, EL1-only (AP 00), never executable at
//                EL0 (UXN); the kernel image runs inside it (<arch/kernel-layout.h>)
//       [0, 1 GiB)        Device-nGnRnE, PXN  (virt: GIC, UART, PCIe MMIO and ECAM)
//       [1 GiB, 256 GiB)  Normal write-back, inner shareable (virt: RAM from 1 GiB)
//       [256 GiB, 512 GiB) Device-nGnRnE, PXN (virt: high PCIe ECAM and MMIO)
//   TTBR0_EL1 -> the running process's tables (user range only), or empty_l0 (no user
//                address space: every lower-half access faults)
//
// MAIR_EL1: attribute 0 = Device-nGnRnE (0x00), attribute 1 = Normal WB RW-allocate (0xff).
// User tables hold 4 KiB pages only: AP 01 (EL0 RW) or 11 (EL0 RO), PXN always (the kernel
// never runs user code), UXN unless executable, AF preset (no access-flag faults). One ASID
// (0, TCR.A1 = 0) for everything: switching TTBR0 flushes the TLB.
//
// Boot (arch/arm64/start.S): arm64_mmu_early_init runs with the MMU off at the physical load
// address, before the kernel has relocated itself; it builds the tables and turns the MMU on
// with TTBR0 = TTBR1 = kernel_l0, so the identity view keeps the next instructions mapped
// until start.S has jumped into the physmap; arch_init then drops it (arm64_mmu_drop_identity).
#include <stdbool.h>
#include <stdint.h>

#include <arch/arm64/mmu.h>
#include <kernel/arch_mmu.h>
#include <kernel/arch.h>
#include <kernel/physmap.h>
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
#define TCR_IRGN1_WBWA (1ull << 24)
#define TCR_ORGN1_WBWA (1ull << 26)
#define TCR_SH1_INNER (3ull << 28)
#define TCR_TG1_4K (2ull << 30)
#define TCR_IPS_SHIFT 32
#define PARANGE_48BIT 5ull
#define SCTLR_M (1ull << 0)
#define SCTLR_C (1ull << 2)
#define SCTLR_I (1ull << 12)

static uint64_t kernel_l0[MMU_ENTRIES] __attribute__((aligned(4096)));
static uint64_t kernel_l1[MMU_ENTRIES] __attribute__((aligned(4096)));
static uint64_t empty_l0[MMU_ENTRIES] __attribute__((aligned(4096)));

_Static_assert(ARCH_PHYSMAP_BASE == ~0ull << 48, "the physmap starts TTBR1's range");
_Static_assert(ARCH_PHYSMAP_SIZE == (uint64_t)MMU_ENTRIES * GIB, "kernel_l0[0]: 512 GiB");

// Only PC-relative addressing and no calls: this runs before the kernel has relocated itself,
// so the address of a static table is its physical address here.
void arm64_mmu_early_init(void) {
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
        : "r"(MAIR_VALUE), "r"(tcr), "r"((uint64_t)(uintptr_t)kernel_l0)
        : "memory");
    uint64_t sctlr;
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    sctlr |= SCTLR_M | SCTLR_C | SCTLR_I;
    __asm__ volatile("msr sctlr_el1, %0\nisb" : : "r"(sctlr) : "memory");
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
