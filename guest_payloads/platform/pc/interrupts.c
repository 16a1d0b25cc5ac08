// Interrupt controllers of the PC platform (include/kernel/platform.h): the local APIC in
// xAPIC (MMIO) mode takes every interrupt; the legacy 8259 PICs are remapped out of the CPU
// exception vectors and masked. Vector map in pc-kernel.h. No IO-APIC routing yet: the only
// interrupt source is the local APIC timer.
#include <kernel/platform.h>

#include <arch/x86_64/cpu.h>
#include <kernel/arch.h>
#include <kernel/panic.h>
#include <kernel/smp.h>
#include <kernel/physmap.h>
#include <kernel/timer.h>

#include "pc-kernel.h"

#define IA32_APIC_BASE 0x1bu
#define APIC_BASE_ENABLE (1ull << 11)
#define APIC_BASE_ADDR_MASK 0xffffff000ull
#define LAPIC_SVR_ENABLE (1u << 8)
#define LAPIC_LVT_EXTINT (7u << 8)

#define PIC1_CMD 0x20u
#define PIC1_DATA 0x21u
#define PIC2_CMD 0xa0u
#define PIC2_DATA 0xa1u
#define PIC_ICW1_INIT_ICW4 0x11u
#define PIC_ICW4_8086 0x01u
#define PIC_CASCADE_IRQ 2u

static uintptr_t lapic_base;  // set once by platform_init_interrupts

uint32_t pc_lapic_read(uint32_t reg) {
    return *(volatile uint32_t *)(lapic_base + reg);
}

void pc_lapic_write(uint32_t reg, uint32_t value) {
    *(volatile uint32_t *)(lapic_base + reg) = value;
}

// Reprograms both 8259s to vectors PC_VECTOR_PIC_BASE.. (so a stray IRQ cannot look like a
// CPU exception) and masks every line.
static void pc_pic_disable(void) {
    outb(PIC1_CMD, PIC_ICW1_INIT_ICW4);
    outb(PIC2_CMD, PIC_ICW1_INIT_ICW4);
    outb(PIC1_DATA, PC_VECTOR_PIC_BASE);
    outb(PIC2_DATA, PC_VECTOR_PIC_BASE + 8);
    outb(PIC1_DATA, 1u << PIC_CASCADE_IRQ);
    outb(PIC2_DATA, PIC_CASCADE_IRQ);
    outb(PIC1_DATA, PIC_ICW4_8086);
    outb(PIC2_DATA, PIC_ICW4_8086);
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);
}

// Each CPU's local APIC id (by percpu number), recorded by the CPU itself (lapic_cpu_init).
static uint32_t lapic_ids[SMP_MAX_CPUS];

// This CPU's local APIC: enabled, every local interrupt masked, spurious vector set; its id
// recorded for platform_ipi_cpu.
static void lapic_cpu_init(void) {
    uint64_t base = x86_rdmsr(IA32_APIC_BASE);
    x86_wrmsr(IA32_APIC_BASE, base | APIC_BASE_ENABLE);
    if ((base & APIC_BASE_ADDR_MASK) == 0) {
        panic("platform_init_interrupts: no local APIC base");
    }
    lapic_base = (uintptr_t)paddr_to_physmap((uintptr_t)(base & APIC_BASE_ADDR_MASK));
    pc_lapic_write(LAPIC_TPR, 0);
    pc_lapic_write(LAPIC_LVT_TIMER, LAPIC_LVT_MASKED);
    pc_lapic_write(LAPIC_LVT_LINT0, LAPIC_LVT_MASKED | LAPIC_LVT_EXTINT);
    pc_lapic_write(LAPIC_LVT_LINT1, LAPIC_LVT_MASKED);
    pc_lapic_write(LAPIC_LVT_ERROR, LAPIC_LVT_MASKED);
    pc_lapic_write(LAPIC_SVR, LAPIC_SVR_ENABLE | PC_VECTOR_SPURIOUS);
    lapic_ids[percpu_get()->cpu_num] = pc_lapic_read(LAPIC_ID) >> 24;
}

void platform_init_interrupts(const struct boot_info *bi) {
    (void)bi;
    pc_pic_disable();
    lapic_cpu_init();
    pc_timer_init(pc_rsdp);
}

void platform_init_interrupts_secondary(void) {
    lapic_cpu_init();  // every CPU sees its own local APIC at the same address
}


#define LAPIC_ICR_LOW 0x300u
#define LAPIC_ICR_HIGH 0x310u
#define LAPIC_ICR_ALL_BUT_SELF (3u << 18)
#define LAPIC_ICR_ASSERT (1u << 14)
#define LAPIC_ICR_PENDING (1u << 12)

void pc_lapic_send_ipi(uint32_t apic_id, uint32_t command) {
    arch_irq_state_t irq = arch_irq_save();  // the ICR pair is this CPU's: no interleaving
    pc_lapic_write(LAPIC_ICR_HIGH, apic_id << 24);
    pc_lapic_write(LAPIC_ICR_LOW, command);
    while (pc_lapic_read(LAPIC_ICR_LOW) & LAPIC_ICR_PENDING) {
        arch_spin_pause();
    }
    arch_irq_restore(irq);
}

void platform_ipi_others(uint32_t kind) {
    pc_lapic_send_ipi(0, LAPIC_ICR_ALL_BUT_SELF | LAPIC_ICR_ASSERT | (PC_VECTOR_IPI_BASE + kind));
}

void platform_ipi_cpu(uint32_t cpu, uint32_t kind) {
    // No shorthand, physical destination: the APIC id in ICR_HIGH.
    pc_lapic_send_ipi(lapic_ids[cpu], LAPIC_ICR_ASSERT | (PC_VECTOR_IPI_BASE + kind));
}

bool platform_irq(uint32_t vector) {
    if (vector >= PC_VECTOR_IPI_BASE && vector < PC_VECTOR_IPI_END) {
        pc_lapic_write(LAPIC_EOI, 0);
        return smp_ipi_received(vector - PC_VECTOR_IPI_BASE);
    }
    if (vector == PC_VECTOR_TIMER) {
        pc_lapic_write(LAPIC_EOI, 0);  // before the handler: it may switch threads
        return timer_tick();
    }
    bool pic = vector >= PC_VECTOR_PIC_BASE && vector < PC_VECTOR_PIC_END;
    if (vector == PC_VECTOR_SPURIOUS || pic) {
        return false;  // spurious: no end-of-interrupt for these
    }
    panic("platform_irq: unexpected vector 0x%x", vector);
}
