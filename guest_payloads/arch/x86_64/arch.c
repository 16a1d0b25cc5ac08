// The x86-64 arch hooks (include/kernel/arch.h): IDT, interrupt masking, idle, threads.
//
//   IDT vector  0-31   CPU exceptions      -> register dump + panic
//               32-255 interrupts          -> platform_irq(vector), then thread_preempt()
//                                             if it asks (platform/pc assigns the vectors)
// Every vector is a 64-bit interrupt gate (IF cleared on entry) to its stub in
// exceptions.S, DPL 0. #DF (TSS IST1) and #PF (IST2) run on stacks of their own in the
// per-CPU struct x86_percpu, so a fault with a broken kernel stack still reaches the register
// dump and panic instead of triple-faulting: a kernel #PF or #DF whose CR2 is in the guard
// page below a kernel stack (<kernel/kstack.h>) panics with
//   kernel stack overflow in thread NAME (fault address 0x...)
// A #PF from ring 3 leaves the IST stack for the thread's kernel stack at once (exceptions.S).
//
// User mode: a CPU exception taken in ring 3 is a user fault (kernel/syscall.c user_fault:
// the process dies, the kernel goes on); an interrupt taken in ring 3 returns through
// user_return_check. The TSS supplies rsp0, the kernel stack ring-3 traps land on (and the
// two IST stacks above); `syscall` enters at x86_syscall_entry (user.S) through MSR_LSTAR.
// Per CPU (<kernel/percpu.h>): the GS base points at the CPU's struct percpu, whose arch part
// holds the kernel stack top the syscall entry switches to (it mirrors TSS.rsp0); the TSS and
// IST stacks of CPU n are x86_cpus[n].
#include <kernel/arch.h>

#include <stddef.h>

#include <arch/x86_64/cpu.h>
#include <arch/x86_64/gdt.h>
#include <arch/x86_64/iframe.h>
#include <arch/x86_64/tss.h>
#include <kernel/kstack.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/physmap.h>
#include <kernel/smp.h>
#include <arch/kernel-layout.h>
#include <arch/x86_64/smp.h>
#include <lib/string.h>
#include <kernel/platform.h>
#include <kernel/syscall.h>
#include <kernel/thread.h>
#include <kernel/usercopy.h>
#include <kernel/vm.h>
#include <lib/console.h>

#define X86_IDT_VECTORS 256
#define X86_EXCEPTIONS 32
#define X86_GATE_INTERRUPT 0x8e  // present, DPL 0, 64-bit interrupt gate
#define X86_RFLAGS_IF (1ull << 9)
// arch/x86_64/mmu.c maps the low 4 GiB; nothing above is reachable.
#define X86_PHYS_LIMIT (4ull << 30)
#define X86_TSS_TYPE_AVAILABLE 0x89  // present, DPL 0, 64-bit TSS (available)
#define MSR_EFER 0xc0000080u
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u
#define EFER_SCE (1ull << 0)
// RFLAGS bits `syscall` clears: TF, IF, DF, AC.
#define X86_SYSCALL_FMASK ((1ull << 8) | (1ull << 9) | (1ull << 10) | (1ull << 18))


// What `syscall` leaves on the kernel stack (user.S), lowest address first.
struct x86_syscall_frame {
    uint64_t args[SYSCALL_MAX_ARGS];  // rdi rsi rdx r10 r8 r9 r12 r13
    uint64_t num;                     // rax
    uint64_t rip;                     // rcx: the return address
    uint64_t rflags;                  // r11
    uint64_t rsp;
};

extern uint64_t x86_gdt[X86_GDT_ENTRIES];
void x86_syscall_entry(void);
__attribute__((noreturn)) void x86_enter_user(uintptr_t entry, uintptr_t sp, uintptr_t arg1,
                                              uintptr_t arg2);
int64_t x86_syscall_handler(struct x86_syscall_frame *f);

