// The hooks every architecture (arch/<arch>/) provides to generic kernel code: CPU set-up,
// interrupt masking, idling, and thread context switching. Generic code never names a CPU:
// it calls these. Implemented in arch/x86_64/arch.c and arch/arm64/exception.c, with the
// register-level context switch in arch/<arch>/thread.S.
//
// Interrupt masking only excludes this CPU's interrupt handlers; shared state is guarded by
// the locks of include/kernel/lock.h (spinlocks and the thread lock mask interrupts too).
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <arch/arch_thread.h>  // struct arch_thread: what arch_context_switch saves per thread

// Opaque saved interrupt-enable state (arch_irq_save / arch_irq_restore).
typedef uint64_t arch_irq_state_t;

// Installs the exception/interrupt table (x86-64 IDT, arm64 VBAR_EL1) and any CPU state the
// kernel needs. Called first thing in kernel_main, interrupts masked.
void arch_init(void);

struct percpu;

// Points this CPU's per-CPU register at `c` (x86-64: MSR_GS_BASE, with MSR_KERNEL_GS_BASE 0
// for ring 3; arm64: TPIDR_EL1) and fills in the arch part of `c`. Before arch_init.
void arch_percpu_install(struct percpu *c);

// arch_spin_pause(): a hint to the CPU inside a spin-wait loop, in <arch/arch_percpu.h>.

// Unmasks / masks interrupts on this CPU.
void arch_irq_enable(void);
void arch_irq_disable(void);
// Masks interrupts and returns the previous state, for arch_irq_restore.
arch_irq_state_t arch_irq_save(void);
// Puts back the interrupt state arch_irq_save returned.
void arch_irq_restore(arch_irq_state_t state);

// Waits for the next interrupt (hlt / wfi). Called by the idle thread with interrupts
// enabled; the interrupt is taken (and may switch threads) before this returns.
void arch_idle(void);

// Halts this CPU with interrupts masked until something (an NMI, INIT, an event) wakes it;
// the parked secondaries loop on it.
void arch_cpu_park(void);

// The first physical address past what the kernel can touch directly (its own mapping of
// physical memory). Memory at or above it is never handed out by the page allocator.
uint64_t arch_phys_limit(void);

// Prepares `t`'s kernel stack [stack_base, stack_base + stack_size) so that the first
// arch_context_switch to `t` enters `start()` on that stack with interrupts masked.
// `start` must never return.
void arch_thread_init(struct arch_thread *t, uintptr_t stack_base, uintptr_t stack_size,
                      void (*start)(void));

// Copies n bytes from user address `usrc` of the running address space to kernel `dst`
// (arch_copy_to_user: kernel `src` to user `udst`) with the user's own access rights, so a
// read-only page refuses a store. The caller checked that the user range lies in
// [USER_ASPACE_BASE, USER_ASPACE_TOP). While it runs, `*resume` holds its failure exit: the
// arch fault handler gives a kernel page fault at a user address to usercopy_fault
// (<kernel/usercopy.h>), which resolves it (the access is retried) or resumes there. Returns
// 0, or 1 after a fault it could not resolve (the bytes before it may have moved). `*resume`
// is 0 again when it returns.
uint64_t arch_copy_from_user(void *dst, const void *usrc, size_t n, uintptr_t *resume);
uint64_t arch_copy_to_user(void *udst, const void *src, size_t n, uintptr_t *resume);

// Sets the kernel stack top the CPU switches to when user mode enters the kernel (x86-64:
// TSS.rsp0 and the syscall entry stack; arm64: nothing, SP_EL1 is the thread's own sp).
// Called by the scheduler for every thread it switches to.
void arch_set_kernel_stack(uintptr_t top);

// Leaves the kernel for good: enters user mode at `entry` with stack pointer `sp`, the
// first two argument registers holding arg1 and arg2, interrupts enabled and every other
// register zero. The current thread's address space must be active.
__attribute__((noreturn)) void arch_enter_user(uintptr_t entry, uintptr_t sp, uintptr_t arg1,
                                               uintptr_t arg2);

// The initial user stack pointer for a stack ending at `stack_top`, as the ABI's function
// entry expects it (x86-64: 16-byte aligned minus the return address slot; arm64: aligned).
uintptr_t arch_user_stack_pointer(uintptr_t stack_top);

// Saves the callee-saved registers and stack pointer of the running thread into `from` and
// resumes `to` where it last switched away (or at its start function). Interrupts must be
// masked; the caller's interrupt state comes back when `from` is resumed.
void arch_context_switch(struct arch_thread *from, struct arch_thread *to);
