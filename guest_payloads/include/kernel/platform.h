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

// Brings up a secondary CPU's own part of the interrupt controller (x86-64: its local APIC;
// arm64: its GICv3 redistributor or GICv2 CPU interface). Interrupts stay masked.
void platform_init_interrupts_secondary(void);

// Starts this CPU's periodic tick (every CPU calls it, the boot CPU from timer_init): every `period_ns` nanoseconds the timer interrupt calls
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

// ---- CPUs (kernel/smp.c) ----

struct percpu;

// Fills ids[0..max) with the hardware ids of the CPUs the firmware describes (x86-64: local
// APIC ids from the ACPI MADT; arm64: MPIDR affinity values from the CPU_TOPOLOGY item) and
// sets *boot_index to the entry of the CPU running this. Returns how many it found (at least
// 1: the boot CPU alone when nothing is described).
uint32_t platform_cpu_discover(const struct boot_info *bi, uint64_t ids[], uint32_t max,
                               uint32_t *boot_index);

// Starts the CPU `hw_id` as `c`: it enters the arch secondary entry on the stack ending at
// `stack_top` and calls smp_secondary_main(c). Returns NULL once the start was sent, or why
// it could not be (the firmware refused, no trampoline memory, ...).
const char *platform_cpu_start(struct percpu *c, uint64_t hw_id, uintptr_t stack_top);

// Puts back a CPU that did not report after platform_cpu_start (x86-64: INIT, so it waits
// for a SIPI again; arm64: nothing, PSCI has no way to take back a CPU_ON).
void platform_cpu_abandon(uint64_t hw_id);

// Sends inter-processor request `kind` (enum smp_ipi, kernel/smp.h) to every other CPU:
// x86-64 a fixed IPI vector per kind, arm64 an SGI per kind. Any context.
void platform_ipi_others(uint32_t kind);
// Sends request `kind` to CPU `cpu` (its percpu number; online, not this one) alone: x86-64
// to its local APIC id, arm64 an SGI to its MPIDR (GICv3) or CPU interface (GICv2), each
// recorded when that CPU set up its interrupt controller. Any context.
void platform_ipi_cpu(uint32_t cpu, uint32_t kind);

// Generic kernel entry, called by arch/<arch>/start.S with a stack and a zeroed bss.
// `zbi_paddr` is the data ZBI's physical address from the boot protocol register.
__attribute__((noreturn)) void kernel_main(uintptr_t zbi_paddr);
