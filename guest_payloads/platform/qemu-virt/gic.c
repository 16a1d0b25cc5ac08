// The Arm Generic Interrupt Controller of qemu-virt, version 3 or 2 as the KERNEL_DRIVER item
// says (ARM_GIC_V3 preferred). Only what one CPU needs for private peripheral interrupts:
//
//   GICv3: distributor (GICD) for the global enable; CPU 0's redistributor (GICR, the first
//          frame: RD_base, then SGI_base 64 KiB later) for PPI group/priority/enable; the CPU
//          interface through ICC_* system registers (Group 1, EOImode 0).
//   GICv2: distributor (GICD, banked PPI registers) and the memory-mapped CPU interface (GICC).
//
// Every interrupt is Group 1 at priority GIC_PRIORITY, unmasked by a priority mask of 0xff.
#include <stdint.h>

#include <arch/arm64/mmio.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/physmap.h>
#include <lib/zbi-format/driver-config.h>

#include "qemu-virt.h"

#define GIC_PRIORITY 0x80u
#define GIC_PRIORITY_MASK_ALL 0xffu
#define GIC_INTID_MASK 0xffffffu

// Distributor (both versions).
#define GICD_CTLR 0x0000u
#define GICD_ISENABLER 0x0100u
#define GICD_IPRIORITYR 0x0400u
#define GICD_ITARGETSR 0x0800u
#define GICD_CTLR_RWP (1u << 31)
#define GICD_CTLR_V2_ENABLE 1u
// v3: EnableGrp0 | EnableGrp1 (single security state) or EnableGrp1NS | EnableGrp1A
// (non-secure view), and affinity routing.
#define GICD_CTLR_V3_ENABLE ((1u << 0) | (1u << 1) | (1u << 4))

// v3 redistributor.
#define GICR_WAKER 0x0014u
#define GICR_WAKER_PROCESSOR_SLEEP (1u << 1)
#define GICR_WAKER_CHILDREN_ASLEEP (1u << 2)
#define GICR_SGI_BASE 0x10000u
#define GICR_IGROUPR0 (GICR_SGI_BASE + 0x0080u)
#define GICR_ISENABLER0 (GICR_SGI_BASE + 0x0100u)
#define GICR_IPRIORITYR (GICR_SGI_BASE + 0x0400u)

// v2 CPU interface.
#define GICC_CTLR 0x0000u
#define GICC_PMR 0x0004u
#define GICC_BPR 0x0008u
#define GICC_IAR 0x000cu
#define GICC_EOIR 0x0010u
#define GICC_IAR_ID_MASK 0x3ffu
#define GICC_IAR_V2_MASK 0x1fffu  // interrupt id and, for an SGI, the source CPU

#define ICC_SRE_SRE 1u
#define GIC_PPI_END 32u  // PPIs and SGIs are INTIDs 0-31

#define GICR_TYPER 0x0008u
#define GICR_TYPER_LAST (1ull << 4)
#define GICR_DEFAULT_STRIDE 0x20000u  // RD_base + SGI_base, when the item gives no stride
#define MPIDR_AFF_MASK 0xff00ffffffull

// Set once by gic_init.
static int gic_version;  // 3 or 2
static uintptr_t gicd, gicc;
static uintptr_t gicr_first;   // the first redistributor frame
static uint64_t gicr_stride;
// Each CPU's own redistributor frame (v3), set by that CPU.
static uintptr_t gicr_cpu[SMP_MAX_CPUS];
// How an SGI reaches each CPU, set by that CPU: its MPIDR affinity (v3) or its CPU interface
// bit (v2, what the banked GICD_ITARGETSR0 reads on it).
static uint64_t sgi_target[SMP_MAX_CPUS];

static uint64_t mpidr_affinity(void) {
    uint64_t mpidr;
    __asm__ volatile("mrs %0, mpidr_el1" : "=r"(mpidr));
    return mpidr & MPIDR_AFF_MASK;
}

