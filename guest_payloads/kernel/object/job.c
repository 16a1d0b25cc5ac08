// Jobs and job policy (include/kernel/job.h).
//
//   job_root() -- created on first use, one reference held here forever
//   job_create(parent): policy copied from the parent, linked on parent->children (and a
//                       reference on the parent until the child is destroyed)
//   job_kill(job):      `killed` on job and every job below it, then process_kill_job kills
//                       their processes; job_try_terminate ends each job with nothing left
//   job_try_terminate:  killed, no process, no child job -> terminated, ZX_JOB_TERMINATED,
//                       off the parent's list; then the same check on the parent
//
// Lock rule: policy tables and counters are guarded by masking interrupts.
#include <kernel/job.h>

#include <kernel/arch.h>
#include <kernel/thread.h>
#include <kernel/handle.h>
#include <kernel/heap.h>
#include <kernel/panic.h>
#include <kernel/process.h>
#include <lib/string.h>

static struct job *root_job;

// Takes `job` off its parent's `children`. Interrupts masked.
static void job_unlink(struct job *job) {
    struct job *parent = job->parent;
    for (struct job **link = &parent->children; *link != NULL; link = &(*link)->next_sibling) {
        if (*link == job) {
            *link = job->next_sibling;
            parent->child_jobs--;
            return;
        }
    }
}

// Terminates `job` if it is killed and has nothing left in it, then checks its parent the same
// way, up the tree. Interrupts masked.
static void job_try_terminate(struct job *job) {
    for (; job != NULL; job = job->parent) {
        if (!job->killed || job->terminated || job->processes != 0 || job->child_jobs != 0) {
            return;
        }
        job->terminated = true;
        kobject_signal(&job->obj, 0, ZX_JOB_TERMINATED);
        if (job->parent != NULL) {
            job_unlink(job);
        }
    }
}

static void job_destroy(struct kobject *obj) {
    struct job *job = (struct job *)obj;
    struct job *parent = job->parent;
    if (parent != NULL) {
        arch_irq_state_t irq = thread_lock_irqsave();
        if (!job->terminated) {
            job_unlink(job);
            job_try_terminate(parent);
        }
        thread_unlock_irqrestore(irq);
        kobject_unref(&parent->obj);
    }
    kfree(job);
}

static zx_koid_t job_related_koid(struct kobject *obj) {
    struct job *job = (struct job *)obj;
    return job->parent != NULL ? job->parent->obj.koid : ZX_KOID_INVALID;
}

static const struct kobject_ops job_ops = {
    .type_name = "job",
    .default_rights = ZX_DEFAULT_JOB_RIGHTS,
    .destroy = job_destroy,
    .related_koid = job_related_koid,
};

struct job *job_from_kobject(struct kobject *obj) {
    return obj != NULL && obj->type == ZX_OBJ_TYPE_JOB ? (struct job *)obj : NULL;
}

// A new job under `parent` (NULL: the root). The liveness check and the link into the parent
// are one step under the thread lock, so a job kill cannot slip in between.
static zx_status_t job_alloc(struct job *parent, struct job **out) {
    struct job *job = kzalloc(sizeof(*job));
    if (job == NULL) {
        return ZX_ERR_NO_MEMORY;
    }
    kobject_init(&job->obj, ZX_OBJ_TYPE_JOB, &job_ops);
    job->max_height = parent != NULL ? parent->max_height - 1 : JOB_ROOT_MAX_HEIGHT;
    if (parent != NULL) {
        arch_irq_state_t irq = thread_lock_irqsave();
        if (parent->killed) {
            thread_unlock_irqrestore(irq);
            kobject_unref(&job->obj);  // no parent yet: destroy just frees it
            return ZX_ERR_BAD_STATE;
        }
        kobject_ref(&parent->obj);
        memcpy(job->policy, parent->policy, sizeof(job->policy));
        job->parent = parent;
        job->next_sibling = parent->children;
        parent->children = job;
        parent->child_jobs++;
        thread_unlock_irqrestore(irq);
    }
    *out = job;
    return ZX_OK;
}

struct job *job_root(void) {
    if (root_job == NULL) {
        if (job_alloc(NULL, &root_job) != ZX_OK) {
            panic("job_root: no memory for the root job");
        }
        kobject_set_name(&root_job->obj, "root", sizeof("root"));
    }
    return root_job;
}

zx_status_t job_check_alive(const struct job *job) {
    arch_irq_state_t irq = thread_lock_irqsave();
    zx_status_t status = job->killed ? ZX_ERR_BAD_STATE : ZX_OK;
    thread_unlock_irqrestore(irq);
    return status;
}

// Marks `job` and every job below it killed. Interrupts masked.
static void job_mark_killed(struct job *job) {
    job->killed = true;
    for (struct job *c = job->children; c != NULL; c = c->next_sibling) {
        job_mark_killed(c);
    }
}

// Terminates every job of the subtree of `job` that has nothing left, children first (a child
// that terminates leaves the list, so the next one is taken before). Interrupts masked.
static void job_terminate_empty(struct job *job) {
    for (struct job *c = job->children, *next; c != NULL; c = next) {
        next = c->next_sibling;
        job_terminate_empty(c);
    }
    job_try_terminate(job);
}

