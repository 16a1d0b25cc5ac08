// libdyn-a.so: see dyn.h.
#include "dyn.h"

DYN_EXPORT int (*const dyna_add_ptr)(int, int) = dynb_add;

DYN_EXPORT int dyna_sum3(int a, int b, int c) {
    return dynb_add(dynb_add(a, b), c);
}

DYN_EXPORT int *dyna_counter(void) {
    return &dynb_counter;
}

DYN_EXPORT int dyna_get_counter(void) {
    return dynb_get_counter();
}

DYN_EXPORT int (*dyna_add_fn(void))(int, int) {
    return dynb_add;
}

DYN_EXPORT const char *dyna_word(int i) {
    return dynb_word(i);
}

DYN_EXPORT zx_time_t dyna_now(void) {
    return dynb_now();
}