// This CPU's redistributor: the frame whose GICR_TYPER affinity is this CPU's MPIDR.
static uintptr_t gicr_find(void) {
    uint64_t mpidr = mpidr_affinity();
    uint32_t aff = (uint32_t)(((mpidr >> 32) & 0xff) << 24 | ((mpidr >> 16) & 0xff) << 16 |
                     ((mpidr >> 8) & 0xff) << 8 | (mpidr & 0xff));
    for (uintptr_t frame = gicr_first;; frame += gicr_stride) {
        uint64_t typer = mmio_read64(frame + GICR_TYPER);
        if ((uint32_t)(typer >> 32) == aff) {
            return frame;
        }
        if (typer & GICR_TYPER_LAST) {
            panic("gic: no redistributor for MPIDR 0x%lx", (unsigned long)mpidr);
        }
    }
}

// GICv3: wakes this CPU's redistributor and enables its CPU interface (system registers).
static void gic_v3_cpu_init(void) {
    uintptr_t gicr = gicr_find();
    gicr_cpu[percpu_get()->cpu_num] = gicr;
    sgi_target[percpu_get()->cpu_num] = mpidr_affinity();
    mmio_write32(gicr + GICR_WAKER, mmio_read32(gicr + GICR_WAKER) & ~GICR_WAKER_PROCESSOR_SLEEP);
    while (mmio_read32(gicr + GICR_WAKER) & GICR_WAKER_CHILDREN_ASLEEP) {
    }
    uint64_t sre;
    __asm__ volatile("mrs %0, icc_sre_el1" : "=r"(sre));
    __asm__ volatile("msr icc_sre_el1, %0; isb" : : "r"(sre | ICC_SRE_SRE));
    __asm__ volatile("msr icc_pmr_el1, %0" : : "r"((uint64_t)GIC_PRIORITY_MASK_ALL));
    __asm__ volatile("msr icc_bpr1_el1, xzr");
    __asm__ volatile("msr icc_igrpen1_el1, %0; isb" : : "r"((uint64_t)1));
}

// GICv2: this CPU's (banked) CPU interface.
static void gic_v2_cpu_init(void) {
    sgi_target[percpu_get()->cpu_num] = mmio_read32(gicd + GICD_ITARGETSR) & 0xffu;
    mmio_write32(gicc + GICC_PMR, GIC_PRIORITY_MASK_ALL);
    mmio_write32(gicc + GICC_BPR, 0);
    mmio_write32(gicc + GICC_CTLR, 1);
}

void gic_init_secondary(void) {
    if (gic_version == 3) {
        gic_v3_cpu_init();
    } else {
        gic_v2_cpu_init();
    }
}

// Sets the 8-bit priority field of `intid` in the priority register array at `regs`
// (read-modify-write of the 32-bit word: safe on every GIC register interface).
static void gic_set_priority(uintptr_t regs, uint32_t intid) {
    uintptr_t word = regs + (intid & ~3u);
    uint32_t shift = (intid % 4) * 8;
    uint32_t v = mmio_read32(word) & ~(0xffu << shift);
    mmio_write32(word, v | GIC_PRIORITY << shift);
}

static void gic_v3_init(const zbi_dcfg_arm_gic_v3_driver_t *cfg) {
    gicd = (uintptr_t)paddr_to_physmap(cfg->mmio_phys + cfg->gicd_offset);
    gicr_first = (uintptr_t)paddr_to_physmap(cfg->mmio_phys + cfg->gicr_offset);
    gicr_stride = cfg->gicr_stride != 0 ? cfg->gicr_stride : GICR_DEFAULT_STRIDE;
    mmio_write32(gicd + GICD_CTLR, GICD_CTLR_V3_ENABLE);
    while (mmio_read32(gicd + GICD_CTLR) & GICD_CTLR_RWP) {
    }
    gic_version = 3;
    gic_v3_cpu_init();
}

static void gic_v2_init(const zbi_dcfg_arm_gic_v2_driver_t *cfg) {
    gicd = (uintptr_t)paddr_to_physmap(cfg->mmio_phys + cfg->gicd_offset);
    gicc = (uintptr_t)paddr_to_physmap(cfg->mmio_phys + cfg->gicc_offset);
    mmio_write32(gicd + GICD_CTLR, GICD_CTLR_V2_ENABLE);
    gic_v2_cpu_init();
    gic_version = 2;
}

void gic_init(const struct boot_info *bi) {
    const zbi_dcfg_arm_gic_v3_driver_t *v3 =
        qemu_virt_driver_config(bi, ZBI_KERNEL_DRIVER_ARM_GIC_V3, sizeof(*v3));
    const zbi_dcfg_arm_gic_v2_driver_t *v2 =
        qemu_virt_driver_config(bi, ZBI_KERNEL_DRIVER_ARM_GIC_V2, sizeof(*v2));
    if (v3 != NULL) {
        gic_v3_init(v3);
    } else if (v2 != NULL) {
        gic_v2_init(v2);
    } else {
        panic("gic_init: no ARM_GIC_V3 or ARM_GIC_V2 item in the data ZBI");
    }
}

