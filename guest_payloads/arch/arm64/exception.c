// arm64 exceptions and the arch hooks of include/kernel/arch.h.
//
//   slot 5 (IRQ, current EL, SPx)  -> platform_irq(0), then thread_preempt() if it asks
//   any other slot                 -> register dump + panic (a kernel bug: the kernel takes
//                                     no faults on purpose and runs no lower EL yet)
// If the panic path itself faults, the next exception only powers off, and one after that
// halts, so a broken console or conduit cannot loop forever.
//
// Kernel stack overflow (<kernel/kstack.h>): the EL1 vectors send an exception whose sp is
// in a stack's guard to arm64_kstack_overflow on an emergency stack (vectors.S); a data
// abort from EL1 whose FAR is in a guard (the frame still fitted) ends the same way:
//   kernel stack overflow in thread NAME (fault address 0x...)
//
// start.S turned the MMU on (arch/arm64/mmu.c, which also reports arch_phys_limit());
// arch_init loads the final kernel tables (W^X by section, arm64_mmu_protect_kernel), drops
// the boot-time identity view from TTBR0 and installs the vectors.
#include <arch/arm64/exception.h>
#include <arch/arm64/mmu.h>
#include <arch/arm64/psci.h>
#include <kernel/arch.h>
#include <kernel/kstack.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/physmap.h>
#include <kernel/smp.h>
#include <kernel/arch_mmu.h>
#include <arch/arm64/smp.h>
#include <kernel/platform.h>
#include <kernel/syscall.h>
#include <kernel/thread.h>
#include <kernel/usercopy.h>
#include <kernel/vm.h>
#include <lib/console.h>

#define DAIF_IRQ (1u << 7)  // PSTATE.I as mrs daif reports it
#define ESR_EC_SHIFT 26
#define ESR_EC_MASK 0x3fu
#define ESR_EC_SVC64 0x15u
#define ESR_EC_IABT_LOWER 0x20u
#define ESR_EC_DABT_LOWER 0x24u
#define ESR_EC_DABT_CURRENT 0x25u
#define ESR_FSC_TYPE_MASK 0x3cu    // xFSC without its level bits
#define ESR_FSC_TRANSLATION 0x04u  // translation fault, any level
#define ESR_FSC_PERMISSION 0x0cu   // permission fault, any level
#define ESR_ISS_WNR (1u << 6)
// The kernel returns from a syscall past the stub's 12-byte speculation barrier.
#define ARM64_SYSCALL_RETURN_SKIP 12
#define ARM64_SYSCALL_NUM_REG 16

extern const char arm64_vectors[];
void arm64_context_switch(uintptr_t *from_sp, uintptr_t to_sp);

static const char *const slot_groups[] = {"current EL SP0", "current EL SPx", "lower EL AArch64",
                                          "lower EL AArch32"};
static const char *const slot_kinds[ARM64_SLOT_KINDS] = {"sync", "IRQ", "FIQ", "SError"};

#define ARM64_EMERGENCY_STACK_SIZE 8192

// The emergency stacks of arm64_kstack_overflow, one per CPU.
static char emergency_stacks[SMP_MAX_CPUS][ARM64_EMERGENCY_STACK_SIZE] __attribute__((aligned(16)));

void arch_percpu_install(struct percpu *c) {
    c->arch.emergency_sp = (uintptr_t)emergency_stacks[c->cpu_num] + ARM64_EMERGENCY_STACK_SIZE;
    __asm__ volatile("msr tpidr_el1, %0" : : "r"(c) : "memory");
    arch_set_thread_current(&c->arch, c->current);  // a secondary's idle thread, set for it
}

// ---- secondary CPUs (arch/arm64/include/arch/arm64/smp.h) ----

void arm64_secondary_start(void);
void arm64_secondary_high_entry(void);
__attribute__((noreturn)) void arm64_secondary_main(struct percpu *c);

// One boot block: CPUs start one at a time (kernel/smp.c waits for each).
static struct arm64_secondary_boot secondary_boot __attribute__((aligned(64)));

#define ARM64_CACHE_LINE 64

