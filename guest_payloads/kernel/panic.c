// Kernel panic: one fixed console prefix, then pvpanic-style signal, then power-off.
#include <kernel/panic.h>

#include <stdarg.h>

#include <kernel/arch.h>
#include <kernel/platform.h>
#include <lib/console.h>

void panic(const char *fmt, ...) {
    arch_irq_disable();  // nothing may preempt or interrupt the way down
    va_list ap;
    va_start(ap, fmt);
    printf("ZIRCON KERNEL PANIC: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    platform_panic_signal();
    platform_poweroff();
}
