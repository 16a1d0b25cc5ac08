// printf for guest programs: lib/printf.c formats into lib_putc, which buffers a line and
// writes it with one zx_debug_write at "\n" or when the buffer is full.
#include <stdio.h>
#include <zircon/syscalls.h>

#define STDOUT_BUFFER 256

static char stdout_buf[STDOUT_BUFFER];
static size_t stdout_len;

void fflush_stdout(void) {
    if (stdout_len > 0) {
        zx_debug_write(stdout_buf, stdout_len);
        stdout_len = 0;
    }
}

void lib_putc(char c) {
    stdout_buf[stdout_len++] = c;
    if (c == '\n' || stdout_len == STDOUT_BUFFER) {
        fflush_stdout();
    }
}
