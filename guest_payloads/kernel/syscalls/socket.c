// Socket syscalls: zx_socket_create, zx_socket_write, zx_socket_read,
// zx_socket_set_disposition (include/kernel/socket.h). Handle type and rights come from
// syscalls/zircon.syscalls; the object code validates the rest and copies user memory.
#include <kernel/handle.h>
#include <kernel/job.h>
#include <kernel/socket.h>
#include <syscall-kernel.h>

#include "util.h"

zx_status_t sys_socket_create(uint32_t options, user_out_ptr_t out0, user_out_ptr_t out1) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if ((options & ~ZX_SOCKET_DATAGRAM) != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    zx_status_t status = job_policy_enforce(ht, ZX_POL_NEW_SOCKET);
    if (status != ZX_OK) {
        return status;
    }
    struct kobject *s0, *s1;
    status = socket_create(options, &s0, &s1);
    if (status != ZX_OK) {
        return status;
    }
    status = handle_table_add_pair_user(ht, s0, s1, ZX_DEFAULT_SOCKET_RIGHTS, out0.addr, out1.addr);
    kobject_unref(s0);
    kobject_unref(s1);
    return status;
}

// Looks up the socket with `rights`, then reads or writes.
static zx_status_t socket_io(zx_handle_t handle, zx_rights_t rights, bool write,
                             uint32_t options, uintptr_t buffer, size_t size, uintptr_t actual) {
    struct kobject *obj;
    zx_status_t status = sys_get(handle, ZX_OBJ_TYPE_SOCKET, rights, &obj);
    if (status != ZX_OK) {
        return status;
    }
    status = write ? socket_write(obj, options, buffer, size, actual)
                   : socket_read(obj, options, buffer, size, actual);
    kobject_unref(obj);
    return status;
}

zx_status_t sys_socket_write(zx_handle_t handle, uint32_t options, user_in_ptr_t buffer,
                             size_t buffer_size, user_out_ptr_t actual) {
    return socket_io(handle, SYS_socket_write_handle_RIGHTS, true, options, buffer.addr,
                     buffer_size, actual.addr);
}

zx_status_t sys_socket_read(zx_handle_t handle, uint32_t options, user_out_ptr_t buffer,
                            size_t buffer_size, user_out_ptr_t actual) {
    return socket_io(handle, SYS_socket_read_handle_RIGHTS, false, options, buffer.addr,
                     buffer_size, actual.addr);
}

zx_status_t sys_socket_set_disposition(zx_handle_t handle, uint32_t disposition,
                                       uint32_t disposition_peer) {
    struct kobject *obj;
    zx_status_t status = sys_get(handle, SYS_socket_set_disposition_handle_TYPE,
                                 SYS_socket_set_disposition_handle_RIGHTS, &obj);
    if (status != ZX_OK) {
        return status;
    }
    status = socket_set_disposition(obj, disposition, disposition_peer);
    kobject_unref(obj);
    return status;
}
