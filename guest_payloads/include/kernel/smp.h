// CPU discovery and bring-up (kernel/smp.c).
//
//   smp_init (boot CPU, after the tick runs):
//     platform_cpu_discover -> hardware ids (x86-64: ACPI MADT local APIC ids; arm64: the
//     CPU_TOPOLOGY item's MPIDR affinities) -> for each secondary: an idle thread, whose
//     stack the CPU starts on -> platform_cpu_start (INIT-SIPI-SIPI / PSCI CPU_ON) -> wait
//     up to SMP_START_TIMEOUT_NS for it to report -> "zhb kernel: N CPUs online"
//   a secondary: arch entry (own MMU set-up, per-CPU register, exception table) ->
//     smp_secondary_main(c) -> online -> parked (interrupts masked, halted)
//
// A CPU that does not report in time, or whose start the firmware refuses, is reported
// ("zhb kernel: cpu N (id 0x..) failed to start: why") and left out: its start state becomes
// ABANDONED, so a CPU that arrives late parks without counting itself.
//
// Scheduling stays on the boot CPU: the secondaries are brought up and then parked (halted
// with interrupts masked, out of every run queue; see guest_payloads/README.md "SMP").
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <kernel/bootinfo.h>
#include <kernel/percpu.h>

#define SMP_START_TIMEOUT_NS 2000000000ull  // how long a starting CPU may take to report

// Brings up every CPU the platform describes and prints how many are online. Interrupts on.
void smp_init(const struct boot_info *bi);

// Generic entry of a secondary CPU `c`, called by its arch entry on its idle thread's stack
// with the per-CPU register and exception table set up and interrupts masked. Never returns.
__attribute__((noreturn)) void smp_secondary_main(struct percpu *c);
