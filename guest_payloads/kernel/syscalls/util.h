// Shared steps of K1's syscall handlers (kernel/syscalls/*.c), private to that directory.
//
// Every handler: look up each handle with its type and rights (sys_get), validate every other
// argument, copy user memory only through <kernel/usercopy.h>, then act. A handler that
// creates objects hands them out with handle_table_add_user (<kernel/handle.h>), which
// undoes the new handle when the user's out pointer is bad, so a failed call leaves no trace.
#pragma once

#include <kernel/handle.h>
#include <kernel/process.h>
#include <kernel/usercopy.h>
#include <lib/string.h>
#include <syscall-kernel.h>
#include <zircon/errors.h>

// A new reference to the object behind the caller's handle `h` (see handle_table_get).
static inline zx_status_t sys_get(zx_handle_t h, zx_obj_type_t type, zx_rights_t need,
                                  struct kobject **out) {
    return handle_table_get(&process_current()->handles, h, type, need, out);
}

// The same, also returning the handle's rights.
static inline zx_status_t sys_get_rights(zx_handle_t h, zx_obj_type_t type, zx_rights_t need,
                                         struct kobject **out, zx_rights_t *rights) {
    return handle_table_get_rights(&process_current()->handles, h, type, need, out, rights);
}

// Copies an object name argument: at most ZX_MAX_NAME_LEN - 1 bytes (longer names are
// truncated, as Zircon does) into name[], NUL-terminated; *len is its length.
static inline zx_status_t sys_copy_name(user_in_ptr_t uname, size_t size,
                                        char name[ZX_MAX_NAME_LEN], size_t *len) {
    size_t n = size < ZX_MAX_NAME_LEN - 1 ? size : ZX_MAX_NAME_LEN - 1;
    memset(name, 0, ZX_MAX_NAME_LEN);
    zx_status_t st = copy_from_user(name, (const void *)uname.addr, n);
    if (st != ZX_OK) {
        return st;
    }
    *len = strnlen(name, n);
    return ZX_OK;
}
