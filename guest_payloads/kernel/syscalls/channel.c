// Channel syscalls: zx_channel_create, zx_channel_write, zx_channel_read.
//
// write: the handles are always consumed, as in Zircon: once their values are copied in, every
//        one of them is closed if the call fails, and moved into the message if it succeeds.
// read:  the message is taken off the queue, its bytes and handle values are copied out, and
//        if any copy fails it goes back to the head of the queue untouched.
#include <kernel/channel.h>
#include <kernel/handle.h>
#include <kernel/heap.h>
#include <kernel/job.h>
#include <kernel/usercopy.h>
#include <syscall-kernel.h>

zx_status_t sys_channel_create(uint32_t options, user_out_ptr_t out0, user_out_ptr_t out1) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if (options != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    zx_status_t status = job_policy_enforce(ht, ZX_POL_NEW_CHANNEL);
    if (status != ZX_OK) {
        return status;
    }
    // Room for both handles first: peers that never got a handle would keep each other alive.
    status = handle_table_reserve(ht, 2);
    if (status != ZX_OK) {
        return status;
    }
    struct kobject *c0, *c1;
    status = channel_create(0, &c0, &c1);
    if (status != ZX_OK) {
        return status;
    }
    status =
        handle_table_add_pair_user(ht, c0, c1, ZX_DEFAULT_CHANNEL_RIGHTS, out0.addr, out1.addr);
    kobject_unref(c0);
    kobject_unref(c1);
    return status;
}

// Closes every handle value in hv[0..n) that is still in the table (a failed write).
static void close_all(struct handle_table *ht, const zx_handle_t *hv, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        if (hv[i] != ZX_HANDLE_INVALID) {
            handle_table_close(ht, hv[i]);
        }
    }
}

// Checks the handles to be written from `ht` (TRANSFER right, not the channel itself, no value
// twice) and takes them all out into mh[]; on error nothing is taken.
static zx_status_t take_handles(struct handle_table *ht, struct kobject *ch, const zx_handle_t *hv,
                                uint32_t n, struct msg_handle *mh) {
    for (uint32_t i = 0; i < n; i++) {
        struct kobject *obj;
        zx_status_t status =
            handle_table_get(ht, hv[i], ZX_OBJ_TYPE_NONE, SYS_channel_write_handles_RIGHTS, &obj);
        if (status != ZX_OK) {
            return status;
        }
        kobject_unref(obj);
        if (obj == ch) {
            return ZX_ERR_NOT_SUPPORTED;
        }
        for (uint32_t j = 0; j < i; j++) {
            if (hv[j] == hv[i]) {
                return ZX_ERR_BAD_HANDLE;
            }
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        handle_table_take(ht, hv[i], ZX_RIGHT_NONE, &mh[i].obj, &mh[i].rights);
    }
    return ZX_OK;
}

zx_status_t sys_channel_write(zx_handle_t handle, uint32_t options, user_in_ptr_t bytes,
                              uint32_t num_bytes, user_in_ptr_t handles, uint32_t num_handles) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if (num_handles > ZX_CHANNEL_MAX_MSG_HANDLES) {
        return ZX_ERR_OUT_OF_RANGE;
    }
    zx_handle_t hv[ZX_CHANNEL_MAX_MSG_HANDLES];
    if (user_copy_in(hv, handles.addr, num_handles * sizeof(zx_handle_t)) != ZX_OK) {
        return ZX_ERR_INVALID_ARGS;
    }
    // From here on the handles are consumed whatever happens.
    zx_status_t status = ZX_OK;
    if (options != 0) {
        status = options == ZX_CHANNEL_WRITE_USE_IOVEC ? ZX_ERR_NOT_SUPPORTED : ZX_ERR_INVALID_ARGS;
    } else if (num_bytes > ZX_CHANNEL_MAX_MSG_BYTES) {
        status = ZX_ERR_OUT_OF_RANGE;
    }
    struct kobject *ch = NULL;
    if (status == ZX_OK) {
        status = handle_table_get(ht, handle, SYS_channel_write_handle_TYPE,
                                  SYS_channel_write_handle_RIGHTS, &ch);
    }
    void *kbytes = NULL;
    if (status == ZX_OK && num_bytes > 0) {
        kbytes = kmalloc(num_bytes);
        if (kbytes == NULL) {
            status = ZX_ERR_NO_MEMORY;
        } else if (user_copy_in(kbytes, bytes.addr, num_bytes) != ZX_OK) {
            status = ZX_ERR_INVALID_ARGS;
        }
    }
    struct msg_handle mh[ZX_CHANNEL_MAX_MSG_HANDLES];
    if (status == ZX_OK) {
        status = take_handles(ht, ch, hv, num_handles, mh);
    }
    if (status != ZX_OK) {
        close_all(ht, hv, num_handles);
    } else {
        status = channel_write(ch, kbytes, num_bytes, mh, num_handles);
        if (status != ZX_OK) {
            for (uint32_t i = 0; i < num_handles; i++) {
                handle_drop(mh[i].obj);
            }
        }
    }
    kfree(kbytes);
    kobject_unref(ch);
    return status;
}

