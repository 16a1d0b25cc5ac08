// x86-64 part of struct percpu (include/kernel/percpu.h), reached through the GS base.
//
// The kernel runs with MSR_GS_BASE = this CPU's struct percpu; ring 3 runs with the user's
// (always 0 here) and every entry from / exit to ring 3 does `swapgs` (user.S, exceptions.S),
// so MSR_KERNEL_GS_BASE holds the other one. Fields at fixed offsets for the assembly:
#pragma once

#define X86_PERCPU_SELF 0         // the struct's own address (what %gs:0 reads)
#define X86_PERCPU_KERNEL_RSP 8   // the running thread's kernel stack top (TSS.rsp0 too)
#define X86_PERCPU_USER_RSP 16    // the user %rsp parked by the syscall entry
#define X86_PERCPU_CURRENT 24     // the running thread (arch_thread_current)

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

struct arch_percpu {
    void *self;
    uintptr_t kernel_rsp;
    uintptr_t user_rsp;
    struct thread *current;  // mirrors struct percpu's `current`
    bool tlb_batch;        // inside arch_mmu_batch_begin/end (arch/x86_64/mmu.c)
    bool tlb_batch_dirty;  // a page was invalidated in the batch: shoot down at its end
};
_Static_assert(__builtin_offsetof(struct arch_percpu, kernel_rsp) == X86_PERCPU_KERNEL_RSP, "");
_Static_assert(__builtin_offsetof(struct arch_percpu, user_rsp) == X86_PERCPU_USER_RSP, "");
_Static_assert(__builtin_offsetof(struct arch_percpu, current) == X86_PERCPU_CURRENT, "");

struct thread;

// The thread running on this CPU, in one %gs-relative load: a migration cannot split it, so
// no interrupt masking is needed.
static inline struct thread *arch_thread_current(void) {
    struct thread *t;
    __asm__ volatile("mov %%gs:%c1, %0" : "=r"(t) : "i"(X86_PERCPU_CURRENT));
    return t;
}

// Records `t` as the running thread of this CPU (`a` is this CPU's own; interrupts masked).
static inline void arch_set_thread_current(struct arch_percpu *a, struct thread *t) {
    a->current = t;
}

static inline void *arch_percpu_self(void) {
    void *p;
    __asm__ volatile("mov %%gs:0, %0" : "=r"(p));
    return p;
}

// A hint to the CPU inside a spin-wait loop.
static inline void arch_spin_pause(void) {
    __asm__ volatile("pause" ::: "memory");
}
#endif
