// Process, thread and task syscalls (Zircon semantics; see kernel/syscalls/util.h for the
// handler shape and include/kernel/process.h for the objects).
#include "util.h"

#include <kernel/job.h>
#include <kernel/vm.h>
#include <zircon/rights.h>
#include <zircon/syscalls/policy.h>

zx_status_t sys_process_create(zx_handle_t job, user_in_ptr_t name, size_t name_size,
                               uint32_t options, user_out_ptr_t proc_handle,
                               user_out_ptr_t vmar_handle) {
    if (options != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct kobject *jobj;
    zx_status_t st = sys_get(job, SYS_process_create_job_TYPE, SYS_process_create_job_RIGHTS,
                             &jobj);
    if (st != ZX_OK) {
        return st;
    }
    char kname[ZX_MAX_NAME_LEN];
    size_t len;
    st = sys_copy_name(name, name_size, kname, &len);
    if (st == ZX_OK) {
        st = job_policy_enforce(&process_current()->handles, ZX_POL_NEW_PROCESS);
    }
    struct process *p = NULL;
    struct vmar *root = NULL;
    if (st == ZX_OK) {
        st = process_create_etc(job_from_kobject(jobj), kname, len, &p, &root);
    }
    kobject_unref(jobj);
    if (st != ZX_OK) {
        return st;
    }
    // Both handles go into the table before either value is copied out: a full table fails
    // the call with neither out parameter written and nothing left behind.
    struct handle_table *ht = &process_current()->handles;
    zx_rights_t vmar_rights = ZX_DEFAULT_VMAR_RIGHTS | ZX_RIGHT_READ | ZX_RIGHT_WRITE |
                              ZX_RIGHT_EXECUTE;
    zx_handle_t ph, vh;
    st = handle_table_add(ht, &p->obj, ZX_DEFAULT_PROCESS_RIGHTS, &ph);
    if (st == ZX_OK) {
        st = handle_table_add(ht, &root->obj, vmar_rights, &vh);
        if (st != ZX_OK) {
            (void)handle_table_close(ht, ph);
        }
    }
    if (st == ZX_OK && (copy_to_user((void *)proc_handle.addr, &ph, sizeof(ph)) != ZX_OK ||
                        copy_to_user((void *)vmar_handle.addr, &vh, sizeof(vh)) != ZX_OK)) {
        (void)handle_table_close(ht, vh);
        (void)handle_table_close(ht, ph);
        st = ZX_ERR_INVALID_ARGS;
    }
    kobject_unref(&root->obj);
    kobject_unref(&p->obj);
    return st;
}

// Moves the caller's handle `h` (ZX_HANDLE_INVALID: none) into `p`'s table; *value is its
// value there. The caller's handle is gone either way (zx_process_start consumes it).
static zx_status_t transfer_handle(zx_handle_t h, struct process *p, zx_handle_t *value) {
    *value = ZX_HANDLE_INVALID;
    if (h == ZX_HANDLE_INVALID) {
        return ZX_OK;
    }
    struct kobject *obj;
    zx_rights_t rights;
    zx_status_t st = handle_table_take(&process_current()->handles, h,
                                       SYS_process_start_arg1_RIGHTS, &obj, &rights);
    if (st == ZX_ERR_ACCESS_DENIED) {  // a live handle without TRANSFER: still consumed
        (void)handle_table_close(&process_current()->handles, h);
    }
    if (st != ZX_OK) {
        return st;
    }
    st = handle_table_install(&p->handles, obj, rights, value);
    if (st != ZX_OK) {
        handle_drop(obj);
    }
    return st;
}

zx_status_t sys_process_start(zx_handle_t handle, zx_handle_t thread, zx_vaddr_t entry,
                              zx_vaddr_t stack, zx_handle_t arg1, uintptr_t arg2) {
    struct kobject *pobj = NULL, *tobj = NULL;
    zx_status_t st = sys_get(handle, SYS_process_start_handle_TYPE,
                             SYS_process_start_handle_RIGHTS, &pobj);
    if (st == ZX_OK) {
        st = sys_get(thread, SYS_process_start_thread_TYPE, SYS_process_start_thread_RIGHTS,
                     &tobj);
    }
    struct process *p = process_from_kobject(pobj);
    struct uthread *t = uthread_from_kobject(tobj);
    if (st == ZX_OK && t->process != p) {
        st = ZX_ERR_ACCESS_DENIED;
    }
    if (st == ZX_OK && (p->state != PROCESS_STATE_INITIAL || t->state != ZX_THREAD_STATE_NEW)) {
        st = ZX_ERR_BAD_STATE;
    }
    zx_handle_t child_arg1 = ZX_HANDLE_INVALID;
    if (st == ZX_OK) {
        st = transfer_handle(arg1, p, &child_arg1);
    } else if (arg1 != ZX_HANDLE_INVALID) {
        (void)handle_table_close(&process_current()->handles, arg1);
    }
    if (st == ZX_OK) {
        st = uthread_start(t, entry, stack, child_arg1, arg2);
        if (st != ZX_OK && child_arg1 != ZX_HANDLE_INVALID) {
            (void)handle_table_close(&p->handles, child_arg1);
        }
    }
    kobject_unref(tobj);
    kobject_unref(pobj);
    return st;
}

void sys_process_exit(int64_t retcode) {
    process_exit_current(retcode);
}

zx_status_t sys_thread_create(zx_handle_t process, user_in_ptr_t name, size_t name_size,
                              uint32_t options, user_out_ptr_t out) {
    if (options != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct kobject *pobj;
    zx_status_t st = sys_get(process, SYS_thread_create_process_TYPE,
                             SYS_thread_create_process_RIGHTS, &pobj);
    if (st != ZX_OK) {
        return st;
    }
    char kname[ZX_MAX_NAME_LEN];
    size_t len;
    st = sys_copy_name(name, name_size, kname, &len);
    struct uthread *t = NULL;
    if (st == ZX_OK) {
        st = uthread_create(process_from_kobject(pobj), kname, len, &t);
    }
    kobject_unref(pobj);
    if (st != ZX_OK) {
        return st;
    }
    st = handle_table_add_user(&process_current()->handles, &t->obj, ZX_DEFAULT_THREAD_RIGHTS,
                               out.addr);
    kobject_unref(&t->obj);
    return st;
}

zx_status_t sys_thread_start(zx_handle_t handle, zx_vaddr_t thread_entry, zx_vaddr_t stack,
                             uintptr_t arg1, uintptr_t arg2) {
    struct kobject *tobj;
    zx_status_t st = sys_get(handle, SYS_thread_start_handle_TYPE,
                             SYS_thread_start_handle_RIGHTS, &tobj);
    if (st != ZX_OK) {
        return st;
    }
    struct uthread *t = uthread_from_kobject(tobj);
    // The first thread of a process starts with zx_process_start.
    if (t->process->state == PROCESS_STATE_INITIAL) {
        st = ZX_ERR_BAD_STATE;
    } else {
        st = uthread_start(t, thread_entry, stack, arg1, arg2);
    }
    kobject_unref(tobj);
    return st;
}

void sys_thread_exit(void) {
    uthread_exit_current();
}

// The handle's type is checked before its rights (as typed lookups do): a non-task object
// is ZX_ERR_WRONG_TYPE even though it never has ZX_RIGHT_DESTROY.
zx_status_t sys_task_kill(zx_handle_t handle) {
    struct kobject *obj;
    zx_rights_t rights;
    zx_status_t st = sys_get_rights(handle, ZX_OBJ_TYPE_NONE, ZX_RIGHT_NONE, &obj, &rights);
    if (st != ZX_OK) {
        return st;
    }
    bool task = obj->type == ZX_OBJ_TYPE_PROCESS || obj->type == ZX_OBJ_TYPE_THREAD ||
                obj->type == ZX_OBJ_TYPE_JOB;
    if (!task || (rights & SYS_task_kill_handle_RIGHTS) != SYS_task_kill_handle_RIGHTS) {
        st = task ? ZX_ERR_ACCESS_DENIED : ZX_ERR_WRONG_TYPE;
    } else if (obj->type == ZX_OBJ_TYPE_PROCESS) {
        process_kill(process_from_kobject(obj), ZX_TASK_RETCODE_SYSCALL_KILL);
    } else if (obj->type == ZX_OBJ_TYPE_THREAD) {
        uthread_kill(uthread_from_kobject(obj));
    } else {
        job_kill(job_from_kobject(obj), ZX_TASK_RETCODE_SYSCALL_KILL);
    }
    kobject_unref(obj);
    return st;
}