#define X86_DF_IST 1  // TSS.ist[0]
#define X86_PF_IST 2  // TSS.ist[1]
#define X86_IST_STACK_SIZE 8192  // the register dump and the whole panic path run on it

// What each CPU owns: its TSS (rsp0, the IST pointers) and the stacks behind them.
struct x86_percpu {
    uint64_t gdt[X86_GDT_ENTRIES];  // its own copy of x86_gdt: a TSS descriptor is per CPU
    struct x86_tss tss;
    char df_stack[X86_IST_STACK_SIZE] __attribute__((aligned(16)));
    char pf_stack[X86_IST_STACK_SIZE] __attribute__((aligned(16)));
};
static struct x86_percpu x86_cpus[SMP_MAX_CPUS];

static struct x86_percpu *this_cpu(void) {
    return &x86_cpus[percpu_get()->cpu_num];
}

#define MSR_GS_BASE 0xc0000101u
#define MSR_KERNEL_GS_BASE 0xc0000102u

void arch_percpu_install(struct percpu *c) {
    c->arch.self = c;
    arch_set_thread_current(&c->arch, c->current);  // a secondary's idle thread, set for it
    x86_wrmsr(MSR_GS_BASE, (uintptr_t)c);
    x86_wrmsr(MSR_KERNEL_GS_BASE, 0);  // ring 3's, swapped in by swapgs
}

struct x86_idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct x86_idt_gate) == 16, "64-bit IDT gates are 16 bytes");

struct x86_descriptor_pointer {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

extern const char x86_isr_stubs[];
void x86_context_switch(uintptr_t *from_sp, uintptr_t to_sp);

// Written once by arch_init, read by every CPU.
static struct x86_idt_gate idt[X86_IDT_VECTORS] __attribute__((aligned(16)));

static const char *const exception_names[X86_EXCEPTIONS] = {
    "#DE divide error",
    "#DB debug",
    "NMI",
    "#BP breakpoint",
    "#OF overflow",
    "#BR bound range",
    "#UD invalid opcode",
    "#NM device not available",
    "#DF double fault",
    "coprocessor segment overrun",
    "#TS invalid TSS",
    "#NP segment not present",
    "#SS stack fault",
    "#GP general protection",
    "#PF page fault",
    "reserved 15",
    "#MF x87 error",
    "#AC alignment check",
    "#MC machine check",
    "#XM SIMD error",
    "#VE virtualization",
    "#CP control protection",
    "reserved 22",
    "reserved 23",
    "reserved 24",
    "reserved 25",
    "reserved 26",
    "reserved 27",
    "#HV hypervisor injection",
    "#VC VMM communication",
    "#SX security",
    "reserved 31",
};

// Written once by arch_init before any other CPU starts.
static struct x86_descriptor_pointer idt_pointer;

// This CPU's descriptor tables, TSS and syscall MSRs (boot CPU and secondaries alike).
static void x86_cpu_init(void) {
    __asm__ volatile("lidt %0" : : "m"(idt_pointer) : "memory");

    struct x86_percpu *cpu = this_cpu();
    for (int i = 0; i < X86_GDT_ENTRIES; i++) {
        cpu->gdt[i] = x86_gdt[i];
    }
    struct x86_tss *tss = &cpu->tss;
    uint64_t base = (uintptr_t)tss;
    tss->iomap_base = sizeof(*tss);  // no I/O permission bitmap: ring 3 gets no ports
    tss->ist[X86_DF_IST - 1] = (uintptr_t)cpu->df_stack + sizeof(cpu->df_stack);
    tss->ist[X86_PF_IST - 1] = (uintptr_t)cpu->pf_stack + sizeof(cpu->pf_stack);
    cpu->gdt[X86_TSS_SEL / 8] = (sizeof(*tss) - 1) | (base & 0xffffff) << 16 |
                                (uint64_t)X86_TSS_TYPE_AVAILABLE << 40 |
                                ((base >> 24) & 0xff) << 56;
    cpu->gdt[X86_TSS_SEL / 8 + 1] = base >> 32;
    struct x86_descriptor_pointer gdt = {.limit = sizeof(cpu->gdt) - 1,
                                         .base = (uintptr_t)cpu->gdt};
    __asm__ volatile("lgdt %0" : : "m"(gdt) : "memory");  // same selectors: no reload needed
    __asm__ volatile("ltr %w0" : : "r"(X86_TSS_SEL) : "memory");

    x86_wrmsr(MSR_EFER, x86_rdmsr(MSR_EFER) | EFER_SCE);
    x86_wrmsr(MSR_STAR, (uint64_t)X86_USER_CS32 << 48 | (uint64_t)X86_KERNEL_CS << 32);
    x86_wrmsr(MSR_LSTAR, (uintptr_t)x86_syscall_entry);
    x86_wrmsr(MSR_FMASK, X86_SYSCALL_FMASK);
}

// SMEP and SMAP when the CPU has them (CPUID.7.0:EBX bits 7 and 20): ring 0 can then neither
// run user code nor touch user memory except inside the user copies (arch/x86_64/usercopy.S,
// between stac and clac). x86_smap_enabled tells the assembly whether stac/clac exist.
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
uint8_t x86_smap_enabled;

static void x86_enable_smep_smap(void) {
    uint32_t max_leaf, ebx, ecx, edx;
    __asm__ volatile("cpuid" : "=a"(max_leaf), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0));
    if (max_leaf < 7) {
        return;
    }
    uint32_t eax = 7;
    ecx = 0;
    __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
    uint64_t cr4;
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    cr4 |= (ebx & (1u << 7)) ? CR4_SMEP : 0;
    cr4 |= (ebx & (1u << 20)) ? CR4_SMAP : 0;
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
    x86_smap_enabled = (ebx & (1u << 20)) != 0;
}

