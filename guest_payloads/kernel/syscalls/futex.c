// Futex syscalls: zx_futex_wait, zx_futex_wake, zx_futex_requeue, zx_futex_get_owner
// (include/kernel/futex.h). Futexes are keyed by user address within the calling process.
//
// Every pointer must be non-NULL, inside the user address range and aligned to
// sizeof(zx_futex_t): ZX_ERR_INVALID_ARGS otherwise (wait and requeue also read the word,
// so an unmapped one is ZX_ERR_INVALID_ARGS too). Owner handles: ZX_HANDLE_INVALID (none) or
// a thread handle (no rights needed): ZX_ERR_BAD_HANDLE / ZX_ERR_WRONG_TYPE; the calling
// thread itself is ZX_ERR_INVALID_ARGS for zx_futex_wait, and so is an owner that is waiting
// on the futex (either futex of a requeue).
#include <kernel/futex.h>
#include <kernel/handle.h>
#include <kernel/process.h>
#include <kernel/usercopy.h>
#include <kernel/vm.h>
#include <syscall-kernel.h>

static bool futex_ptr_ok(uintptr_t addr) {
    return addr != 0 && (addr & (sizeof(zx_futex_t) - 1)) == 0 && addr >= USER_ASPACE_BASE &&
           addr < USER_ASPACE_TOP;
}

// Looks up an owner handle: *t (a reference, or NULL for ZX_HANDLE_INVALID) and its koid.
// With `reject_self`, the calling thread is ZX_ERR_INVALID_ARGS (zx_futex_wait).
static zx_status_t owner_lookup(struct handle_table *ht, zx_handle_t h, bool reject_self,
                                struct uthread **t, zx_koid_t *koid) {
    *t = NULL;
    *koid = ZX_KOID_INVALID;
    if (h == ZX_HANDLE_INVALID) {
        return ZX_OK;
    }
    struct kobject *obj;
    zx_status_t status = handle_table_get(ht, h, ZX_OBJ_TYPE_THREAD, ZX_RIGHT_NONE, &obj);
    if (status != ZX_OK) {
        return status;
    }
    *t = uthread_from_kobject(obj);
    *koid = obj->koid;
    if (reject_self && *t == uthread_current()) {
        kobject_unref(obj);
        *t = NULL;
        return ZX_ERR_INVALID_ARGS;
    }
    return ZX_OK;
}

zx_status_t sys_futex_wait(user_in_ptr_t value_ptr, zx_futex_t current_value,
                           zx_handle_t new_futex_owner, zx_time_t deadline) {
    struct process *p = process_current();
    if (p == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if (!futex_ptr_ok(value_ptr.addr)) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct uthread *owner;
    zx_koid_t koid;
    zx_status_t status = owner_lookup(&p->handles, new_futex_owner, true, &owner, &koid);
    if (status != ZX_OK) {
        return status;
    }
    status = futex_wait(&p->futexes, value_ptr.addr, current_value, owner, koid, deadline);
    if (owner != NULL) {
        kobject_unref(&owner->obj);
    }
    return status;
}

zx_status_t sys_futex_wake(user_in_ptr_t value_ptr, uint32_t wake_count) {
    struct process *p = process_current();
    if (p == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if (!futex_ptr_ok(value_ptr.addr)) {
        return ZX_ERR_INVALID_ARGS;
    }
    futex_wake(&p->futexes, value_ptr.addr, wake_count);
    return ZX_OK;
}

zx_status_t sys_futex_requeue(user_in_ptr_t value_ptr, uint32_t wake_count,
                              zx_futex_t current_value, user_in_ptr_t requeue_ptr,
                              uint32_t requeue_count, zx_handle_t new_requeue_owner) {
    struct process *p = process_current();
    if (p == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if (!futex_ptr_ok(value_ptr.addr) || !futex_ptr_ok(requeue_ptr.addr) ||
        value_ptr.addr == requeue_ptr.addr) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct uthread *owner;
    zx_koid_t koid;
    zx_status_t status = owner_lookup(&p->handles, new_requeue_owner, false, &owner, &koid);
    if (status != ZX_OK) {
        return status;
    }
    status = futex_requeue(&p->futexes, value_ptr.addr, wake_count, current_value,
                           requeue_ptr.addr, requeue_count, owner, koid);
    if (owner != NULL) {
        kobject_unref(&owner->obj);
    }
    return status;
}

zx_status_t sys_futex_get_owner(user_in_ptr_t value_ptr, user_out_ptr_t koid) {
    struct process *p = process_current();
    if (p == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if (!futex_ptr_ok(value_ptr.addr)) {
        return ZX_ERR_INVALID_ARGS;
    }
    zx_koid_t owner = futex_get_owner(&p->futexes, value_ptr.addr);
    if (user_copy_out(koid.addr, &owner, sizeof(owner)) != ZX_OK) {
        return ZX_ERR_INVALID_ARGS;
    }
    return ZX_OK;
}
