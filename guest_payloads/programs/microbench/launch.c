// pb_launch_static / pb_launch_dynamic: a program started through the process builder, to
// its exit (the counterpart of Linux's posix_spawn + waitpid of a tiny static binary):
// pb_spawn (programs/common/pbcheck.c): the file's VMO (read from BOOTFS at the first launch
// and kept, as a page cache keeps a file), pb_create .. pb_build, pb_start, waiting for
// ZX_PROCESS_TERMINATED. bin/pb-exit0 is static; bin/pb-exit0-dyn has PT_INTERP ld.so.1 and
// needs libdyn-a.so and libdyn-b.so, which we serve as its loader service (on this thread,
// as userboot does) from BOOTFS: ld.so's loads and relocations are in the figure. A BOOTFS
// without these files (the harness CLI packs only bin/) skips the row with a
// `microbench: note:` line.
#include <stdbool.h>
#include <stdio.h>

#include "child.h"
#include "microbench.h"
#include "pbcheck.h"

#define LAUNCH_ITERATIONS 20
#define LAUNCH_WAIT_MS 10000

static zx_status_t launch_once(const char *path, bool dynamic) {
    zx_handle_t proc;
    zx_status_t status = pb_spawn(path, NULL, 0, dynamic, &proc);
    if (status == ZX_OK) {
        status = wait_ms(proc, ZX_PROCESS_TERMINATED, LAUNCH_WAIT_MS);
        if (status == ZX_OK && return_code(proc) != 0) {
            status = ZX_ERR_INTERNAL;
        }
        zx_handle_close(proc);
    }
    return status;
}

#define SKIPPED (-1)

// Times LAUNCH_ITERATIONS launches of `path` from *start; SKIPPED if BOOTFS lacks `needs`.
static int launch_row(const char *name, const char *path, const char *needs, bool dynamic,
                      zx_time_t *start) {
    zx_handle_t probe;
    if (bootfs_file_vmo(needs, &probe) != ZX_OK) {
        printf("microbench: note: %s skipped: no %s in BOOTFS\n", name, needs);
        return SKIPPED;
    }
    zx_handle_close(probe);
    *start = zx_clock_get_monotonic();
    for (int i = 0; i < LAUNCH_ITERATIONS; i++) {
        zx_status_t status = launch_once(path, dynamic);
        if (status != ZX_OK) {
            return bench_fail(name, status);
        }
    }
    return 0;
}

int bench_launch(void) {
    zx_time_t start;
    int result = launch_row("pb_launch_static", "bin/pb-exit0", "bin/pb-exit0", false, &start);
    if (result == 0) {
        bench_report("pb_launch_static", start, LAUNCH_ITERATIONS);
    }
    if (result <= 0) {
        result = launch_row("pb_launch_dynamic", "bin/pb-exit0-dyn", "lib/ld.so.1", true, &start);
        if (result == 0) {
            bench_report("pb_launch_dynamic", start, LAUNCH_ITERATIONS);
        }
    }
    return result > 0 ? result : 0;
}