void arch_init(void) {
    x86_enable_smep_smap();  // secondaries take the boot CPU's CR4 (x86_secondary_main)
    for (int v = 0; v < X86_IDT_VECTORS; v++) {
        uint64_t stub = (uint64_t)(uintptr_t)(x86_isr_stubs + v * X86_ISR_STUB_SIZE);
        idt[v] = (struct x86_idt_gate){
            .offset_low = (uint16_t)stub,
            .selector = X86_KERNEL_CS,
            .ist = v == X86_VECTOR_DF ? X86_DF_IST : v == X86_VECTOR_PF ? X86_PF_IST : 0,
            .type_attr = X86_GATE_INTERRUPT,
            .offset_mid = (uint16_t)(stub >> 16),
            .offset_high = (uint32_t)(stub >> 32),
        };
    }
    idt_pointer = (struct x86_descriptor_pointer){.limit = sizeof(idt) - 1,
                                                  .base = (uintptr_t)idt};
    x86_cpu_init();
}

// ---- secondary CPUs (arch/x86_64/include/arch/x86_64/smp.h) ----

extern const char x86_trampoline_start[], x86_trampoline_end[];
extern uint64_t boot_pml4[];
void x86_secondary_start(void);
__attribute__((noreturn)) void x86_secondary_main(struct percpu *c);

static uint64_t boot_cr0;  // the boot CPU's CR0 (CR0.WP: user copies rely on it) and CR4,
static uint64_t boot_cr4;  // which every secondary takes over