void job_kill(struct job *job, int64_t retcode) {
    arch_irq_state_t irq = thread_lock_irqsave();
    job_mark_killed(job);
    thread_unlock_irqrestore(irq);
    process_kill_job(job, retcode);
    irq = thread_lock_irqsave();
    job_terminate_empty(job);
    thread_unlock_irqrestore(irq);
}

zx_status_t job_create(struct job *parent, uint32_t options, struct job **out) {
    if (options != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    if (parent->max_height == 0) {
        return ZX_ERR_OUT_OF_RANGE;
    }
    return job_alloc(parent, out);
}

// Decodes entry `i` of a policy array of `topic` into condition and action.
static zx_status_t job_policy_entry(uint32_t topic, const void *policy, uint32_t i,
                                    uint32_t *condition, uint32_t *action) {
    if (topic == ZX_JOB_POL_BASIC_V1) {
        const zx_policy_basic_v1_t *e = (const zx_policy_basic_v1_t *)policy + i;
        *condition = e->condition;
        *action = e->policy;
    } else {
        const zx_policy_basic_v2_t *e = (const zx_policy_basic_v2_t *)policy + i;
        if (e->flags > ZX_POL_OVERRIDE_DENY) {
            return ZX_ERR_INVALID_ARGS;
        }
        *condition = e->condition;
        *action = e->action;
    }
    if (*condition >= JOB_POL_MAX || *action > ZX_POL_ACTION_KILL) {
        return ZX_ERR_INVALID_ARGS;
    }
    return ZX_OK;
}

// Applies `action` to `condition` of `next` (NEW_ANY: every NEW_* condition), per `options`.
static zx_status_t job_policy_apply(const uint8_t *cur, uint8_t *next, uint32_t options,
                                    uint32_t condition, uint32_t action) {
    uint32_t first = condition, last = condition;
    if (condition == ZX_POL_NEW_ANY) {
        first = ZX_POL_NEW_VMO;
        last = ZX_POL_NEW_PAGER;
    }
    for (uint32_t c = first; c <= last; c++) {
        if (cur[c] != ZX_POL_ACTION_ALLOW && cur[c] != action) {
            if (options == ZX_JOB_POL_ABSOLUTE) {
                return ZX_ERR_ALREADY_EXISTS;
            }
            continue;  // RELATIVE: the inherited, stricter action stays
        }
        next[c] = (uint8_t)action;
    }
    return ZX_OK;
}

zx_status_t job_set_policy(struct job *job, uint32_t options, uint32_t topic, const void *policy,
                           uint32_t count) {
    if (options != ZX_JOB_POL_RELATIVE && options != ZX_JOB_POL_ABSOLUTE) {
        return ZX_ERR_INVALID_ARGS;
    }
    if (topic != ZX_JOB_POL_BASIC_V1 && topic != ZX_JOB_POL_BASIC_V2) {
        return ZX_ERR_INVALID_ARGS;
    }
    if (count == 0 || count > JOB_POL_MAX || policy == NULL) {
        return ZX_ERR_INVALID_ARGS;
    }
    arch_irq_state_t irq = thread_lock_irqsave();
    zx_status_t status = ZX_OK;
    if (job->child_jobs != 0 || job->processes != 0) {
        status = ZX_ERR_BAD_STATE;
    }
    uint8_t next[JOB_POL_MAX];
    memcpy(next, job->policy, sizeof(next));
    for (uint32_t i = 0; i < count && status == ZX_OK; i++) {
        uint32_t condition, action;
        status = job_policy_entry(topic, policy, i, &condition, &action);
        if (status == ZX_OK) {
            status = job_policy_apply(job->policy, next, options, condition, action);
        }
    }
    if (status == ZX_OK) {
        memcpy(job->policy, next, sizeof(next));
    }
    thread_unlock_irqrestore(irq);
    return status;
}

uint32_t job_policy_check(struct job *job, uint32_t condition) {
    if (job == NULL || condition >= JOB_POL_MAX) {
        return ZX_POL_ACTION_ALLOW;
    }
    arch_irq_state_t irq = thread_lock_irqsave();
    uint32_t action = job->policy[condition];
    thread_unlock_irqrestore(irq);
    switch (action) {
    case ZX_POL_ACTION_ALLOW:
    case ZX_POL_ACTION_DENY:
        return action;
    default:  // KILL, and the exception actions nobody can handle
        return ZX_POL_ACTION_KILL;
    }
}

void job_add_process(struct job *job) {
    arch_irq_state_t irq = thread_lock_irqsave();
    job->processes++;
    thread_unlock_irqrestore(irq);
}

void job_remove_process(struct job *job) {
    arch_irq_state_t irq = thread_lock_irqsave();
    if (job->processes == 0) {
        panic("job_remove_process: job koid %llu has no processes",
              (unsigned long long)job->obj.koid);
    }
    job->processes--;
    job_try_terminate(job);
    thread_unlock_irqrestore(irq);
}

zx_status_t job_policy_enforce(struct handle_table *ht, uint32_t condition) {
    uint32_t action = job_policy_check(ht->job, condition);
    if (action == ZX_POL_ACTION_ALLOW) {
        return ZX_OK;
    }
    if (action == ZX_POL_ACTION_KILL && ht->on_policy_kill != NULL) {
        ht->on_policy_kill(ht);
    }
    return ZX_ERR_ACCESS_DENIED;
}
