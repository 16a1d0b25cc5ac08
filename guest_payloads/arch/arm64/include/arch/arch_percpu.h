// arm64 part of struct percpu (include/kernel/percpu.h), reached through TPIDR_EL1 (EL0
// cannot read it).
//
// The running thread lives in SP_EL0 while the CPU is at EL1 (the kernel runs on SP_EL1, so
// SP_EL0 is free there; the Linux `current` trick): one `mrs` reads it, which a migration
// cannot split. EL0 owns SP_EL0 as its stack pointer: an exception from EL0 saves it in the
// frame and loads the thread from `current` below; the way back restores the user's
// (vectors.S). Fields at fixed offsets for the assembly:
#pragma once

#define ARM64_PERCPU_EMERGENCY_SP 0  // top of this CPU's emergency stack (vectors.S)
#define ARM64_PERCPU_CURRENT 8       // the running thread, for SP_EL0 on entry from EL0

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

struct arch_percpu {
    uintptr_t emergency_sp;
    struct thread *current;  // mirrors struct percpu's `current`
    bool tlb_batch;        // inside arch_mmu_batch_begin/end (arch/arm64/mmu.c)
    bool tlb_batch_dirty;  // a page was invalidated in the batch: flush at its end
};

_Static_assert(__builtin_offsetof(struct arch_percpu, current) == ARM64_PERCPU_CURRENT, "");

struct thread;

// The thread running on this CPU (SP_EL0, see above).
static inline struct thread *arch_thread_current(void) {
    struct thread *t;
    __asm__ volatile("mrs %0, sp_el0" : "=r"(t));
    return t;
}

// Records `t` as the running thread of this CPU (`a` is this CPU's own; interrupts masked).
static inline void arch_set_thread_current(struct arch_percpu *a, struct thread *t) {
    a->current = t;
    __asm__ volatile("msr sp_el0, %0" : : "r"(t) : "memory");
}

static inline void *arch_percpu_self(void) {
    void *p;
    __asm__ volatile("mrs %0, tpidr_el1" : "=r"(p));
    return p;
}

// A hint to the CPU inside a spin-wait loop.
static inline void arch_spin_pause(void) {
    __asm__ volatile("yield" ::: "memory");
}
#endif