void gic_enable_ppi(uint32_t intid) {
    if (intid >= GIC_PPI_END) {
        panic("gic_enable_ppi: INTID %u is not private", intid);
    }
    if (gic_version == 3) {
        uintptr_t gicr = gicr_cpu[percpu_get()->cpu_num];
        mmio_write32(gicr + GICR_IGROUPR0, mmio_read32(gicr + GICR_IGROUPR0) | 1u << intid);
        gic_set_priority(gicr + GICR_IPRIORITYR, intid);
        mmio_write32(gicr + GICR_ISENABLER0, 1u << intid);
    } else {
        gic_set_priority(gicd + GICD_IPRIORITYR, intid);
        mmio_write32(gicd + GICD_ISENABLER, 1u << intid);
    }
}

uint32_t gic_ack(void) {
    if (gic_version == 3) {
        uint64_t iar;
        __asm__ volatile("mrs %0, icc_iar1_el1" : "=r"(iar) : : "memory");
        return (uint32_t)iar & GIC_INTID_MASK;
    }
    return mmio_read32(gicc + GICC_IAR) & GICC_IAR_V2_MASK;  // v2 SGIs: source CPU in 12:10
}

uint32_t gic_intid(uint32_t ack) {
    return gic_version == 3 ? ack : ack & GICC_IAR_ID_MASK;
}

#define ICC_SGI1R_IRM (1ull << 40)  // to every PE but this one
#define ICC_SGI1R_INTID_SHIFT 24
#define GICD_SGIR 0x0f00u
#define GICD_SGIR_OTHERS (1u << 24)  // TargetListFilter: every CPU interface but this one
#define GICD_SGIR_TARGET_SHIFT 16       // CPUTargetList (TargetListFilter 0: the list)
#define ICC_SGI1R_AFF1_SHIFT 16
#define ICC_SGI1R_AFF2_SHIFT 32
#define ICC_SGI1R_RS_SHIFT 44           // Aff0 / 16: which 16 CPUs TargetList names
#define ICC_SGI1R_AFF3_SHIFT 48

void gic_send_sgi_others(uint32_t sgi) {
    if (gic_version == 3) {
        uint64_t v = ICC_SGI1R_IRM | (uint64_t)sgi << ICC_SGI1R_INTID_SHIFT;
        __asm__ volatile("dsb ishst; msr icc_sgi1r_el1, %0; isb" : : "r"(v) : "memory");
    } else {
        __asm__ volatile("dsb ishst" ::: "memory");
        mmio_write32(gicd + GICD_SGIR, GICD_SGIR_OTHERS | sgi);
    }
}

void gic_send_sgi(uint32_t cpu, uint32_t sgi) {
    uint64_t t = sgi_target[cpu];
    if (gic_version == 3) {
        uint64_t aff0 = t & 0xff;
        uint64_t v = (uint64_t)sgi << ICC_SGI1R_INTID_SHIFT | 1ull << (aff0 % 16) |
                     (aff0 / 16) << ICC_SGI1R_RS_SHIFT |
                     ((t >> 8) & 0xff) << ICC_SGI1R_AFF1_SHIFT |
                     ((t >> 16) & 0xff) << ICC_SGI1R_AFF2_SHIFT |
                     ((t >> 32) & 0xff) << ICC_SGI1R_AFF3_SHIFT;
        __asm__ volatile("dsb ishst; msr icc_sgi1r_el1, %0; isb" : : "r"(v) : "memory");
    } else {
        __asm__ volatile("dsb ishst" ::: "memory");
        mmio_write32(gicd + GICD_SGIR, (uint32_t)t << GICD_SGIR_TARGET_SHIFT | sgi);
    }
}

void gic_eoi(uint32_t ack) {
    uint32_t intid = ack;
    if (gic_version == 3) {
        __asm__ volatile("msr icc_eoir1_el1, %0; isb" : : "r"((uint64_t)intid) : "memory");
    } else {
        mmio_write32(gicc + GICC_EOIR, intid);
    }
}
