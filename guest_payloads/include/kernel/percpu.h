// Per-CPU state (kernel/percpu.c).
//
// Every CPU owns one struct percpu, reached through an arch register (x86-64: the GS base,
// swapped with `swapgs` on every entry from and exit to ring 3; arm64: TPIDR_EL1, which EL0
// cannot read) so percpu_get() is one instruction. The arch part comes first: the arch entry
// code reaches its fields at fixed offsets from that register (arch/<arch>/include/arch/
// arch_percpu.h). The generic part is the scheduler's: the thread this CPU runs, its idle
// thread, and how deep the CPU holds the thread lock (kernel/thread.c).
//
// Rules: a CPU only writes its own struct, except `online` and `cpu_num`, written by the boot
// CPU before the CPU starts. A thread reading percpu_get() must not be migrated in between,
// which holds while it holds the thread lock or has interrupts masked.
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <arch/arch_percpu.h>

#define SMP_MAX_CPUS 8u

struct thread;

struct percpu {
    struct arch_percpu arch;  // first: arch entry code finds it at the per-CPU register
    uint32_t cpu_num;         // 0: the boot CPU
    volatile bool online;     // set by the CPU itself once it runs kernel code
    struct thread *current;   // the thread this CPU runs
    struct thread *idle;      // its idle thread (never on the run queue)
    uint32_t thread_lock_depth;  // nesting of thread_lock_irqsave on this CPU
    volatile uint64_t tlb_seen;  // the last TLB shootdown generation this CPU carried out
    bool kick_pending;  // a thread made ready inside a syscall here: kick an idle CPU unless
                        // this CPU takes it first (kernel/thread.c kick_idle_cpu)
};

extern struct percpu percpu_cpus[SMP_MAX_CPUS];

// This CPU's struct.
static inline struct percpu *percpu_get(void) {
    return (struct percpu *)arch_percpu_self();
}

// Makes `t` the running thread of this CPU (`c`, interrupts masked): `current` and the arch
// register arch_thread_current() reads.
static inline void percpu_set_current(struct percpu *c, struct thread *t) {
    __atomic_store_n(&c->current, t, __ATOMIC_SEQ_CST);
    arch_set_thread_current(&c->arch, t);
}

// Sets up the boot CPU's struct (cpu 0) and points the arch register at it. First thing in
// kernel_main, before arch_init.
void percpu_init_boot(void);

// How many CPUs are online (the boot CPU included).
uint32_t percpu_online_count(void);
