// VMO syscalls (Zircon semantics; handler shape in kernel/syscalls/util.h).
//
// One deviation: a new VMO's handle carries ZX_RIGHT_EXECUTE on top of ZX_DEFAULT_VMO_RIGHTS
// (as Zircon's did before zx_vmo_replace_as_executable existed), because that syscall is not
// part of zhb's set and loaders must be able to map code they wrote into a VMO. W^X still
// holds: no mapping is ever writable and executable.
#include "util.h"

#include <kernel/vm.h>
#include <zircon/rights.h>

zx_status_t sys_vmo_create(uint64_t size, uint32_t options, user_out_ptr_t out) {
    struct vmo *vmo;
    zx_status_t st = vmo_create(size, options, &vmo);
    if (st != ZX_OK) {
        return st;
    }
    zx_rights_t rights = ZX_DEFAULT_VMO_RIGHTS | ZX_RIGHT_EXECUTE |
                         ((options & ZX_VMO_RESIZABLE) ? ZX_RIGHT_RESIZE : ZX_RIGHT_NONE);
    st = sys_put_handle(&vmo->obj, rights, out, NULL);
    kobject_unref(&vmo->obj);
    return st;
}

zx_status_t sys_vmo_read(zx_handle_t handle, user_out_ptr_t buffer, uint64_t offset,
                         size_t buffer_size) {
    struct kobject *obj;
    zx_status_t st = sys_get(handle, SYS_vmo_read_handle_TYPE, SYS_vmo_read_handle_RIGHTS, &obj);
    if (st != ZX_OK) {
        return st;
    }
    st = vmo_read_user((struct vmo *)obj, buffer.addr, offset, buffer_size);
    kobject_unref(obj);
    return st;
}

zx_status_t sys_vmo_write(zx_handle_t handle, user_in_ptr_t buffer, uint64_t offset,
                          size_t buffer_size) {
    struct kobject *obj;
    zx_status_t st = sys_get(handle, SYS_vmo_write_handle_TYPE, SYS_vmo_write_handle_RIGHTS,
                             &obj);
    if (st != ZX_OK) {
        return st;
    }
    st = vmo_write_user((struct vmo *)obj, buffer.addr, offset, buffer_size);
    kobject_unref(obj);
    return st;
}

zx_status_t sys_vmo_get_size(zx_handle_t handle, user_out_ptr_t size) {
    struct kobject *obj;
    zx_status_t st = sys_get(handle, SYS_vmo_get_size_handle_TYPE,
                             SYS_vmo_get_size_handle_RIGHTS, &obj);
    if (st != ZX_OK) {
        return st;
    }
    uint64_t value = vmo_get_size((struct vmo *)obj);
    kobject_unref(obj);
    return copy_to_user((void *)size.addr, &value, sizeof(value));
}

zx_status_t sys_vmo_set_size(zx_handle_t handle, uint64_t size) {
    struct kobject *obj;
    zx_status_t st = sys_get(handle, SYS_vmo_set_size_handle_TYPE,
                             SYS_vmo_set_size_handle_RIGHTS, &obj);
    if (st != ZX_OK) {
        return st;
    }
    st = vmo_set_size((struct vmo *)obj, size);
    kobject_unref(obj);
    return st;
}
