// bin/pb-exit0 (static) and bin/pb-exit0-dyn (dynamic: ld.so.1, libdyn-a.so, libdyn-b.so):
// the tiny programs microbench's pb_launch_* rows start through the process builder. The
// dynamic one makes one call through each library so that both are really bound.
#ifdef PB_EXIT0_DYNAMIC
#include "../dyn-tests/dyn.h"
#endif

int main(void) {
#ifdef PB_EXIT0_DYNAMIC
    return dyna_sum3(1, 2, 3) == 6 ? 0 : 1;
#else
    return 0;
#endif
}