// Copies `value` to the optional user address `uout` (0: not wanted).
static zx_status_t copy_out_optional(uintptr_t uout, uint32_t value) {
    if (uout == 0) {
        return ZX_OK;
    }
    return user_copy_out(uout, &value, sizeof(value)) == ZX_OK ? ZX_OK : ZX_ERR_INVALID_ARGS;
}

zx_status_t sys_channel_read(zx_handle_t handle, uint32_t options, user_out_ptr_t bytes,
                             user_out_ptr_t handles, uint32_t num_bytes, uint32_t num_handles,
                             user_out_ptr_t actual_bytes, user_out_ptr_t actual_handles) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if ((options & ~ZX_CHANNEL_READ_MAY_DISCARD) != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct kobject *ch;
    zx_status_t status = handle_table_get(ht, handle, SYS_channel_read_handle_TYPE,
                                          SYS_channel_read_handle_RIGHTS, &ch);
    if (status != ZX_OK) {
        return status;
    }
    struct channel_msg *msg = NULL;
    uint32_t nb = 0, nh = 0;
    status = channel_read_take(ch, num_bytes, num_handles,
                               (options & ZX_CHANNEL_READ_MAY_DISCARD) != 0, &msg, &nb, &nh);
    if (status == ZX_OK || status == ZX_ERR_BUFFER_TOO_SMALL) {
        // Sizes first: a caller that passed bad size pointers gets INVALID_ARGS.
        if (copy_out_optional(actual_bytes.addr, nb) != ZX_OK ||
            copy_out_optional(actual_handles.addr, nh) != ZX_OK) {
            status = ZX_ERR_INVALID_ARGS;
        }
    }
    if (msg != NULL && status == ZX_OK) {
        zx_handle_t hv[ZX_CHANNEL_MAX_MSG_HANDLES] = {0};
        if (handle_table_reserve(ht, nh) != ZX_OK) {
            status = ZX_ERR_NO_MEMORY;
        } else if (user_copy_out(bytes.addr, channel_msg_bytes(msg), nb) != ZX_OK ||
                   user_copy_out(handles.addr, hv, nh * sizeof(zx_handle_t)) != ZX_OK) {
            status = ZX_ERR_INVALID_ARGS;  // both probed: the message stays queued
        }
        if (status == ZX_OK) {
            const struct msg_handle *mh = channel_msg_handles(msg);
            for (uint32_t i = 0; i < nh; i++) {
                handle_table_install(ht, mh[i].obj, mh[i].rights, &hv[i]);  // reserved
            }
            channel_msg_free(msg, true);
            msg = NULL;
            if (user_copy_out(handles.addr, hv, nh * sizeof(zx_handle_t)) != ZX_OK) {
                // Unmapped since the probe: the handles stay in the table.
                status = ZX_ERR_INVALID_ARGS;
            }
        }
    }
    if (msg != NULL) {
        channel_read_untake(ch, msg);
    }
    kobject_unref(ch);
    return status;
}
