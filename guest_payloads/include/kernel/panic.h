// Kernel panic (kernel/panic.c): for broken kernel invariants and unusable boot data, never
// for anything a user program can cause. Messages name the function and the condition:
// panic("bootinfo_parse: too many memory ranges").
#pragma once

// Prints "ZIRCON KERNEL PANIC: <message>" (the one prefix the harness treats as a crash),
// signals the hypervisor (platform_panic_signal) and powers the machine off.
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);
