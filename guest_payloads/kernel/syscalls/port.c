// Port syscalls: zx_port_create, _queue, _wait, _cancel, and zx_object_wait_async.
//
// Checks in Zircon's order: the port handle (type, rights), then the other handle, looked up
// with the caller's handle table locked (handle_table_with) so that the observer is attached
// to (or cancelled on) a handle that stays live until it is: a concurrent close then finds
// it and cancels it.
#include <kernel/handle.h>
#include <kernel/job.h>
#include <kernel/port.h>
#include <kernel/process.h>
#include <kernel/usercopy.h>
#include <syscall-kernel.h>

zx_status_t sys_port_create(uint32_t options, user_out_ptr_t out) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    zx_status_t status = job_policy_enforce(ht, ZX_POL_NEW_PORT);
    if (status != ZX_OK) {
        return status;
    }
    struct kobject *port;
    status = port_create(options, &port);
    if (status != ZX_OK) {
        return status;
    }
    status = handle_table_add_user(ht, port, port->ops->default_rights, out.addr);
    kobject_unref(port);
    return status;
}

zx_status_t sys_port_queue(zx_handle_t handle, user_in_ptr_t packet) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    struct kobject *port;
    zx_status_t status = handle_table_get(ht, handle, SYS_port_queue_handle_TYPE,
                                          SYS_port_queue_handle_RIGHTS, &port);
    if (status != ZX_OK) {
        return status;
    }
    zx_port_packet_t kpacket;
    if (user_copy_in(&kpacket, packet.addr, sizeof(kpacket)) != ZX_OK) {
        status = ZX_ERR_INVALID_ARGS;
    } else {
        status = port_queue_user(port, &kpacket);
    }
    kobject_unref(port);
    return status;
}

zx_status_t sys_port_wait(zx_handle_t handle, zx_time_t deadline, user_out_ptr_t packet) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    struct kobject *port;
    zx_status_t status = handle_table_get(ht, handle, SYS_port_wait_handle_TYPE,
                                          SYS_port_wait_handle_RIGHTS, &port);
    if (status != ZX_OK) {
        return status;
    }
    zx_port_packet_t kpacket;
    uthread_set_blocked(ZX_THREAD_STATE_BLOCKED_PORT);  // for ZX_INFO_THREAD
    status = port_wait(port, deadline, &kpacket);
    uthread_set_blocked(0);
    kobject_unref(port);
    // As in Zircon, the packet is dequeued before the copy-out: a bad pointer loses it.
    if (status == ZX_OK && user_copy_out(packet.addr, &kpacket, sizeof(kpacket)) != ZX_OK) {
        status = ZX_ERR_INVALID_ARGS;
    }
    return status;
}

struct async_args {
    struct kobject *port;
    const struct handle_table *ht;
    zx_handle_t handle;
    uint64_t key;
    zx_signals_t signals;
    uint32_t options;
    struct port_observer *observer;
};

static zx_status_t observe_locked(void *arg, struct kobject *obj) {
    struct async_args *a = arg;
    return port_observe(a->port, obj, a->ht, a->handle, a->key, a->signals, a->options,
                        &a->observer);
}

zx_status_t sys_object_wait_async(zx_handle_t handle, zx_handle_t port, uint64_t key,
                                  zx_signals_t signals, uint32_t options) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if ((options & ~(ZX_WAIT_ASYNC_TIMESTAMP | ZX_WAIT_ASYNC_EDGE)) != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct async_args a = {.ht = ht, .handle = handle, .key = key, .signals = signals,
                           .options = options};
    zx_status_t status = handle_table_get(ht, port, SYS_object_wait_async_port_TYPE,
                                          SYS_object_wait_async_port_RIGHTS, &a.port);
    if (status != ZX_OK) {
        return status;
    }
    a.observer = port_observer_alloc();
    if (a.observer == NULL) {
        status = ZX_ERR_NO_MEMORY;
    } else {
        status = handle_table_with(ht, handle, SYS_object_wait_async_handle_RIGHTS,
                                   observe_locked, &a);
    }
    port_observers_free(a.observer);  // NULL once attached
    kobject_unref(a.port);
    return status;
}

struct cancel_args {
    struct kobject *port;
    const struct handle_table *ht;
    zx_handle_t source;
    uint64_t key;
};

static zx_status_t cancel_locked(void *arg, struct kobject *obj) {
    struct cancel_args *a = arg;
    return port_cancel(a->port, obj, a->ht, a->source, a->key);
}

zx_status_t sys_port_cancel(zx_handle_t handle, zx_handle_t source, uint64_t key) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    struct cancel_args a = {.ht = ht, .source = source, .key = key};
    zx_status_t status = handle_table_get(ht, handle, SYS_port_cancel_handle_TYPE,
                                          SYS_port_cancel_handle_RIGHTS, &a.port);
    if (status != ZX_OK) {
        return status;
    }
    status = handle_table_with(ht, source, SYS_port_cancel_source_RIGHTS, cancel_locked, &a);
    kobject_unref(a.port);
    return status;
}
