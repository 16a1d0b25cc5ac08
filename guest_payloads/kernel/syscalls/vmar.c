// VMAR syscalls (Zircon semantics; handler shape in kernel/syscalls/util.h). Rights: a
// ZX_VM_PERM_READ/WRITE/EXECUTE (or ZX_VM_CAN_MAP_* for allocate) needs ZX_RIGHT_READ/
// WRITE/EXECUTE on the VMAR handle, and for vmar_map on the VMO handle too; the VMO
// handle's rights also cap what a later vmar_protect may grant the mapping.
#include "util.h"

#include <kernel/vm.h>
#include <zircon/rights.h>

#define VM_PERMS (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE)
#define CAN_MAP_SHIFT 7  // ZX_VM_CAN_MAP_READ == ZX_VM_PERM_READ << 7, and so on

// The rights a set of ZX_VM_PERM_* bits needs.
static zx_rights_t perm_rights(zx_vm_option_t perms) {
    return ((perms & ZX_VM_PERM_READ) ? ZX_RIGHT_READ : 0) |
           ((perms & ZX_VM_PERM_WRITE) ? ZX_RIGHT_WRITE : 0) |
           ((perms & ZX_VM_PERM_EXECUTE) ? ZX_RIGHT_EXECUTE : 0);
}

// The ZX_VM_PERM_* bits a handle's rights allow.
static zx_vm_option_t rights_perms(zx_rights_t rights) {
    return ((rights & ZX_RIGHT_READ) ? ZX_VM_PERM_READ : 0) |
           ((rights & ZX_RIGHT_WRITE) ? ZX_VM_PERM_WRITE : 0) |
           ((rights & ZX_RIGHT_EXECUTE) ? ZX_VM_PERM_EXECUTE : 0);
}

static zx_status_t get_vmar(zx_handle_t h, zx_rights_t need, struct vmar **out) {
    return sys_get(h, ZX_OBJ_TYPE_VMAR, need, (struct kobject **)out);
}

zx_status_t sys_vmar_map(zx_handle_t handle, zx_vm_option_t options, size_t vmar_offset,
                         zx_handle_t vmo, uint64_t vmo_offset, size_t len,
                         user_out_ptr_t mapped_addr) {
    zx_vm_option_t perms = options & VM_PERMS;
    if (options & ZX_VM_PERM_READ_IF_XOM_UNSUPPORTED) {
        perms |= ZX_VM_PERM_READ;
    }
    struct vmar *v;
    zx_status_t st = get_vmar(handle, perm_rights(perms), &v);
    if (st != ZX_OK) {
        return st;
    }
    struct kobject *vobj;
    zx_rights_t vmo_rights;
    st = sys_get_rights(vmo, SYS_vmar_map_vmo_TYPE, SYS_vmar_map_vmo_RIGHTS | perm_rights(perms),
                        &vobj, &vmo_rights);
    if (st != ZX_OK) {
        kobject_unref(&v->obj);
        return st;
    }
    zx_vaddr_t addr;
    st = vmar_map(v, options, vmar_offset, (struct vmo *)vobj, vmo_offset, len,
                  rights_perms(vmo_rights), &addr);
    if (st == ZX_OK) {
        st = copy_to_user((void *)mapped_addr.addr, &addr, sizeof(addr));
        if (st != ZX_OK) {
            (void)vmar_unmap(v, addr, len);
        }
    }
    kobject_unref(vobj);
    kobject_unref(&v->obj);
    return st;
}

zx_status_t sys_vmar_unmap(zx_handle_t handle, zx_vaddr_t addr, size_t len) {
    struct vmar *v;
    zx_status_t st = get_vmar(handle, SYS_vmar_unmap_handle_RIGHTS, &v);
    if (st != ZX_OK) {
        return st;
    }
    st = vmar_unmap(v, addr, len);
    kobject_unref(&v->obj);
    return st;
}