uintptr_t arm64_secondary_prepare(struct percpu *c, uintptr_t stack_top, uint64_t *context) {
    struct arm64_secondary_boot *b = &secondary_boot;
    __asm__ volatile("mrs %0, mair_el1" : "=r"(b->mair));
    __asm__ volatile("mrs %0, tcr_el1" : "=r"(b->tcr));
    __asm__ volatile("mrs %0, ttbr1_el1" : "=r"(b->ttbr1));
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(b->sctlr));
    b->ttbr0_boot = arm64_mmu_boot_root();
    b->high_entry = (uintptr_t)arm64_secondary_high_entry;
    b->stack = stack_top;
    b->percpu = (uintptr_t)c;
    b->ttbr0 = arch_mmu_kernel_root();
    // The CPU reads the block with its MMU and caches off: clean it to the point of coherency.
    for (uintptr_t p = (uintptr_t)b; p < (uintptr_t)(b + 1); p += ARM64_CACHE_LINE) {
        __asm__ volatile("dc cvac, %0" : : "r"(p) : "memory");
    }
    __asm__ volatile("dsb sy" ::: "memory");
    *context = vaddr_to_paddr(b);
    return vaddr_to_paddr((const void *)arm64_secondary_start);
}

static void arm64_enable_pan(bool boot);

void arm64_secondary_main(struct percpu *c) {
    arch_percpu_install(c);
    __asm__ volatile("msr vbar_el1, %0; isb" : : "r"(arm64_vectors) : "memory");
    arm64_enable_pan(false);
    smp_secondary_main(c);
}

void arch_cpu_park(void) {
    __asm__ volatile("msr daifset, #2; wfi" ::: "memory");
}

// PAN (FEAT_PAN, ID_AA64MMFR1_EL1.PAN != 0): EL1 loads and stores to EL0-accessible pages
// fault, so the kernel reaches user memory only through the user copies' ldtr/sttr
// (arch/arm64/usercopy.S, which PAN does not affect). SCTLR_EL1.SPAN = 0 sets PSTATE.PAN on
// every exception taken to EL1; the CPU sets it now too (`msr pan`, S3_0_C4_C2_3). Secondaries
// take the boot CPU's SCTLR_EL1 and call this for their own PSTATE.
#define SCTLR_SPAN (1ull << 23)
static bool pan_enabled;

static void arm64_enable_pan(bool boot) {
    uint64_t mmfr1;
    __asm__ volatile("mrs %0, id_aa64mmfr1_el1" : "=r"(mmfr1));
    if (boot) {
        pan_enabled = ((mmfr1 >> 20) & 0xf) != 0;
    }
    if (!pan_enabled) {
        return;
    }
    uint64_t sctlr;
    __asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
    __asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr & ~SCTLR_SPAN) : "memory");
    __asm__ volatile("msr s3_0_c4_c2_3, %0; isb" : : "r"(1ull << 22) : "memory");
}

void arch_init(void) {
    if (((uintptr_t)kstack_boot_guard & (KSTACK_SLOT_SIZE - 1)) != 0) {
        // The vectors' overflow test needs the boot stack at a 32 KiB aligned slot address.
        panic("arch_init: kernel loaded at an address that is not a multiple of 32 KiB");
    }
    arm64_mmu_protect_kernel();
    arm64_mmu_drop_identity();
    __asm__ volatile("msr vbar_el1, %0; isb" : : "r"(arm64_vectors) : "memory");
    arm64_enable_pan(true);
}

// Prints x0-x30, sp, elr, spsr of `f` before a panic.
static void arm64_dump_frame(const struct arm64_iframe *f) {
    printf("arm64 registers: elr 0x%016lx spsr 0x%08lx sp 0x%016lx\n", f->elr, f->spsr, f->sp);
    for (int i = 0; i < 31; i += 4) {
        printf(" x%02d", i);  // one row: up to 4 registers from x<i>
        for (int j = i; j < i + 4 && j < 31; j++) {
            printf(" 0x%016lx", f->x[j]);
        }
        printf("\n");
    }
}

__attribute__((noreturn)) void arm64_enter_user(uintptr_t entry, uintptr_t sp, uintptr_t arg1,
                                                uintptr_t arg2);

void arch_enter_user(uintptr_t entry, uintptr_t sp, uintptr_t arg1, uintptr_t arg2) {
    arm64_enter_user(entry, sp, arg1, arg2);
}

static const char *user_fault_kind(uint64_t ec) {
    switch (ec) {
    case ESR_EC_IABT_LOWER:
        return "instruction abort";
    case ESR_EC_DABT_LOWER:
        return "data abort";
    case 0x22u:
        return "PC alignment fault";
    case 0x26u:
        return "SP alignment fault";
    case 0x3cu:
        return "breakpoint (brk)";
    case 0x00u:
        return "undefined instruction";
    default:
        return "exception";
    }
}

