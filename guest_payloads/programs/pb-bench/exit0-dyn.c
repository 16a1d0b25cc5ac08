// bin/pb-exit0-dyn: programs/pb-bench/exit0.c built dynamic (see there).
#define PB_EXIT0_DYNAMIC 1
#include "exit0.c"
