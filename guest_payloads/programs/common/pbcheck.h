// A child started through the process builder checks what it got (programs/common/pbcheck.c):
// `<program> pb-child "two words" "" last` with environ PB_A=1, PB_B=two words, LD_DEBUG=1,
// an event (PA_USER0, rights TRANSFER|WAIT|SIGNAL) and a channel (PA_USER1) on which it
// reports its vDSO base, stack VMO size and a bit per failed check. core-tests starts itself
// this way; dyn-tests starts core-tests (static) and itself (dynamic, through ld.so).
#pragma once

#include <stdbool.h>
#include <zircon/types.h>

#define PB_CHILD_ARG "pb-child"

// The child's side: main() calls it for argv[1] == PB_CHILD_ARG; returns the exit code.
int pb_child(int argc, char **argv);

// The parent's side, as KTAP checks: starts BOOTFS file `path` through the process builder
// (with the loader service `ldsvc`, consumed, if valid: a dynamic program), waits for it and
// checks its report and return code. The report must match what pb_build returned.
void pb_check_launch(const char *path, zx_handle_t ldsvc);

// Starts BOOTFS file `path` with args {path, args[0..nargs)} through the process builder in
// our job, with the vDSO; `dynamic`: handing it lib/ld.so.1 directly and then serving the
// loader service (BOOTFS lib/) on the calling thread until ld.so is done with it, as userboot
// does. *proc gets the started process. Files come from a table of VMOs read from BOOTFS once
// (each launch gets a duplicate without ZX_RIGHT_WRITE), and ld.so and the vDSO go where they
// went in the previous launches (pb_set_placements).
zx_status_t pb_spawn(const char *path, const char *const *args, uint32_t nargs, bool dynamic,
                     zx_handle_t *proc);

// Serves fuchsia.ldsvc.Loader on `server` from our BOOTFS (lib/<name>) on a new thread, until
// the client end closes; pb_serve_join waits for it and returns the number of loads.
struct pb_loader_thread;
struct pb_loader_thread *pb_serve_bootfs_libs(zx_handle_t server);
uint32_t pb_serve_join(struct pb_loader_thread *t);
