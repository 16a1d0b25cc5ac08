// dyn-tests: a dynamically linked program (PT_INTERP ld.so.1) that needs libdyn-a.so, which
// needs libdyn-b.so; it also calls the vDSO through a dynamic symbol. Booted as
// userboot.next, userboot serves ld.so's loads; tests/test_dynamic.py checks the console.
#include <ktap.h>
#include <string.h>
#include <zircon/syscalls.h>

#include "dyn.h"

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

int main(int argc, char **argv) {
    (void)argc;
    (void)argv;
    return ktap_main("dyn-tests");
}
