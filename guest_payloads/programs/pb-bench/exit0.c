// bin/pb-exit0 (static) and bin/pb-exit0-dyn (dynamic: ld.so.1, libdyn-a.so, libdyn-b.so):
// the tiny programs microbench's pb_launch_* rows start through the process builder. The
// dynamic one makes one call through each library so that both are really bound.
// With the argument `fault` (userboot.next=bin/pb-exit0+fault) either one writes through a
// null pointer in pb_exit0_fault instead: the harness's user-fault symbolization test
// (tests/test_user_fault_symbols.py) expects that function, this file and the line below.
#include <string.h>

#ifdef PB_EXIT0_DYNAMIC
#include "../dyn-tests/dyn.h"
#endif

static volatile int *volatile fault_target;  // null, but the compiler cannot know it

__attribute__((noinline)) static void pb_exit0_fault(void) {
    *fault_target = 1;  // pb_exit0_fault: the user fault
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "fault") == 0) {
        pb_exit0_fault();
    }
#ifdef PB_EXIT0_DYNAMIC
    return dyna_sum3(1, 2, 3) == 6 ? 0 : 1;
#else
    return 0;
#endif
}
