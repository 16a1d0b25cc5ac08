// Reading and writing the processargs bootstrap message (<zircon/processargs.h> describes
// the layout). Pure functions over memory: the runtime's _start and userboot read the
// message with them, userboot writes its child's; tests/test_userabi.py runs them on the host.
//
// processargs_build writes: zx_proc_args_t, then handle_info (one u32 per handle), then the
// args strings, then the environ strings, each NUL-terminated; names_num is 0.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <zircon/processargs.h>

enum processargs_status {
    PROCESSARGS_OK = 0,
    PROCESSARGS_ERR_SIZE,      // message shorter than the header, or too big to build
    PROCESSARGS_ERR_PROTOCOL,  // wrong protocol or version
    PROCESSARGS_ERR_HANDLES,   // handle_info table outside the message or misaligned
    PROCESSARGS_ERR_STRINGS,   // a string table outside the message or not NUL-terminated
};

// A checked message (pointers into the caller's buffer).
struct processargs {
    const uint8_t *msg;
    uint32_t bytes;
    uint32_t num_handles;
    zx_proc_args_t header;
};

// Checks msg[0..bytes), which came with num_handles handles.
int processargs_parse(struct processargs *pa, const void *msg, uint32_t bytes,
                      uint32_t num_handles);

// handle_info entry i (i < num_handles): PA_HND(type, arg).
uint32_t processargs_handle_info(const struct processargs *pa, uint32_t i);

// Pointers to the args (environ, names) strings, at most `cap` of them; returns their number.
uint32_t processargs_args(const struct processargs *pa, const char **out, uint32_t cap);
uint32_t processargs_environ(const struct processargs *pa, const char **out, uint32_t cap);
uint32_t processargs_names(const struct processargs *pa, const char **out, uint32_t cap);

// Writes a message into buf[0..cap); returns its size, or 0 if it does not fit.
size_t processargs_build(void *buf, size_t cap, const uint32_t *handle_info, uint32_t num_handles,
                         const char *const *args, uint32_t num_args, const char *const *environ,
                         uint32_t num_environ);
