// The hooks every platform (platform/<name>/) provides to generic kernel code. Generic code
// never names a CPU or a board: it calls these.
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <kernel/bootinfo.h>

// Short architecture name printed in the banner: "x86_64" or "arm64".
extern const char platform_arch_name[];

// Bring up the console (and anything else needed this early) from the ZBI's driver items.
// Called once, before any output. Returns 0 on success, -1 if no usable console was found.
int platform_init(const struct boot_info *bi);

// Write one byte to the console (blocking; "\n" is sent as-is, callers add "\r").
void platform_putc(char c);

// Tell the hypervisor the guest panicked (QEMU pvpanic: QMP GUEST_PANICKED). May return.
void platform_panic_signal(void);

// Power the machine off. Never returns (halts forever if power-off fails).
__attribute__((noreturn)) void platform_poweroff(void);

// ---- Interrupts and time (called after platform_init and arch_init) ----

// Brings up the interrupt controller (x86-64: local APIC, legacy PIC masked; arm64: GICv3 or
// GICv2 from the KERNEL_DRIVER items) and the monotonic clock behind platform_current_time.
// Interrupts stay masked on the CPU. Panics if the data ZBI describes no usable controller or
// clock.
void platform_init_interrupts(const struct boot_info *bi);

// Starts the periodic tick: every `period_ns` nanoseconds the timer interrupt calls
// timer_tick() (kernel/timer.h). Called once, after platform_init_interrupts.
void platform_timer_start(uint64_t period_ns);

// Monotonic time since an arbitrary point at boot, in nanoseconds. Callable with interrupts
// masked or not; never goes backwards.
uint64_t platform_current_time(void);

// Handles one interrupt, called by the arch interrupt entry with interrupts masked:
// acknowledges it at the controller, runs its handler and signals end-of-interrupt.
// `vector` is the CPU's interrupt vector where the CPU reports one (x86-64); 0 where the
// controller names the source (arm64). Returns true if the handler asked for a reschedule
// (the caller then calls thread_preempt()).
bool platform_irq(uint32_t vector);

// Generic kernel entry, called by arch/<arch>/start.S with a stack and a zeroed bss.
// `zbi_paddr` is the data ZBI's physical address from the boot protocol register.
__attribute__((noreturn)) void kernel_main(uintptr_t zbi_paddr);
