// Timer syscalls: zx_timer_create, zx_timer_set, zx_timer_cancel.
#include <kernel/handle.h>
#include <kernel/job.h>
#include <kernel/timer_object.h>
#include <syscall-kernel.h>

zx_status_t sys_timer_create(uint32_t options, zx_clock_t clock_id, user_out_ptr_t out) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if (clock_id != ZX_CLOCK_MONOTONIC) {
        return ZX_ERR_INVALID_ARGS;
    }
    zx_status_t status = job_policy_enforce(ht, ZX_POL_NEW_TIMER);
    if (status != ZX_OK) {
        return status;
    }
    struct kobject *timer;
    status = timer_create(options, clock_id, &timer);
    if (status != ZX_OK) {
        return status;
    }
    status = handle_table_add_user(ht, timer, timer->ops->default_rights, out.addr);
    kobject_unref(timer);
    return status;
}

zx_status_t sys_timer_set(zx_handle_t handle, zx_time_t deadline, zx_duration_t slack) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if (slack < 0) {
        return ZX_ERR_OUT_OF_RANGE;
    }
    struct kobject *timer;
    zx_status_t status = handle_table_get(ht, handle, SYS_timer_set_handle_TYPE,
                                          SYS_timer_set_handle_RIGHTS, &timer);
    if (status != ZX_OK) {
        return status;
    }
    timer_set(timer, deadline, slack);
    kobject_unref(timer);
    return ZX_OK;
}

zx_status_t sys_timer_cancel(zx_handle_t handle) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    struct kobject *timer;
    zx_status_t status = handle_table_get(ht, handle, SYS_timer_cancel_handle_TYPE,
                                          SYS_timer_cancel_handle_RIGHTS, &timer);
    if (status != ZX_OK) {
        return status;
    }
    timer_cancel(timer);
    kobject_unref(timer);
    return ZX_OK;
}
