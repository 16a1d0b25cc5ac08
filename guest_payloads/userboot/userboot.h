// userboot internals shared by userboot.c (bootstrap message, ZBI, BOOTFS, shutdown) and
// loader.c (starting a program from an ELF file). See guest_payloads/README.md "userboot".
#pragma once

#include <stddef.h>
#include <stdint.h>

// Every zx_* call goes straight to the vDSO mapped after userboot's image: the symbols come
// from the generated linker-script fragment and must bind locally (hidden).
#pragma GCC visibility push(hidden)
#include <zircon/syscalls.h>
#pragma GCC visibility pop

#define USERBOOT_MAX_ARGS 8  // FILE + arg1 + arg2 ...
#define USERBOOT_MAX_ENVIRON 64

// What to run and the handles it gets.
struct program {
    const char *path;  // BOOTFS file name
    const uint8_t *image;
    size_t size;
    const char *args[USERBOOT_MAX_ARGS];
    uint32_t num_args;
    const char *const *environ;
    uint32_t num_environ;
    zx_handle_t job;
    zx_handle_t vdso_vmo;
    const void *vdso_image;  // userboot's own mapping of the vDSO (at _end)
    size_t vdso_size;
    zx_handle_t bootfs_vmo;
    zx_handle_t power;
    uint64_t ram_budget;  // the most bytes its segments and stack may take; 0: not checked
};

// userboot lets the BOOTFS image, and each program's segments plus stack, take at most this
// share of the RAM in the ZBI's MEM_CONFIG (1/USERBOOT_RAM_SHARE): sizes from the image are
// checked against it before any VMO is made, so an absurd size is a "userboot: error:" line.
#define USERBOOT_RAM_SHARE 2

#define USERBOOT_LINE_MAX 256

// Writes one console line, "userboot: <text>\n", with one zx_debug_write. Callers format
// `text` with snprintf (lib/ has no vsnprintf).
void userboot_say(const char *text);

// Creates the process, loads the ELF file, maps the vDSO and a stack, sends the processargs
// message and starts it. On success *proc is the process handle. On failure returns an
// error status (ZX_ERR_INVALID_ARGS for a bad ELF file) and writes what went wrong to why.
zx_status_t program_start(const struct program *prog, zx_handle_t *proc, char *why,
                          size_t why_size);
