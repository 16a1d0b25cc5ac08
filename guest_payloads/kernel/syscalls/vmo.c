// VMO syscalls (Zircon semantics; handler shape in kernel/syscalls/util.h).
//
// Rights as Zircon's: a new VMO's handle has ZX_DEFAULT_VMO_RIGHTS (no ZX_RIGHT_EXECUTE;
// plus ZX_RIGHT_RESIZE with ZX_VMO_RESIZABLE). A loader that wrote code into a VMO makes it
// mappable executable with zx_vmo_replace_as_executable. W^X holds regardless: no mapping is
// ever writable and executable.
#include "util.h"

#include <kernel/job.h>
#include <kernel/vm.h>
#include <zircon/rights.h>
#include <zircon/syscalls/policy.h>

zx_status_t sys_vmo_create(uint64_t size, uint32_t options, user_out_ptr_t out) {
    struct vmo *vmo;
    zx_status_t st = vmo_create(size, options, &vmo);
    if (st != ZX_OK) {
        return st;
    }
    zx_rights_t rights = ZX_DEFAULT_VMO_RIGHTS |
                         ((options & ZX_VMO_RESIZABLE) ? ZX_RIGHT_RESIZE : ZX_RIGHT_NONE);
    st = handle_table_add_user(&process_current()->handles, &vmo->obj, rights, out.addr);
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

zx_status_t sys_vmo_create_child(zx_handle_t handle, uint32_t options, uint64_t offset,
                                 uint64_t size, user_out_ptr_t out) {
    bool no_write = (options & ZX_VMO_CHILD_NO_WRITE) != 0;
    if (no_write && (options & ZX_VMO_CHILD_RESIZABLE)) {
        return ZX_ERR_INVALID_ARGS;  // resizing needs WRITE
    }
    options &= ~ZX_VMO_CHILD_NO_WRITE;  // a property of the new handle, not of the object
    struct kobject *obj;
    zx_rights_t rights;
    zx_status_t st = sys_get_rights(handle, SYS_vmo_create_child_handle_TYPE,
                                    SYS_vmo_create_child_handle_RIGHTS, &obj, &rights);
    if (st != ZX_OK) {
        return st;
    }
    struct vmo *child;
    st = vmo_create_child((struct vmo *)obj, options, offset, size, &child);
    kobject_unref(obj);
    if (st != ZX_OK) {
        return st;
    }
    rights |= ZX_RIGHT_GET_PROPERTY | ZX_RIGHT_SET_PROPERTY;
    if (no_write) {
        rights &= ~ZX_RIGHT_WRITE;
    } else if (options & (ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE)) {
        rights = (rights & ~ZX_RIGHT_EXECUTE) | ZX_RIGHT_WRITE;
    }
    rights = (options & ZX_VMO_CHILD_RESIZABLE) ? rights | ZX_RIGHT_RESIZE
                                                : rights & ~ZX_RIGHT_RESIZE;
    st = handle_table_add_user(&process_current()->handles, &child->obj, rights, out.addr);
    kobject_unref(&child->obj);
    return st;
}

// May the caller mark a VMO executable with `vmex`? ZX_HANDLE_INVALID asks the job's ambient
// policy (ZX_POL_AMBIENT_MARK_VMO_EXEC); zhb has no VMEX resource, so a resource handle is
// never enough.
static zx_status_t vmex_check(struct handle_table *ht, zx_handle_t vmex) {
    if (vmex == ZX_HANDLE_INVALID) {
        return job_policy_enforce(ht, ZX_POL_AMBIENT_MARK_VMO_EXEC);
    }
    struct kobject *obj;
    zx_status_t st = handle_table_get(ht, vmex, SYS_vmo_replace_as_executable_vmex_TYPE,
                                      SYS_vmo_replace_as_executable_vmex_RIGHTS, &obj);
    if (st != ZX_OK) {
        return st;
    }
    kobject_unref(obj);
    return ZX_ERR_ACCESS_DENIED;
}

// Zircon's order: vmex is judged first; a `handle` that is not live is ZX_ERR_BAD_HANDLE and
// nothing else happens; any other outcome consumes it.
zx_status_t sys_vmo_replace_as_executable(zx_handle_t handle, zx_handle_t vmex,
                                          user_out_ptr_t out) {
    struct handle_table *ht = &process_current()->handles;
    zx_status_t st = vmex_check(ht, vmex);
    struct kobject *obj;
    zx_rights_t rights;
    zx_status_t got = handle_table_get_rights(ht, handle, ZX_OBJ_TYPE_NONE,
                                              SYS_vmo_replace_as_executable_handle_RIGHTS, &obj,
                                              &rights);
    if (got != ZX_OK) {
        return got;
    }
    if (st == ZX_OK && obj->type != SYS_vmo_replace_as_executable_handle_TYPE) {
        st = ZX_ERR_WRONG_TYPE;
    }
    if (st == ZX_OK) {
        st = handle_table_add_user(ht, obj, rights | ZX_RIGHT_EXECUTE, out.addr);
    }
    (void)handle_table_close(ht, handle);
    kobject_unref(obj);
    return st;
}
