// userboot internals shared by userboot.c (bootstrap message, ZBI, BOOTFS, starting the
// program with ulib's process builder, shutdown) and ldsvc.c (the loader service). See
// guest_payloads/README.md "userboot".
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

// userboot lets the BOOTFS image, and each program's segments plus stack, take at most this
// share of the RAM in the ZBI's MEM_CONFIG (1/USERBOOT_RAM_SHARE): sizes from the image are
// checked against it before any VMO is made, so an absurd size is a "userboot: error:" line.
#define USERBOOT_RAM_SHARE 2

#define USERBOOT_LINE_MAX 256

// Writes one console line, "userboot: <text>\n", with one zx_debug_write. Callers format
// `text` with snprintf (lib/ has no vsnprintf).
void userboot_say(const char *text);

struct bootfs;

// The BOOTFS file [<root>/]lib/<name> as a read-only, executable-capable VMO; *path gets the
// file name looked up. ZX_ERR_NOT_FOUND if there is none.
zx_status_t ldsvc_lookup(const struct bootfs *fs, const char *root, const char *name,
                         zx_handle_t *vmo, char *path, size_t path_size);

// Serves fuchsia.ldsvc.Loader on `server` (consumed) until the client closes its end or
// sends Done (ldsvc.c).
void ldsvc_serve(const struct bootfs *fs, const char *root, zx_handle_t server);
