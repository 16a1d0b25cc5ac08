// Jobs and job policy (kernel/object/job.c).
//
//   root job (job_root())
//     '- child job (job_create) -- inherits the parent's policy when created
//          '- processes (counted here through job_add_process / job_remove_process)
//
// Policy: one action per condition (ZX_POL_BAD_HANDLE .. ZX_POL_AMBIENT_MARK_VMO_EXEC),
// ZX_POL_ACTION_ALLOW by default. zx_job_set_policy works only on a job with no child jobs and
// no processes (ZX_ERR_BAD_STATE). ZX_POL_NEW_ANY sets every ZX_POL_NEW_* condition.
// RELATIVE keeps an action the job already has (from its parent) when it is stricter than
// ALLOW and differs; ABSOLUTE fails with ZX_ERR_ALREADY_EXISTS in that case.
//
// Killing a job (job_kill, zx_task_kill) marks it and every job below it killed and kills every
// process in them, as in Zircon: a killed job refuses new child jobs and processes with
// ZX_ERR_BAD_STATE (job_check_alive) for good. A killed job is TERMINATED (ZX_JOB_TERMINATED
// asserted, once) when it has no process and no child job left that is not terminated; it then
// leaves its parent's `children` list, which may terminate the parent in turn. A child job also
// leaves that list when it is destroyed (its last reference gone).
//
// There are no exception channels, so the ALLOW_EXCEPTION / DENY_EXCEPTION actions end in an
// unhandled exception, which kills the process: job_policy_check reports them as KILL.
#pragma once

#include <stdint.h>

#include <kernel/object.h>
#include <zircon/syscalls/policy.h>
#include <zircon/types.h>

#define JOB_POL_MAX 16u  // conditions ZX_POL_BAD_HANDLE .. ZX_POL_AMBIENT_MARK_VMO_EXEC

struct job {
    struct kobject obj;           // type ZX_OBJ_TYPE_JOB
    struct job *parent;           // holds a reference; NULL for the root job
    uint8_t policy[JOB_POL_MAX];  // ZX_POL_ACTION_* per condition
    struct job *children;         // child jobs neither terminated nor destroyed
    struct job *next_sibling;     // link in parent->children
    uint32_t child_jobs;          // length of `children`
    uint32_t processes;           // live processes (job_add_process)
    bool killed;                  // job_kill ran on it or on an ancestor
    bool terminated;              // ZX_JOB_TERMINATED asserted; off the parent's list
    uint32_t max_height;          // levels of jobs that may still hang below it
};                                // (every field guarded by masking interrupts)

// Zircon's kRootJobMaxHeight: the root job may have jobs this many levels below it, and no
// more (job_create then fails with ZX_ERR_OUT_OF_RANGE). It bounds every walk of the job tree
// (kill, terminate, destroy), which are recursive.
#define JOB_ROOT_MAX_HEIGHT 32u

// The root job, created on first use (and never destroyed).
struct job *job_root(void);

// A new child job of `parent` with the parent's policy; *out holds the creator's reference.
// ZX_ERR_INVALID_ARGS for non-zero options, ZX_ERR_OUT_OF_RANGE if `parent` is
// JOB_ROOT_MAX_HEIGHT levels deep already, ZX_ERR_BAD_STATE if `parent` is dead,
// ZX_ERR_NO_MEMORY.
zx_status_t job_create(struct job *parent, uint32_t options, struct job **out);

// zx_task_kill on a job: marks it and every job below it killed, then kills every process of
// them with `retcode` (process_kill_job). Each of those jobs is terminated as soon as its
// processes are dead and its child jobs terminated (at once when it has none).
void job_kill(struct job *job, int64_t retcode);

// ZX_OK if new child jobs and processes may be created in `job`; ZX_ERR_BAD_STATE once it
// (or an ancestor) was killed. process creation calls it before job_add_process.
zx_status_t job_check_alive(const struct job *job);

// zx_job_set_policy on kernel memory: `policy` holds `count` entries of the `topic`'s record
// (zx_policy_basic_v1_t or _v2_t). Every entry is checked before any is applied.
zx_status_t job_set_policy(struct job *job, uint32_t options, uint32_t topic, const void *policy,
                           uint32_t count);

// What a process in `job` gets for `condition` (a ZX_POL_*): ZX_POL_ACTION_ALLOW (go on),
// ZX_POL_ACTION_DENY (fail the call: ZX_ERR_ACCESS_DENIED, or ZX_ERR_BAD_HANDLE for
// ZX_POL_BAD_HANDLE) or ZX_POL_ACTION_KILL (also kill the calling process with
// ZX_TASK_RETCODE_POLICY_KILL). A NULL job allows everything.
uint32_t job_policy_check(struct job *job, uint32_t condition);

// For syscalls creating objects (ZX_POL_NEW_*) in the process that owns `ht`: ZX_OK if its
// job allows `condition`, else ZX_ERR_ACCESS_DENIED, after calling ht->on_policy_kill for KILL.
struct handle_table;
zx_status_t job_policy_enforce(struct handle_table *ht, uint32_t condition);

// Process accounting, called by the process object (kernel/object/process.c) when a process
// is created in `job` / is dead (or destroyed unstarted); the last one may terminate a killed job.
void job_add_process(struct job *job);
void job_remove_process(struct job *job);

// Downcast; NULL if `obj` is not a job.
struct job *job_from_kobject(struct kobject *obj);
