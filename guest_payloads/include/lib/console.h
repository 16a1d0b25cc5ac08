// Freestanding formatted output shared by the kernel and the boot shims (lib/printf.c).
// Each program defines lib_putc(), its one sink for bytes; printf() formats into it.
#pragma once

#include <stdarg.h>
#include <stddef.h>

// Provided by the program that links lib/ (kernel: its console; shim: its early UART).
void lib_putc(char c);

// Subset of C printf: %% %c %s %d %i %u %x %X %p with the l, ll and z length modifiers,
// '0' flag and a field width. "\n" is emitted as "\r\n". Returns bytes written.
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
// Same formatting into a buffer; always NUL-terminates when size > 0.
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
