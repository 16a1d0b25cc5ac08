// Kernel panic: the other CPUs are told to halt (the first CPU to panic wins; a later one
// just halts), one fixed console prefix and the message, which CPU it was, a frame-pointer
// backtrace, then the pvpanic-style signal, then power-off.
#include <kernel/panic.h>

#include <stdarg.h>
#include <stdint.h>

#include <kernel/arch.h>
#include <kernel/kstack.h>
#include <kernel/percpu.h>
#include <kernel/platform.h>
#include <kernel/smp.h>
#include <lib/console.h>

#define BACKTRACE_MAX_FRAMES 32

// Walks the frame-pointer chain up from panic()'s own frame. The kernel is built with
// -fno-omit-frame-pointer and both arches lay a frame record out the same way: the frame
// pointer (rbp / x29) points at {caller's frame pointer, return address}. Only records
// above the first one and within one kernel stack of it are read, so a corrupt chain ends
// the walk instead of faulting; the harness symbolizes the PCs (harness/symbolize.py).
static void print_backtrace(void) {
    uintptr_t first = (uintptr_t)__builtin_frame_address(0);
    uintptr_t fp = first;
    for (int depth = 0; depth < BACKTRACE_MAX_FRAMES; depth++) {
        if (fp == 0 || (fp & 7) != 0 || fp < first || fp - first > KSTACK_SIZE - 16) {
            break;
        }
        const uintptr_t *record = (const uintptr_t *)fp;
        uintptr_t pc = record[1];
        if (pc == 0) {
            break;
        }
        printf("zhb kernel: backtrace: #%d pc 0x%lx\n", depth, (unsigned long)pc);
        uintptr_t next = record[0];
        if (next <= fp) {
            break;
        }
        fp = next;
    }
}

void panic(const char *fmt, ...) {
    arch_irq_disable();  // nothing may preempt or interrupt the way down
    if (!smp_panic_stop_others()) {
        for (;;) {
            arch_cpu_park();  // another CPU panicked first and reports it
        }
    }
    va_list ap;
    va_start(ap, fmt);
    printf("ZIRCON KERNEL PANIC: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    printf("zhb kernel: the panic was on cpu %u; the other CPUs are halted\n",
           percpu_get()->cpu_num);
    print_backtrace();
    platform_panic_signal();
    platform_poweroff();
}
