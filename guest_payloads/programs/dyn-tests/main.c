// dyn-tests: a dynamically linked program (PT_INTERP ld.so.1) that needs libdyn-a.so, which
// needs libdyn-b.so; it also calls the vDSO through a dynamic symbol. Booted as
// userboot.next, userboot serves ld.so's loads; tests/test_dynamic.py checks the console.
// It also starts programs through the process builder: core-tests (static) and itself
// (dynamic, with a loader service on a thread of ours), each checking what it got
// (programs/common/pbcheck.c).
#include <ktap.h>
#include <string.h>
#include <zircon/syscalls.h>

#include "child.h"
#include "dyn.h"
#include "pbcheck.h"

// The vDSO's own name for the call (ulib's thunks define zx_*, not _zx_*): resolved by ld.so
// in libzircon.so.
zx_time_t _zx_clock_get_monotonic(void);

KTAP_CASE(dyn_call_through_two_libraries) {
    KTAP_EXPECT_EQ(dyna_sum3(1, 20, 300), 321);
}

KTAP_CASE(dyn_data_shared_across_libraries) {
    int *counter = dyna_counter();
    KTAP_EXPECT_EQ(*counter, 1);
    *counter = 42;
    KTAP_EXPECT_EQ(dyna_get_counter(), 42);  // libdyn-b.so reads the same object
}

KTAP_CASE(dyn_function_pointer_across_libraries) {
    KTAP_EXPECT_TRUE(dyna_add_ptr == dyna_add_fn());
    KTAP_EXPECT_EQ(dyna_add_ptr(2, 3), 5);
}

KTAP_CASE(dyn_relative_pointers_in_library) {
    KTAP_EXPECT_TRUE(strcmp(dyna_word(2), "two") == 0);
    KTAP_EXPECT_TRUE(strcmp(dyna_word(0), "zero") == 0);
}

KTAP_CASE(dyn_vdso_symbol_from_program_and_library) {
    zx_time_t before = zx_clock_get_monotonic();
    zx_time_t mine = _zx_clock_get_monotonic();
    zx_time_t lib = dyna_now();
    KTAP_EXPECT_TRUE(before > 0 && before <= mine && mine <= lib);
}

KTAP_CASE(dyn_builder_starts_static_program) {
    pb_check_launch("bin/core-tests", ZX_HANDLE_INVALID);
}

KTAP_CASE(dyn_builder_starts_dynamic_program) {
    zx_handle_t client, server;
    KTAP_ASSERT_OK(zx_channel_create(0, &client, &server));
    struct pb_loader_thread *loader = pb_serve_bootfs_libs(server);
    KTAP_ASSERT_TRUE(loader != NULL);
    pb_check_launch("bin/dyn-tests", client);  // ld.so.1, libdyn-a.so, libdyn-b.so
    KTAP_EXPECT_EQ(pb_serve_join(loader), 3u);  // ld.so closed its end: the thread ended
}

#define RELRO_WRITE_ARG "relro-write"

// `dyn-tests relro-write`: stores into libdyn-a.so's RELRO function pointer, which ld.so made
// read-only, so the store faults and the kernel kills us.
static int relro_write(void) {
    volatile uintptr_t *slot = (volatile uintptr_t *)(uintptr_t)&dyna_add_ptr;
    *slot = 0;
    return 3;
}

KTAP_CASE(dyn_relro_is_read_only) {
    zx_handle_t proc;
    const char *args[] = {RELRO_WRITE_ARG};
    KTAP_ASSERT_OK(pb_spawn("bin/dyn-tests", args, 1, true, &proc));
    KTAP_EXPECT_OK(wait_ms(proc, ZX_PROCESS_TERMINATED, 20000));
    KTAP_EXPECT_EQ(return_code(proc), ZX_TASK_RETCODE_EXCEPTION_KILL);
    zx_handle_close(proc);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], RELRO_WRITE_ARG) == 0) {
        return relro_write();
    }
    if (argc > 1 && strcmp(argv[1], PB_CHILD_ARG) == 0) {
        return pb_child(argc, argv);
    }
    return ktap_main("dyn-tests");
}