// An exception from EL0: a syscall, an interrupt, or a fault that kills the process.
// A user abort on a page not present yet (a translation fault, xFSC 0b0001LL: demand paging)
// or a data write to a present read-only page (a permission fault, 0b0011LL: copy-on-write),
// for user_page_fault. True when the access can be retried. ISS bit 6 (WnR): a write.
static bool arm64_user_page_fault(uint64_t esr, uint64_t ec, uint64_t far) {
    uint64_t fsc = esr & ESR_FSC_TYPE_MASK;
    bool cow = fsc == ESR_FSC_PERMISSION && ec == ESR_EC_DABT_LOWER && (esr & ESR_ISS_WNR);
    if (fsc != ESR_FSC_TRANSLATION && !cow) {
        return false;
    }
    uint32_t access = ec == ESR_EC_IABT_LOWER ? ARCH_MMU_FLAG_EXECUTE
                      : (esr & ESR_ISS_WNR)   ? ARCH_MMU_FLAG_WRITE
                                              : ARCH_MMU_FLAG_READ;
    return user_page_fault(far, access);
}

static void arm64_user_exception(struct arm64_iframe *frame, uint64_t slot) {
    if (slot == ARM64_SLOT_LOWER_IRQ) {
        if (platform_irq(0)) {
            thread_preempt();
        }
        user_return_check();
        return;
    }
    uint64_t esr, far;
    __asm__ volatile("mrs %0, esr_el1" : "=r"(esr));
    __asm__ volatile("mrs %0, far_el1" : "=r"(far));
    uint64_t ec = (esr >> ESR_EC_SHIFT) & ESR_EC_MASK;
    if (slot == ARM64_SLOT_LOWER_SYNC && ec == ESR_EC_SVC64) {
        uintptr_t pc = frame->elr;  // the instruction after the svc
        frame->x[0] = (uint64_t)syscall_dispatch(frame->x[ARM64_SYSCALL_NUM_REG], frame->x, pc);
        frame->elr = pc + ARM64_SYSCALL_RETURN_SKIP;
        user_return_check();  // syscall_dispatch returns with interrupts masked
        return;
    }
    bool abort = ec == ESR_EC_IABT_LOWER || ec == ESR_EC_DABT_LOWER;
    arch_irq_enable();
    if (abort && arm64_user_page_fault(esr, ec, far)) {
        arch_irq_disable();
        user_return_check();
        return;
    }
    user_fault(user_fault_kind(ec), abort ? far : frame->elr, frame->elr);
}

static uint64_t read_esr(void) {
    uint64_t esr;
    __asm__ volatile("mrs %0, esr_el1" : "=r"(esr));
    return esr;
}

static uint64_t read_far(void) {
    uint64_t far;
    __asm__ volatile("mrs %0, far_el1" : "=r"(far));
    return far;
}

// The fault address of a stack overflow: FAR for a data abort at EL1, else the sp at the
// exception (an interrupt taken with sp already in the guard).
static uint64_t overflow_address(uint64_t sp) {
    uint64_t ec = (read_esr() >> ESR_EC_SHIFT) & ESR_EC_MASK;
    uint64_t far = read_far();
    return ec == ESR_EC_DABT_CURRENT && kstack_guard_owner(far) != NULL ? far : sp;
}

// From vectors.S on the emergency stack: an EL1 exception found sp in a stack's guard.
__attribute__((noreturn)) void arm64_kstack_overflow(uint64_t sp);
void arm64_kstack_overflow(uint64_t sp) {
    static int nested;
    if (nested++ > 0) {
        platform_poweroff();  // the panic path overflowed too (or faulted): just stop
    }
    uint64_t elr, esr = read_esr();
    __asm__ volatile("mrs %0, elr_el1" : "=r"(elr));
    uint64_t addr = overflow_address(sp);
    const char *owner = kstack_guard_owner(addr);
    printf("arm64 stack overflow: sp 0x%016lx elr 0x%016lx esr 0x%lx far 0x%016lx\n", sp, elr,
           esr, read_far());
    if (owner == NULL) {
        panic("arm64_exception: kernel sp 0x%lx outside every kernel stack, ELR 0x%lx", sp, elr);
    }
    panic("kernel stack overflow in thread %s (fault address 0x%lx)", owner, addr);
}

