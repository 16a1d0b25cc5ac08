// Jobs and policy. Zircon applies a job's ZX_POL_NEW_PROCESS to the processes in that job:
// core-tests starts itself (`core-tests policy-child`, from the BOOTFS) in a child job and the
// child reports whether its own zx_process_create was allowed. zx_task_kill on a job kills its
// processes and, once they are gone, asserts ZX_JOB_TERMINATED.
#include <ktap.h>
#include <zircon/process.h>
#include <zircon/syscalls.h>
#include <zircon/syscalls/policy.h>

#include "child.h"
#include "core-tests.h"
#include "machine-code.h"

#define CHILD_WAIT_MS 10000
#define SELF_PATH "bin/core-tests"

int policy_child(void) {
    zx_handle_t proc;
    zx_handle_t vmar;
    zx_status_t status = zx_process_create(zx_job_default(), "grandchild", 10, 0, &proc, &vmar);
    return -status;
}

int64_t run_policy_child_mode(zx_handle_t job, const char *mode) {
    zx_handle_t proc;
    if (!KTAP_EXPECT_OK(spawn_from_bootfs(job, SELF_PATH, mode, &proc))) {
        return INT64_MIN;
    }
    int64_t code = INT64_MIN;
    if (KTAP_EXPECT_OK(wait_ms(proc, ZX_PROCESS_TERMINATED, CHILD_WAIT_MS))) {
        code = return_code(proc);
    }
    zx_task_kill(proc);
    zx_handle_close(proc);
    return code;
}

// Runs the policy child in `job`; its return code, or INT64_MIN if it could not run.
static int64_t run_policy_child(zx_handle_t job) {
    return run_policy_child_mode(job, POLICY_CHILD_ARG);
}

KTAP_CASE(job_policy_denies_new_process) {
    zx_handle_t job;
    KTAP_ASSERT_OK(zx_job_create(zx_job_default(), 0, &job));
    KTAP_EXPECT_EQ(run_policy_child(job), 0);  // no policy: allowed
    zx_handle_close(job);
    KTAP_ASSERT_OK(zx_job_create(zx_job_default(), 0, &job));
    zx_policy_basic_v1_t policy = {.condition = ZX_POL_NEW_PROCESS, .policy = ZX_POL_ACTION_DENY};
    KTAP_EXPECT_OK(zx_job_set_policy(job, ZX_JOB_POL_RELATIVE, ZX_JOB_POL_BASIC_V1, &policy, 1));
    KTAP_EXPECT_EQ(run_policy_child(job), -ZX_ERR_ACCESS_DENIED);
    zx_handle_close(job);
}

KTAP_CASE(job_policy_bad_arguments) {
    zx_handle_t job;
    KTAP_ASSERT_OK(zx_job_create(zx_job_default(), 0, &job));
    zx_policy_basic_v1_t policy = {.condition = ZX_POL_BAD_HANDLE, .policy = 0xffff};
    KTAP_EXPECT_STATUS(zx_job_set_policy(job, ZX_JOB_POL_RELATIVE, ZX_JOB_POL_BASIC_V1, &policy, 1),
                       ZX_ERR_INVALID_ARGS);
    zx_handle_close(job);
}

KTAP_CASE(job_kill_raises_terminated) {
    static const uint8_t code[] = MC_SPIN;
    zx_handle_t job;
    KTAP_ASSERT_OK(zx_job_create(zx_job_default(), 0, &job));
    struct child child;
    if (KTAP_EXPECT_OK(child_create(job, "job-spinner", code, sizeof(code), false, &child))) {
        KTAP_EXPECT_OK(child_start(&child, 0));
        KTAP_EXPECT_STATUS(wait_ms(job, ZX_JOB_TERMINATED, 0), ZX_ERR_TIMED_OUT);
        KTAP_EXPECT_OK(zx_task_kill(job));
        KTAP_EXPECT_OK(wait_ms(job, ZX_JOB_TERMINATED, CHILD_WAIT_MS));
        // A job terminates only after its processes: the process is already terminated.
        KTAP_EXPECT_OK(wait_ms(child.proc, ZX_PROCESS_TERMINATED, 0));
        KTAP_EXPECT_EQ(return_code(child.proc), ZX_TASK_RETCODE_SYSCALL_KILL);
        child_destroy(&child);
    }
    zx_handle_close(job);
}
