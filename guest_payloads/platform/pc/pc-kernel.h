// State and helpers the kernel-only parts of platform/pc share (interrupts.c, timer.c); the
// parts shared with the PVH boot programs are in include/platform/pc.h.
//
// Interrupt vectors (IDT, arch/x86_64/arch.c):
//   0x20-0x2f  legacy 8259 PIC, remapped here and fully masked (only spurious IRQ7/15 arrive)
//   0x40       local APIC timer (the scheduler tick)
//   0xf0-0xf2  inter-processor requests: TLB shootdown, reschedule, halt (kernel/smp.h)
//   0xff       local APIC spurious vector
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define PC_VECTOR_PIC_BASE 0x20u
#define PC_VECTOR_PIC_END 0x30u
#define PC_VECTOR_TIMER 0x40u
#define PC_VECTOR_IPI_BASE 0xf0u  // 0xf0 + enum smp_ipi (kernel/smp.h)
#define PC_VECTOR_IPI_END 0xf3u
#define PC_VECTOR_SPURIOUS 0xffu

// Local APIC registers (byte offsets from its MMIO base).
#define LAPIC_ID 0x020u
#define LAPIC_TPR 0x080u
#define LAPIC_EOI 0x0b0u
#define LAPIC_SVR 0x0f0u
#define LAPIC_LVT_TIMER 0x320u
#define LAPIC_LVT_LINT0 0x350u
#define LAPIC_LVT_LINT1 0x360u
#define LAPIC_LVT_ERROR 0x370u
#define LAPIC_TIMER_INITIAL 0x380u
#define LAPIC_TIMER_CURRENT 0x390u
#define LAPIC_TIMER_DIVIDE 0x3e0u

#define LAPIC_LVT_MASKED (1u << 16)
#define LAPIC_LVT_PERIODIC (1u << 17)

// The ACPI_RSDP item's address (platform.c), 0 if the data ZBI had none.
extern uint64_t pc_rsdp;

// Reads / writes one local APIC register (after pc_lapic_init).
uint32_t pc_lapic_read(uint32_t reg);
void pc_lapic_write(uint32_t reg, uint32_t value);

// Sends one IPI (ICR command word `command`) to local APIC `apic_id`, waiting until it left.
void pc_lapic_send_ipi(uint32_t apic_id, uint32_t command);

// Sets up the monotonic clock (the ACPI PM timer found through the RSDP `rsdp`, 0: search)
// and calibrates the local APIC timer against it. Panics without a PM timer.
void pc_timer_init(uint64_t rsdp);
