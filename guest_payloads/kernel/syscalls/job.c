// Job syscalls: zx_job_create, zx_job_set_policy.
#include <kernel/handle.h>
#include <kernel/job.h>
#include <kernel/usercopy.h>
#include <syscall-kernel.h>

zx_status_t sys_job_create(zx_handle_t parent_job, uint32_t options, user_out_ptr_t out) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    struct kobject *obj;
    zx_status_t status = handle_table_get(ht, parent_job, SYS_job_create_parent_job_TYPE,
                                          SYS_job_create_parent_job_RIGHTS, &obj);
    if (status != ZX_OK) {
        return status;
    }
    struct job *child;
    status = job_create(job_from_kobject(obj), options, &child);
    kobject_unref(obj);
    if (status != ZX_OK) {
        return status;
    }
    status = handle_table_add_user(ht, &child->obj, ZX_DEFAULT_JOB_RIGHTS, out.addr);
    kobject_unref(&child->obj);
    return status;
}

zx_status_t sys_job_set_policy(zx_handle_t handle, uint32_t options, uint32_t topic,
                               user_in_ptr_t policy, uint32_t policy_size) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    struct kobject *obj;
    zx_status_t status = handle_table_get(ht, handle, SYS_job_set_policy_handle_TYPE,
                                          SYS_job_set_policy_handle_RIGHTS, &obj);
    if (status != ZX_OK) {
        return status;
    }
    size_t entry = topic == ZX_JOB_POL_BASIC_V1   ? sizeof(zx_policy_basic_v1_t)
                   : topic == ZX_JOB_POL_BASIC_V2 ? sizeof(zx_policy_basic_v2_t)
                                                  : 0;
    // Room for every entry of the larger record type.
    zx_policy_basic_v2_t kpolicy[JOB_POL_MAX];
    if (entry == 0 || policy_size == 0 || policy_size > JOB_POL_MAX) {
        status = ZX_ERR_INVALID_ARGS;
    } else if (user_copy_in(kpolicy, policy.addr, policy_size * entry) != ZX_OK) {
        status = ZX_ERR_INVALID_ARGS;
    } else {
        status = job_set_policy(job_from_kobject(obj), options, topic, kpolicy, policy_size);
    }
    kobject_unref(obj);
    return status;
}
