// CPU discovery and bring-up (kernel/smp.c).
//
//   smp_init (boot CPU, after the tick runs):
//     platform_cpu_discover -> hardware ids (x86-64: ACPI MADT local APIC ids; arm64: the
//     CPU_TOPOLOGY item's MPIDR affinities) -> for each secondary: an idle thread, whose
//     stack the CPU starts on -> platform_cpu_start (INIT-SIPI-SIPI / PSCI CPU_ON) -> wait
//     up to SMP_START_TIMEOUT_NS for it to report -> "zhb kernel: N CPUs online"
//   a secondary: arch entry (own MMU set-up, per-CPU register, exception table) ->
//     smp_secondary_main(c) -> its interrupt-controller interface and tick -> online ->
//     the idle loop: from here it runs threads from the global run queue
//
// A CPU that does not report in time, or whose start the firmware refuses, is reported
// ("zhb kernel: cpu N (id 0x..) failed to start: why") and left out: its start state becomes
// ABANDONED, so a CPU that arrives late parks without counting itself.
//
// The scheduling policy and the cross-CPU requests are described in guest_payloads/README.md
// "SMP".
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <kernel/bootinfo.h>
#include <kernel/percpu.h>

#define SMP_START_TIMEOUT_NS 2000000000ull  // how long a starting CPU may take to report

// Brings up every CPU the platform describes and prints how many are online. Interrupts on.
void smp_init(const struct boot_info *bi);

// Inter-processor requests (platform_ipi_others).
enum smp_ipi {
    SMP_IPI_TLB,         // carry out the pending TLB shootdowns (smp_poll)
    SMP_IPI_RESCHEDULE,  // a thread became ready: leave the idle loop
    SMP_IPI_HALT,        // another CPU panicked: stop
};

// TLB shootdown for the architectures that need one (x86-64; arm64 broadcasts TLBI in
// hardware): every other online CPU flushes its whole TLB before this returns. Callable in
// any context (interrupts masked, spinlocks or the thread lock held): while it waits, and
// while any CPU spins on a spinlock, pending requests are served (smp_poll), so two CPUs
// shooting at each other, or at a CPU spinning on a lock they hold, cannot deadlock.
void smp_tlb_shootdown(void);

// Serves this CPU's pending cross-CPU requests (a TLB flush; the halt after a panic). Called
// from the IPI handler and from every spin-wait loop; interrupts masked.
void smp_poll(void);

// The platform's IPI handler, for a request of `kind` (enum smp_ipi): serves it and returns
// true if the interrupted thread should be preempted (a reschedule).
bool smp_ipi_received(uint32_t kind);

// True once another CPU panicked (this one then halts in smp_poll).
bool smp_panicking(void);
// Called by panic(): marks the panic and stops the other CPUs. Returns false if another CPU
// panicked first (the caller then just halts).
bool smp_panic_stop_others(void);

// Generic entry of a secondary CPU `c`, called by its arch entry on its idle thread's stack
// with the per-CPU register and exception table set up and interrupts masked. Never returns.
__attribute__((noreturn)) void smp_secondary_main(struct percpu *c);
