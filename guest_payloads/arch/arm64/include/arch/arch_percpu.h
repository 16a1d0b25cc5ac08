// arm64 part of struct percpu (include/kernel/percpu.h), reached through TPIDR_EL1 (EL0
// cannot read it). Fields at fixed offsets for the assembly:
#pragma once

#define ARM64_PERCPU_EMERGENCY_SP 0  // top of this CPU's emergency stack (vectors.S)

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

struct arch_percpu {
    uintptr_t emergency_sp;
    bool tlb_batch;        // inside arch_mmu_batch_begin/end (arch/arm64/mmu.c)
    bool tlb_batch_dirty;  // a page was invalidated in the batch: flush at its end
};

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
