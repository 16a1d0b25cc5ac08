// The hooks every platform (platform/<name>/) provides to generic kernel code. Generic code
// never names a CPU or a board: it calls these.
#pragma once

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

// Generic kernel entry, called by arch/<arch>/start.S with a stack and a zeroed bss.
// `zbi_paddr` is the data ZBI's physical address from the boot protocol register.
__attribute__((noreturn)) void kernel_main(uintptr_t zbi_paddr);
