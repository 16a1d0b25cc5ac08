// Unexpected exceptions in the arm64 kernel: every one is a kernel bug, so it panics with the
// syndrome. If the panic path itself faults, the next exception only powers off, and one after
// that halts, so a broken console or conduit cannot loop forever.

#include <arch/arm64/exception.h>
#include <arch/arm64/psci.h>
#include <kernel/panic.h>
#include <kernel/platform.h>

void arm64_exception(uint64_t vector, uint64_t esr, uint64_t elr, uint64_t far) {
    static int nested;
    switch (nested++) {
    case 0:
        panic("arm64_exception: vector %lu, ESR 0x%lx, ELR 0x%lx, FAR 0x%lx", (unsigned long)vector,
              (unsigned long)esr, (unsigned long)elr, (unsigned long)far);
    case 1:
        platform_poweroff();
    default:
        arm64_halt();
    }
}
