// Kernel panic: the other CPUs are told to halt (the first CPU to panic wins; a later one
// just halts), one fixed console prefix and the message, which CPU it was, then the
// pvpanic-style signal, then power-off.
#include <kernel/panic.h>

#include <stdarg.h>

#include <kernel/arch.h>
#include <kernel/percpu.h>
#include <kernel/platform.h>
#include <kernel/smp.h>
#include <lib/console.h>

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
    platform_panic_signal();
    platform_poweroff();
}
