// The shared libraries of bin/dyn-tests: libdyn-a.so (dyna.c) needs libdyn-b.so (dynb.c);
// both call the vDSO (libzircon.so) through dynamic symbols.
#pragma once

#include <stdint.h>
#include <zircon/types.h>

#define DYN_EXPORT __attribute__((visibility("default")))

// libdyn-b.so
extern int dynb_counter;  // GLOB_DAT from libdyn-a.so
int dynb_add(int a, int b);
int dynb_get_counter(void);
const char *dynb_word(int i);  // from a RELRO table of pointers (RELATIVE)
zx_time_t dynb_now(void);      // zx_clock_get_monotonic through the vDSO's symbol

// libdyn-a.so (the program links only this one: libdyn-b.so comes as its DT_NEEDED)
int dyna_sum3(int a, int b, int c);  // two calls into libdyn-b.so (JUMP_SLOT)
int *dyna_counter(void);              // &dynb_counter (GLOB_DAT)
int dyna_get_counter(void);           // dynb_get_counter()
extern int (*const dyna_add_ptr)(int, int);  // = dynb_add: ABS64 in RELRO
int (*dyna_add_fn(void))(int, int);          // dynb_add, taken in code (GLOB_DAT)
const char *dyna_word(int i);                // dynb_word(i)
zx_time_t dyna_now(void);                    // dynb_now()
