// Handle syscalls: zx_handle_close, _close_many, _duplicate, _replace.
//
// Shape of every handler (here and in the other K2 syscall files): look handles up with type
// and rights, validate and copy in every argument, and only then change state; out-values go
// to user memory through copy_to_user (a new handle whose value cannot be written is closed).
#include <kernel/handle.h>
#include <kernel/usercopy.h>
#include <syscall-kernel.h>

// zx_handle_close_many copies the handle values in batches of this many.
#define CLOSE_MANY_BATCH 64u

zx_status_t sys_handle_close(zx_handle_t handle) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if (handle == ZX_HANDLE_INVALID) {
        return ZX_OK;  // closing "no handle" is allowed
    }
    return handle_table_close(ht, handle);
}

// Checks (close == false) or closes every value of the user array handles[0..n) except
// ZX_HANDLE_INVALID, batch by batch; stops at the first error.
static zx_status_t close_many_pass(struct handle_table *ht, uintptr_t handles, size_t n,
                                   bool close) {
    zx_handle_t batch[CLOSE_MANY_BATCH];
    for (size_t done = 0; done < n;) {
        size_t count = n - done < CLOSE_MANY_BATCH ? n - done : CLOSE_MANY_BATCH;
        if (user_copy_in(batch, handles + done * sizeof(zx_handle_t),
                         count * sizeof(zx_handle_t)) != ZX_OK) {
            return ZX_ERR_INVALID_ARGS;
        }
        for (size_t i = 0; i < count; i++) {
            if (batch[i] == ZX_HANDLE_INVALID) {
                continue;
            }
            zx_status_t status;
            if (close) {
                status = handle_table_close(ht, batch[i]);
            } else {
                struct kobject *obj;
                status = handle_table_get(ht, batch[i], ZX_OBJ_TYPE_NONE, ZX_RIGHT_NONE, &obj);
                if (status == ZX_OK) {
                    kobject_unref(obj);
                }
            }
            if (status != ZX_OK) {
                return status;
            }
        }
        done += count;
    }
    return ZX_OK;
}

zx_status_t sys_handle_close_many(user_in_ptr_t handles, size_t num_handles) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if (num_handles > SIZE_MAX / sizeof(zx_handle_t)) {
        return ZX_ERR_INVALID_ARGS;
    }
    // Check every value first, so that a bad one closes nothing.
    zx_status_t status = close_many_pass(ht, handles.addr, num_handles, false);
    if (status != ZX_OK) {
        return status;
    }
    // A value listed twice fails the second time: Zircon reports that too.
    return close_many_pass(ht, handles.addr, num_handles, true);
}

// Makes sure a handle value can be written to `uout` before anything changes (replace
// consumes its handle, so a bad out pointer must be caught first).
static zx_status_t probe_out(uintptr_t uout) {
    zx_handle_t none = ZX_HANDLE_INVALID;
    return user_copy_out(uout, &none, sizeof(none)) == ZX_OK ? ZX_OK : ZX_ERR_INVALID_ARGS;
}

zx_status_t sys_handle_duplicate(zx_handle_t handle, zx_rights_t rights, user_out_ptr_t out) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    zx_handle_t h;
    zx_status_t status = handle_table_duplicate(ht, handle, rights, &h);
    return status == ZX_OK ? handle_table_copy_out(ht, h, out.addr) : status;
}

zx_status_t sys_handle_replace(zx_handle_t handle, zx_rights_t rights, user_out_ptr_t out) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    zx_status_t status = probe_out(out.addr);
    if (status != ZX_OK) {
        return status;
    }
    zx_handle_t h;
    status = handle_table_replace(ht, handle, rights, &h);
    return status == ZX_OK ? handle_table_copy_out(ht, h, out.addr) : status;
}