static uint64_t read_cr3(void) {
    uint64_t v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

static uint64_t read_cr0(void) {
    uint64_t v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static uint64_t read_cr4(void) {
    uint64_t v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

uint32_t x86_trampoline_prepare(struct percpu *c, uintptr_t stack_top) {
    uint8_t *page = paddr_to_physmap(X86_TRAMPOLINE_PADDR);
    memcpy(page, x86_trampoline_start, (size_t)(x86_trampoline_end - x86_trampoline_start));
    uint64_t *params = (uint64_t *)(page + X86_TRAMPOLINE_PARAMS);
    params[X86_TP_BOOT_CR3 / 8] = (uintptr_t)boot_pml4 - ARCH_KERNEL_IMAGE_BASE;
    params[X86_TP_KERNEL_CR3 / 8] = read_cr3();
    params[X86_TP_STACK / 8] = stack_top;
    params[X86_TP_PERCPU / 8] = (uintptr_t)c;
    params[X86_TP_ENTRY / 8] = (uintptr_t)x86_secondary_start;
    boot_cr0 = read_cr0();
    boot_cr4 = read_cr4();
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return X86_TRAMPOLINE_PADDR >> 12;
}

void x86_secondary_main(struct percpu *c) {
    __asm__ volatile("mov %0, %%cr0" : : "r"(boot_cr0) : "memory");
    __asm__ volatile("mov %0, %%cr4" : : "r"(boot_cr4) : "memory");
    arch_percpu_install(c);
    x86_cpu_init();
    smp_secondary_main(c);
}

void arch_cpu_park(void) {
    __asm__ volatile("cli; hlt" ::: "memory");
}

int64_t x86_syscall_handler(struct x86_syscall_frame *f) {
    int64_t ret = syscall_dispatch(f->num, f->args, f->rip);
    arch_irq_disable();
    user_return_check();
    return ret;
}

void arch_enter_user(uintptr_t entry, uintptr_t sp, uintptr_t arg1, uintptr_t arg2) {
    x86_enter_user(entry, sp, arg1, arg2);
}

static uint64_t read_cr2(void) {
    uint64_t v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

// Prints every register of `f` (and CR2 for a page fault) before a panic.
static void x86_dump_frame(const struct x86_iframe *f, uint64_t cr2) {
    printf("x86 registers: rip 0x%016lx cs 0x%lx rflags 0x%lx rsp 0x%016lx ss 0x%lx\n", f->rip,
           f->cs, f->rflags, f->rsp, f->ss);
    printf(" rax 0x%016lx rbx 0x%016lx rcx 0x%016lx rdx 0x%016lx\n", f->rax, f->rbx, f->rcx,
           f->rdx);
    printf(" rsi 0x%016lx rdi 0x%016lx rbp 0x%016lx r8  0x%016lx\n", f->rsi, f->rdi, f->rbp, f->r8);
    printf(" r9  0x%016lx r10 0x%016lx r11 0x%016lx r12 0x%016lx\n", f->r9, f->r10, f->r11, f->r12);
    printf(" r13 0x%016lx r14 0x%016lx r15 0x%016lx cr2 0x%016lx\n", f->r13, f->r14, f->r15, cr2);
}

// A user #PF on a page not present yet (error code bit 0 clear: demand paging) or a write
// to a present read-only page (bits 0 and 1: copy-on-write), for vm_fault. True when the
// access can be retried. Bit 1: a write; bit 4: a fetch.
static bool x86_user_page_fault(const struct x86_iframe *frame, uintptr_t addr) {
    if ((frame->err & 1) != 0 && (frame->err & 2) == 0) {
        return false;  // a read or fetch against a present page's protection
    }
    uint32_t access = (frame->err & 2)    ? ARCH_MMU_FLAG_WRITE
                      : (frame->err & 16) ? ARCH_MMU_FLAG_EXECUTE
                                          : ARCH_MMU_FLAG_READ;
    return user_page_fault(addr, access);
}

static bool from_user(const struct x86_iframe *frame) {
    return (frame->cs & 3) == X86_RPL_USER;
}

void x86_exception_handler(struct x86_iframe *frame) {
    if (frame->vector >= X86_EXCEPTIONS) {
        if (platform_irq((uint32_t)frame->vector)) {
            thread_preempt();
        }
        if (from_user(frame)) {
            user_return_check();
        }
        return;
    }
    if (from_user(frame)) {
        uint64_t addr = frame->vector == X86_VECTOR_PF ? read_cr2() : frame->rip;
        arch_irq_enable();
        if (frame->vector == X86_VECTOR_PF && x86_user_page_fault(frame, addr)) {
            arch_irq_disable();
            user_return_check();
            return;
        }
        user_fault(exception_names[frame->vector], addr, frame->rip);
    }
    if (frame->vector == X86_VECTOR_PF) {
        // The kernel's own access: a user copy's (arch_copy_from_user), or a bug. A read of a
        // present page that faults (reserved bits) is beyond paging's help.
        bool pageable = (frame->err & 1) == 0 || (frame->err & 2) != 0;
        uint32_t access = !pageable            ? 0
                          : (frame->err & 2) ? ARCH_MMU_FLAG_WRITE
                                             : ARCH_MMU_FLAG_READ;
        if (usercopy_fault(read_cr2(), access, (frame->rflags & X86_RFLAGS_IF) != 0,
                           &frame->rip)) {
            return;
        }
    }
    static int nested;  // a fault on the panic path must not recurse forever
    if (nested++ > 0) {
        platform_poweroff();
    }
    uint64_t cr2 = read_cr2();
    x86_dump_frame(frame, cr2);
    // A kernel stack overflow: a write below the stack hit its guard (#PF; a #DF too in case
    // the fault came while delivering another exception).
    const char *owner = frame->vector == X86_VECTOR_PF || frame->vector == X86_VECTOR_DF
                            ? kstack_guard_owner(cr2)
                            : NULL;
    if (owner != NULL) {
        panic("kernel stack overflow in thread %s (fault address 0x%lx)", owner, cr2);
    }
    panic("x86_exception: vector %lu (%s), error code 0x%lx, RIP 0x%lx, CR2 0x%lx", frame->vector,
          exception_names[frame->vector], frame->err, frame->rip, cr2);
}

void arch_irq_enable(void) {
    __asm__ volatile("sti" ::: "memory");
}

void arch_irq_disable(void) {
    __asm__ volatile("cli" ::: "memory");
}

static uint64_t read_rflags(void) {
    uint64_t flags;
    __asm__ volatile("pushfq; popq %0" : "=r"(flags) : : "memory");
    return flags;
}

arch_irq_state_t arch_irq_save(void) {
    uint64_t flags = read_rflags();
    arch_irq_disable();
    return flags & X86_RFLAGS_IF;
}

void arch_irq_restore(arch_irq_state_t state) {
    if (state & X86_RFLAGS_IF) {
        arch_irq_enable();
    }
}

void arch_idle(void) {
    __asm__ volatile("sti; hlt" ::: "memory");
}

uint64_t arch_phys_limit(void) {
    return X86_PHYS_LIMIT;
}

// The switch frame x86_context_switch pops (thread.S), as a new thread's stack holds it.
struct x86_switch_frame {
    uint64_t r15, r14, r13, r12, rbx, rbp;
    uint64_t rip;          // where `ret` goes: the thread's start function
    uint64_t return_slot;  // fake return address of the start function (0 ends backtraces)
};

void arch_thread_init(struct arch_thread *t, uintptr_t stack_base, uintptr_t stack_size,
                      void (*start)(void)) {
    // After `ret` pops rip, %rsp points at return_slot: 8 mod 16, as right after a call.
    uintptr_t top = (stack_base + stack_size) & ~(uintptr_t)15;
    struct x86_switch_frame *f = (struct x86_switch_frame *)(top - sizeof(*f));
    *f = (struct x86_switch_frame){.rip = (uintptr_t)start, .return_slot = 0};
    t->sp = (uintptr_t)f;
}

void arch_context_switch(struct arch_thread *from, struct arch_thread *to) {
    x86_context_switch(&from->sp, to->sp);
}

void arch_set_kernel_stack(uintptr_t top) {
    this_cpu()->tss.rsp0 = top;
    percpu_get()->arch.kernel_rsp = top;
}

uintptr_t arch_user_stack_pointer(uintptr_t stack_top) {
    return (stack_top & ~(uintptr_t)15) - 8;
}
