// Channel syscalls: zx_channel_create, zx_channel_write, zx_channel_read, zx_channel_call.
//
// write: the handles are always consumed, as in Zircon: once their values are copied in, every
//        one of them is closed if the call fails, and moved into the message if it succeeds.
// call:  a write with a kernel txid, then a wait for the matching reply (channel.h), which is
//        copied out like a read; one that does not fit is discarded (BUFFER_TOO_SMALL).
// read:  the message is taken off the queue, its bytes and handle values are copied out, and
//        if any copy fails it goes back to the head of the queue untouched.
#include <kernel/channel.h>
#include <kernel/handle.h>
#include <kernel/heap.h>
#include <kernel/job.h>
#include <kernel/process.h>
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

static void drop_all(const struct msg_handle *mh, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        handle_drop(mh[i].obj);
    }
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
    // One atomic step takes every handle out (or, on any failure, closes every live one).
    struct msg_handle mh[ZX_CHANNEL_MAX_MSG_HANDLES];
    if (status == ZX_OK) {
        status = handle_table_take_many(ht, hv, num_handles, SYS_channel_write_handles_RIGHTS, ch,
                                        mh);
    } else if (handle_table_take_many(ht, hv, num_handles, ZX_RIGHT_NONE, NULL, mh) == ZX_OK) {
        drop_all(mh, num_handles);  // the call failed: its handles are closed all the same
    }
    if (status == ZX_OK) {
        status = channel_write(ch, kbytes, num_bytes, mh, num_handles);
        if (status != ZX_OK) {
            drop_all(mh, num_handles);
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
    // The channel lock is held from the take to the last copy-out, so the read is one step
    // against other readers: a message that cannot be delivered goes back to the head before
    // anyone else can look.
    struct channel_msg *msg = NULL;
    struct channel_msg *to_free = NULL;
    bool handles_moved = false;  // to_free's handles went into the table
    uint32_t nb = 0, nh = 0;
    channel_read_begin(ch);
    status = channel_read_take(ch, num_bytes, num_handles,
                               (options & ZX_CHANNEL_READ_MAY_DISCARD) != 0, &msg, &nb, &nh);
    if (status == ZX_ERR_BUFFER_TOO_SMALL) {
        to_free = msg;  // discarded (MAY_DISCARD), or NULL
        msg = NULL;
    }
    if (status == ZX_OK || status == ZX_ERR_BUFFER_TOO_SMALL) {
        // Sizes first: a caller that passed bad size pointers gets INVALID_ARGS.
        if (copy_out_optional(actual_bytes.addr, nb) != ZX_OK ||
            copy_out_optional(actual_handles.addr, nh) != ZX_OK) {
            status = ZX_ERR_INVALID_ARGS;
        }
    }
    if (msg != NULL && status == ZX_OK) {
        zx_handle_t hv[ZX_CHANNEL_MAX_MSG_HANDLES] = {0};
        // Probe both buffers (the handle one with zeros), then install the handles all at
        // once, then write their values: only that last copy can still fail, if another thread
        // unmapped the buffer in between; the handles then stay in the table.
        if (user_copy_out(bytes.addr, channel_msg_bytes(msg), nb) != ZX_OK ||
            user_copy_out(handles.addr, hv, nh * sizeof(zx_handle_t)) != ZX_OK) {
            status = ZX_ERR_INVALID_ARGS;
        } else {
            status = handle_table_install_many(ht, channel_msg_handles(msg), nh, hv);
        }
        if (status == ZX_OK) {
            to_free = msg;
            handles_moved = true;
            msg = NULL;
            if (user_copy_out(handles.addr, hv, nh * sizeof(zx_handle_t)) != ZX_OK) {
                status = ZX_ERR_INVALID_ARGS;
            }
        }
    }
    if (msg != NULL) {
        msg = channel_read_untake(ch, msg);  // stays queued (NULL), or the endpoint closed
    }
    channel_read_end(ch);
    if (msg != NULL) {
        channel_msg_free(msg, false);
    }
    if (to_free != NULL) {
        channel_msg_free(to_free, handles_moved);
    }
    kobject_unref(ch);
    return status;
}

// Delivers a zx_channel_call reply: sizes first, then bytes and handles as sys_channel_read
// does. A reply that does not fit is discarded (its handles closed): ZX_ERR_BUFFER_TOO_SMALL.
static zx_status_t call_copy_out(struct handle_table *ht, const zx_channel_call_args_t *args,
                                 struct channel_msg *reply, uintptr_t actual_bytes,
                                 uintptr_t actual_handles) {
    uint32_t nb = channel_msg_num_bytes(reply), nh = channel_msg_num_handles(reply);
    zx_status_t status = ZX_OK;
    if (copy_out_optional(actual_bytes, nb) != ZX_OK ||
        copy_out_optional(actual_handles, nh) != ZX_OK) {
        status = ZX_ERR_INVALID_ARGS;
    } else if (nb > args->rd_num_bytes || nh > args->rd_num_handles) {
        status = ZX_ERR_BUFFER_TOO_SMALL;
    }
    zx_handle_t hv[ZX_CHANNEL_MAX_MSG_HANDLES] = {0};
    uintptr_t rd_bytes = (uintptr_t)args->rd_bytes, rd_handles = (uintptr_t)args->rd_handles;
    if (status == ZX_OK && (user_copy_out(rd_bytes, channel_msg_bytes(reply), nb) != ZX_OK ||
                            user_copy_out(rd_handles, hv, nh * sizeof(zx_handle_t)) != ZX_OK)) {
        status = ZX_ERR_INVALID_ARGS;
    }
    if (status == ZX_OK) {
        status = handle_table_install_many(ht, channel_msg_handles(reply), nh, hv);
    }
    channel_msg_free(reply, status == ZX_OK);
    if (status == ZX_OK && user_copy_out(rd_handles, hv, nh * sizeof(zx_handle_t)) != ZX_OK) {
        status = ZX_ERR_INVALID_ARGS;  // the handles stay installed, as in channel_read
    }
    return status;
}

zx_status_t sys_channel_call(zx_handle_t handle, uint32_t options, zx_time_t deadline,
                             user_in_ptr_t args, user_out_ptr_t actual_bytes,
                             user_out_ptr_t actual_handles) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    zx_channel_call_args_t a;
    if (user_copy_in(&a, args.addr, sizeof(a)) != ZX_OK) {
        return ZX_ERR_INVALID_ARGS;
    }
    if (a.wr_num_handles > ZX_CHANNEL_MAX_MSG_HANDLES) {
        return ZX_ERR_OUT_OF_RANGE;
    }
    zx_handle_t hv[ZX_CHANNEL_MAX_MSG_HANDLES];
    if (user_copy_in(hv, (uintptr_t)a.wr_handles, a.wr_num_handles * sizeof(zx_handle_t)) !=
        ZX_OK) {
        return ZX_ERR_INVALID_ARGS;
    }
    // From here on the handles are consumed whatever happens, as in channel_write.
    zx_status_t status = ZX_OK;
    if (options != 0) {
        status = options == ZX_CHANNEL_WRITE_USE_IOVEC ? ZX_ERR_NOT_SUPPORTED : ZX_ERR_INVALID_ARGS;
    } else if (a.wr_num_bytes > ZX_CHANNEL_MAX_MSG_BYTES) {
        status = ZX_ERR_OUT_OF_RANGE;
    } else if (a.wr_num_bytes < sizeof(zx_txid_t)) {
        status = ZX_ERR_INVALID_ARGS;
    }
    struct kobject *ch = NULL;
    if (status == ZX_OK) {
        status = handle_table_get(ht, handle, SYS_channel_call_handle_TYPE,
                                  SYS_channel_call_handle_RIGHTS, &ch);
    }
    void *kbytes = NULL;
    if (status == ZX_OK) {
        kbytes = kmalloc(a.wr_num_bytes);
        if (kbytes == NULL) {
            status = ZX_ERR_NO_MEMORY;
        } else if (user_copy_in(kbytes, (uintptr_t)a.wr_bytes, a.wr_num_bytes) != ZX_OK) {
            status = ZX_ERR_INVALID_ARGS;
        }
    }
    struct msg_handle mh[ZX_CHANNEL_MAX_MSG_HANDLES];
    if (status == ZX_OK) {
        status = handle_table_take_many(ht, hv, a.wr_num_handles, ZX_RIGHT_TRANSFER, ch, mh);
    } else if (handle_table_take_many(ht, hv, a.wr_num_handles, ZX_RIGHT_NONE, NULL, mh) ==
               ZX_OK) {
        drop_all(mh, a.wr_num_handles);
    }
    struct channel_msg *reply = NULL;
    if (status == ZX_OK) {
        bool sent;
        uthread_set_blocked(ZX_THREAD_STATE_BLOCKED_CHANNEL);  // for ZX_INFO_THREAD
        status = channel_call(ch, kbytes, a.wr_num_bytes, mh, a.wr_num_handles, deadline, &sent,
                              &reply);
        uthread_set_blocked(0);
        if (!sent) {
            drop_all(mh, a.wr_num_handles);
        }
    }
    kfree(kbytes);
    kobject_unref(ch);
    if (reply != NULL) {
        status = call_copy_out(ht, &a, reply, actual_bytes.addr, actual_handles.addr);
    }
    return status;
}
