// libdyn-b.so: see dyn.h.
#include <zircon/syscalls.h>

#include "dyn.h"

DYN_EXPORT int dynb_counter = 1;

static const char *const words[] = {"zero", "one", "two"};

DYN_EXPORT int dynb_add(int a, int b) {
    return a + b;
}

DYN_EXPORT int dynb_get_counter(void) {
    return dynb_counter;
}

DYN_EXPORT const char *dynb_word(int i) {
    return i >= 0 && i < 3 ? words[i] : "";
}

DYN_EXPORT zx_time_t dynb_now(void) {
    return zx_clock_get_monotonic();
}
