// PC platform pieces shared by the kernel (platform/pc/platform.c) and the PVH boot programs
// (phys/x86_64/): the 16550 console, ACPI power-off and pvpanic. Callers run in 64-bit mode
// and reach physical memory (ACPI tables, the BIOS area) through pc_phys_ptr.
#pragma once

#include <stdbool.h>
#include <stdint.h>

// ---- 16550 UART on port I/O (platform/pc/uart.c) ----

// COM1, the port QEMU's first -serial is wired to, and its ISA IRQ.
#define PC_COM1_PORT 0x3f8u
#define PC_COM1_IRQ 4u

// Programs the UART at `base` for 115200 8N1, polled, and makes it the console.
void pc_uart_init(uint16_t base);
// Sends one byte (blocking); does nothing before pc_uart_init.
void pc_uart_putc(char c);
// Waits until every byte sent has left the transmitter.
void pc_uart_flush(void);

// ---- ACPI (platform/pc/acpi.c) ----

// What power-off needs from the ACPI tables: the PM1 control ports with the S5 sleep types
// from the DSDT's \_S5_ package, and the PM timer port.
struct pc_acpi_power {
    uint16_t pm1a_cnt;  // PM1a control block I/O port (0 if the FADT has none)
    uint16_t pm1b_cnt;  // PM1b control block I/O port (0 if none)
    uint16_t slp_typa;  // SLP_TYPx values for S5
    uint16_t slp_typb;
    uint16_t pm_tmr;    // PM timer I/O port (0 if none)
    bool pm_tmr_32bit;  // the timer counts 32 bits (else 24)
};

// Where the program sees physical address `paddr` (ACPI tables, the BIOS areas). A weak
// identity in acpi.c; the kernel defines it as its physmap.
const void *pc_phys_ptr(uint64_t paddr);

// Returns the RSDP's physical address: `hint` if it holds a valid RSDP, else the one found
// by scanning the EBDA and the BIOS area 0xe0000-0xfffff, else 0.
uint64_t pc_acpi_find_rsdp(uint64_t hint);

// Fills *out from the FADT and DSDT reached from the RSDP at `rsdp` (0: search for one).
// Returns 0, or -1 with *why set to a static message if S5 cannot be entered via ACPI.
int pc_acpi_power_info(uint64_t rsdp, struct pc_acpi_power *out, const char **why);

// The local APIC ids of the enabled (or online-capable) processors in the MADT ("APIC")
// found through the RSDP at `rsdp` (0: search), in table order, at most `max` of them.
// Returns how many, 0 without a usable MADT.
uint32_t pc_acpi_cpu_apic_ids(uint64_t rsdp, uint32_t ids[], uint32_t max);

// ---- power (platform/pc/power.c) ----

// I/O port of QEMU's pvpanic ISA device (-device pvpanic) and its "guest panicked" event.
#define PC_PVPANIC_PORT 0x505u
#define PC_PVPANIC_PANICKED 1u

// Tells QEMU the guest panicked (QMP GUEST_PANICKED); harmless without the device.
void pc_pvpanic_signal(void);

// Powers off: ACPI S5 through the tables reached from `rsdp` (0: search), which QEMU reports
// on QMP as a guest-initiated SHUTDOWN; if the machine still runs a second later, QEMU's
// isa-debug-exit (exit status 31); then halts forever.
__attribute__((noreturn)) void pc_power_off(uint64_t rsdp);