void arm64_exception(struct arm64_iframe *frame, uint64_t slot) {
    if (slot == ARM64_SLOT_CURRENT_SPX_IRQ) {
        if (platform_irq(0)) {
            thread_preempt();
        }
        return;
    }
    if (slot >= ARM64_SLOT_LOWER_FIRST && slot < ARM64_SLOT_LOWER_FIRST + ARM64_SLOT_KINDS) {
        arm64_user_exception(frame, slot);
        return;
    }
    if (slot == ARM64_SLOT_CURRENT_SPX_SYNC && kstack_guard_owner(read_far()) != NULL &&
        ((read_esr() >> ESR_EC_SHIFT) & ESR_EC_MASK) == ESR_EC_DABT_CURRENT) {
        arm64_kstack_overflow(frame->sp);  // the frame fitted, the access below it did not
    }
    if (slot == ARM64_SLOT_CURRENT_SPX_SYNC &&
        ((read_esr() >> ESR_EC_SHIFT) & ESR_EC_MASK) == ESR_EC_DABT_CURRENT) {
        // The kernel's own access: a user copy's ldtr/sttr (arch_copy_from_user), or a bug.
        uint64_t esr = read_esr();
        uint64_t fsc = esr & ESR_FSC_TYPE_MASK;
        bool write = (esr & ESR_ISS_WNR) != 0;
        uint32_t access = fsc == ESR_FSC_TRANSLATION ? (write ? ARCH_MMU_FLAG_WRITE
                                                             : ARCH_MMU_FLAG_READ)
                          : fsc == ESR_FSC_PERMISSION && write ? ARCH_MMU_FLAG_WRITE
                                                               : 0;
        if (usercopy_fault(read_far(), access, (frame->spsr & DAIF_IRQ) == 0, &frame->elr)) {
            return;
        }
    }
    static int nested;
    switch (nested++) {
    case 0:
        break;
    case 1:
        platform_poweroff();
    default:
        arm64_halt();
    }
    uint64_t esr, far;
    __asm__ volatile("mrs %0, esr_el1" : "=r"(esr));
    __asm__ volatile("mrs %0, far_el1" : "=r"(far));
    arm64_dump_frame(frame);
    panic("arm64_exception: %s %s (slot %lu), ESR 0x%lx (EC 0x%lx), ELR 0x%lx, FAR 0x%lx",
          slot_groups[slot / ARM64_SLOT_KINDS], slot_kinds[slot % ARM64_SLOT_KINDS], slot, esr,
          (esr >> ESR_EC_SHIFT) & ESR_EC_MASK, frame->elr, far);
}

void arch_irq_enable(void) {
    __asm__ volatile("msr daifclr, #2" ::: "memory");
}

void arch_irq_disable(void) {
    __asm__ volatile("msr daifset, #2" ::: "memory");
}

static uint64_t read_daif(void) {
    uint64_t daif;
    __asm__ volatile("mrs %0, daif" : "=r"(daif) : : "memory");
    return daif;
}

arch_irq_state_t arch_irq_save(void) {
    uint64_t daif = read_daif();
    arch_irq_disable();
    return daif & DAIF_IRQ;
}

void arch_irq_restore(arch_irq_state_t state) {
    if (!(state & DAIF_IRQ)) {
        arch_irq_enable();
    }
}

void arch_idle(void) {
    __asm__ volatile("wfi" ::: "memory");
}

// The switch frame arm64_context_switch pops (thread.S), as a new thread's stack holds it.
struct arm64_switch_frame {
    uint64_t x19, x20, x21, x22, x23, x24, x25, x26, x27, x28;
    uint64_t x29;  // frame pointer: 0 ends backtraces
    uint64_t x30;  // where `ret` goes: the thread's start function
};
_Static_assert(sizeof(struct arm64_switch_frame) % 16 == 0, "sp stays 16-byte aligned");

void arch_thread_init(struct arch_thread *t, uintptr_t stack_base, uintptr_t stack_size,
                      void (*start)(void)) {
    uintptr_t top = (stack_base + stack_size) & ~(uintptr_t)15;
    struct arm64_switch_frame *f = (struct arm64_switch_frame *)(top - sizeof(*f));
    *f = (struct arm64_switch_frame){.x29 = 0, .x30 = (uintptr_t)start};
    t->sp = (uintptr_t)f;
}

void arch_context_switch(struct arch_thread *from, struct arch_thread *to) {
    arm64_context_switch(&from->sp, to->sp);
}

void arch_set_kernel_stack(uintptr_t top) {
    (void)top;  // exceptions from EL0 use SP_EL1: the thread's own kernel sp at its eret
}

uintptr_t arch_user_stack_pointer(uintptr_t stack_top) {
    return stack_top & ~(uintptr_t)15;
}
