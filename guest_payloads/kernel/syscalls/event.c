// Event syscalls: zx_event_create, zx_eventpair_create.
#include <kernel/event.h>
#include <kernel/handle.h>
#include <kernel/job.h>
#include <syscall-kernel.h>

zx_status_t sys_event_create(uint32_t options, user_out_ptr_t out) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if (options != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    zx_status_t status = job_policy_enforce(ht, ZX_POL_NEW_EVENT);
    if (status != ZX_OK) {
        return status;
    }
    struct kobject *ev;
    status = event_create(0, &ev);
    if (status != ZX_OK) {
        return status;
    }
    status = handle_table_add_user(ht, ev, ev->ops->default_rights, out.addr);
    kobject_unref(ev);
    return status;
}

zx_status_t sys_eventpair_create(uint32_t options, user_out_ptr_t out0, user_out_ptr_t out1) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if (options != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    zx_status_t status = job_policy_enforce(ht, ZX_POL_NEW_EVENTPAIR);
    if (status != ZX_OK) {
        return status;
    }
    struct kobject *a, *b;
    status = eventpair_create(0, &a, &b);
    if (status != ZX_OK) {
        return status;
    }
    status =
        handle_table_add_pair_user(ht, a, b, ZX_DEFAULT_EVENTPAIR_RIGHTS, out0.addr, out1.addr);
    kobject_unref(a);
    kobject_unref(b);
    return status;
}
