// State and functions the qemu-virt platform code (platform.c, pvpanic.c, gic.c, timer.c)
// shares: what platform_init found in the data ZBI's KERNEL_DRIVER items, the GIC driver and
// the generic timer.
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <kernel/bootinfo.h>

#include <platform/pcie-ecam.h>

struct qemu_virt {
    uintptr_t uart;                    // PL011 registers; 0 until platform_init
    int psci_use_hvc;                  // -1: no ARM_PSCI item, so power-off can only halt
    const zhb_dcfg_pcie_ecam_t *pcie;  // the private PCIE_ECAM item, or NULL
};

extern struct qemu_virt qemu_virt;

// The payload of the first KERNEL_DRIVER item of `kind`, or NULL if there is none or it is
// shorter than `size` (the config struct it should hold).
const void *qemu_virt_driver_config(const struct boot_info *bi, uint32_t kind, uint32_t size);

// ---- GIC (gic.c) ----

// Brings up the distributor, CPU 0's redistributor (v3) and the CPU interface from the
// ARM_GIC_V3 item, else the ARM_GIC_V2 item; panics if there is neither.
void gic_init(const struct boot_info *bi);
// A secondary CPU's own part: its redistributor (v3) or banked CPU interface (v2).
void gic_init_secondary(void);
// Makes private interrupt `intid` (< 32) Group 1, priority GIC_PRIORITY, enabled.
void gic_enable_ppi(uint32_t intid);
// Acknowledges the highest-priority pending interrupt and returns its INTID (>= 1020: none).
// Acknowledges the highest pending interrupt: the value for gic_eoi (gic_intid gives its
// INTID; 1020-1023: none).
uint32_t gic_ack(void);
uint32_t gic_intid(uint32_t ack);
// Sends software-generated interrupt `sgi` (0-15) to every other CPU.
void gic_send_sgi_others(uint32_t sgi);
// Sends software-generated interrupt `sgi` to CPU `cpu` (percpu number) alone.
void gic_send_sgi(uint32_t cpu, uint32_t sgi);
// Signals end of interrupt (priority drop and deactivation) for `intid`.
void gic_eoi(uint32_t ack);

// ---- generic timer (timer.c) ----

// Picks the EL1 virtual or physical timer and the counter rate from the ARM_GENERIC_TIMER
// item; the timer stays disabled until platform_timer_start. Panics without the item.
void generic_timer_init(const struct boot_info *bi);
// If `intid` is the tick's interrupt: re-arms the comparator for the next tick and returns
// true. Otherwise returns false.
bool generic_timer_irq(uint32_t intid);