zx_status_t sys_vmar_protect(zx_handle_t handle, zx_vm_option_t options, zx_vaddr_t addr,
                             size_t len) {
    struct vmar *v;
    zx_status_t st = get_vmar(handle, perm_rights(options & VM_PERMS), &v);
    if (st != ZX_OK) {
        return st;
    }
    st = vmar_protect(v, options, addr, len);
    kobject_unref(&v->obj);
    return st;
}

zx_status_t sys_vmar_allocate(zx_handle_t parent_vmar, zx_vm_option_t options, size_t offset,
                              size_t size, user_out_ptr_t child_vmar,
                              user_out_ptr_t child_addr) {
    zx_vm_option_t can_map = (options >> CAN_MAP_SHIFT) & VM_PERMS;
    struct vmar *parent;
    zx_status_t st = get_vmar(parent_vmar, perm_rights(can_map), &parent);
    if (st != ZX_OK) {
        return st;
    }
    struct vmar *child;
    zx_vaddr_t addr;
    st = vmar_allocate(parent, options, offset, size, &child, &addr);
    kobject_unref(&parent->obj);
    if (st != ZX_OK) {
        return st;
    }
    zx_rights_t rights = ZX_DEFAULT_VMAR_RIGHTS | perm_rights(can_map);
    // Everything that can fail for lack of resources comes before the first copy-out, so a
    // failure writes neither out parameter (only bad out pointers can leave one written).
    struct handle_table *ht = &process_current()->handles;
    zx_handle_t h;
    st = handle_table_add(ht, &child->obj, rights, &h);
    if (st == ZX_OK) {
        if (copy_to_user((void *)child_addr.addr, &addr, sizeof(addr)) != ZX_OK ||
            copy_to_user((void *)child_vmar.addr, &h, sizeof(h)) != ZX_OK) {
            (void)handle_table_close(ht, h);
            st = ZX_ERR_INVALID_ARGS;
        }
    }
    if (st != ZX_OK) {
        (void)vmar_destroy(child);
    }
    kobject_unref(&child->obj);
    return st;
}

zx_status_t sys_vmar_destroy(zx_handle_t handle) {
    struct vmar *v;
    zx_status_t st = get_vmar(handle, SYS_vmar_destroy_handle_RIGHTS, &v);
    if (st != ZX_OK) {
        return st;
    }
    st = vmar_destroy(v);
    kobject_unref(&v->obj);
    return st;
}

// RFC-0013. The handle needs INSPECT; the rest is vmar_create_vmo_child's (kernel/object/vmar.c).
// The child's rights: ZX_DEFAULT_VMO_RIGHTS, without WRITE for a NO_WRITE clone, with EXECUTE
// only for a NO_WRITE clone of an executable mapping: the RFC's "executable clones of
// executable mappings, but they must be read-only" (W^X on the handle).
zx_status_t sys_vmar_create_vmo_child(zx_handle_t handle, uint32_t options, zx_vaddr_t addr,
                                      size_t size, user_out_ptr_t out) {
    struct vmar *v;
    zx_status_t st = get_vmar(handle, SYS_vmar_create_vmo_child_handle_RIGHTS, &v);
    if (st != ZX_OK) {
        return st;
    }
    bool no_write = (options & ZX_VMO_CHILD_NO_WRITE) != 0;
    struct vmo *child;
    bool executable = false;
    st = vmar_create_vmo_child(v, options & ~ZX_VMO_CHILD_NO_WRITE, addr, size, &child,
                               &executable);
    kobject_unref(&v->obj);
    if (st != ZX_OK) {
        return st;
    }
    zx_rights_t rights = no_write ? (ZX_DEFAULT_VMO_RIGHTS & ~ZX_RIGHT_WRITE) |
                                        (executable ? ZX_RIGHT_EXECUTE : ZX_RIGHT_NONE)
                                  : ZX_DEFAULT_VMO_RIGHTS;
    st = handle_table_add_user(&process_current()->handles, &child->obj, rights, out.addr);
    kobject_unref(&child->obj);
    return st;
}
