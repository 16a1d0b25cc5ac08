// Process objects (include/kernel/process.h).
//
//   process_create -> INITIAL --first thread starts--> RUNNING
//        --process_kill / zx_process_exit / last thread exits--> DYING (threads told to exit)
//        --last running thread gone--> DEAD: handles closed, address space destroyed,
//                                      ZX_PROCESS_TERMINATED, job no longer counts it
//   The struct lives until the last reference: handles, its thread objects (each holds one).
//
// Every process that is not DEAD is on the `live` list, so that a job kill can find them.
// A process dies from the context of its last exiting thread (which first switches to the
// kernel-only page tables) or, with no thread running, from the killer's context.
// Lock rule: state changes and the live list are guarded by the thread lock (interrupts masked);
// the teardown of a dead process's handles and address space runs outside it, under their own
// mutexes (process_finish_end).
#include <kernel/process.h>

#include <stddef.h>

#include <kernel/arch.h>
#include <kernel/heap.h>
#include <kernel/job.h>
#include <kernel/thread.h>
#include <kernel/timer.h>
#include <kernel/vm.h>
#include <lib/string.h>
#include <zircon/errors.h>
#include <zircon/rights.h>

static struct process *live;  // guarded by masking interrupts

static void live_remove(struct process *p) {
    for (struct process **link = &live; *link != NULL; link = &(*link)->next_live) {
        if (*link == p) {
            *link = p->next_live;
            return;
        }
    }
}

struct process *process_from_kobject(struct kobject *obj) {
    return obj != NULL && obj->type == ZX_OBJ_TYPE_PROCESS ? (struct process *)obj : NULL;
}

static void process_destroy(struct kobject *obj) {
    struct process *p = (struct process *)obj;
    if (p->state != PROCESS_STATE_DEAD) {  // never started: nothing ran in it
        arch_irq_state_t s = thread_lock_irqsave();
        live_remove(p);
        thread_unlock_irqrestore(s);
        handle_table_destroy(&p->handles);
        vm_aspace_destroy(p->aspace);
        job_remove_process(p->job);
    }
    kobject_unref(&p->job->obj);
    kfree(p);
}

static zx_status_t process_get_info(struct kobject *obj, uint32_t topic, void *kbuf, size_t len,
                                    size_t *actual) {
    if (topic != ZX_INFO_PROCESS) {
        return ZX_ERR_WRONG_TYPE;
    }
    if (len < sizeof(zx_info_process_t)) {
        return ZX_ERR_BUFFER_TOO_SMALL;
    }
    struct process *p = (struct process *)obj;
    arch_irq_state_t s = thread_lock_irqsave();
    zx_info_process_t info = {
        .return_code = p->state == PROCESS_STATE_DEAD ? p->return_code : 0,
        .start_time = p->start_time,
        .flags = (p->state != PROCESS_STATE_INITIAL ? ZX_INFO_PROCESS_FLAG_STARTED : 0) |
                 (p->state == PROCESS_STATE_DEAD ? ZX_INFO_PROCESS_FLAG_EXITED : 0),
    };
    thread_unlock_irqrestore(s);
    memcpy(kbuf, &info, sizeof(info));
    *actual = sizeof(info);
    return ZX_OK;
}

static zx_koid_t process_related_koid(struct kobject *obj) {
    return ((struct process *)obj)->job->obj.koid;
}

static const struct kobject_ops process_ops = {
    .type_name = "process",
    .default_rights = ZX_DEFAULT_PROCESS_RIGHTS,
    .destroy = process_destroy,
    .get_info = process_get_info,
    .related_koid = process_related_koid,
};

// The bad-handle policy said KILL (handle.c calls this from the offending syscall).
static void process_policy_kill(struct handle_table *ht) {
    struct process *p = (struct process *)((char *)ht - offsetof(struct process, handles));
    process_kill(p, ZX_TASK_RETCODE_POLICY_KILL);
}

zx_status_t process_create(struct job *job, const char *name, size_t name_len,
                           struct process **out) {
    return process_create_etc(job, name, name_len, out, NULL);
}

zx_status_t process_create_etc(struct job *job, const char *name, size_t name_len,
                               struct process **out, struct vmar **root_out) {
    zx_status_t alive = job_check_alive(job);  // no new processes in a killed job
    if (alive != ZX_OK) {
        return alive;
    }
    struct process *p = kzalloc(sizeof(*p));
    if (p == NULL) {
        return ZX_ERR_NO_MEMORY;
    }
    char aspace_name[ZX_MAX_NAME_LEN] = {0};
    memcpy(aspace_name, name, name_len < ZX_MAX_NAME_LEN - 1 ? name_len : ZX_MAX_NAME_LEN - 1);
    zx_status_t st = vm_aspace_create(aspace_name, &p->aspace);
    if (st != ZX_OK) {
        kfree(p);
        return st;
    }
    // The job's liveness is checked again, and the process joins the job and the live list,
    // in one step under the thread lock: a job kill (which marks the job killed and then kills
    // what is on the live list) cannot run between the check and the link and miss it.
    arch_irq_state_t s = thread_lock_irqsave();
    if (job->killed) {
        thread_unlock_irqrestore(s);
        vm_aspace_destroy(p->aspace);
        kfree(p);
        return ZX_ERR_BAD_STATE;
    }
    kobject_init(&p->obj, ZX_OBJ_TYPE_PROCESS, &process_ops);
    kobject_set_name(&p->obj, name, name_len);
    handle_table_init(&p->handles, job);
    p->handles.on_policy_kill = process_policy_kill;
    kobject_ref(&job->obj);
    p->job = job;
    job_add_process(job);
    p->state = PROCESS_STATE_INITIAL;
    if (root_out != NULL) {
        // Taken before the process is visible: a job kill may end it (and its aspace) at once.
        *root_out = p->aspace->root;
        kobject_ref(&(*root_out)->obj);
    }
    p->next_live = live;
    live = p;
    thread_unlock_irqrestore(s);
    *out = p;
    return ZX_OK;
}

// The last running thread is gone (or none ever ran): the process dies, in two steps.
// process_finish_begin (interrupts masked) makes it DEAD and unlinks it; process_finish_end
// (interrupts on: it takes the handle-table and aspace mutexes) closes its handles, destroys
// its address space, signals ZX_PROCESS_TERMINATED and then leaves the job (Zircon's order: a
// job terminates only after every process in it has). The caller holds a
// reference and does not run on this process's page tables.
static void process_finish_begin(struct process *p) {
    p->state = PROCESS_STATE_DEAD;
    live_remove(p);
    for (struct uthread *t = p->threads; t != NULL; t = t->next_in_process) {
        if (t->state == ZX_THREAD_STATE_NEW) {
            t->state = ZX_THREAD_STATE_DEAD;
            kobject_signal(&t->obj, 0, ZX_THREAD_TERMINATED);
        }
    }
}

void process_finish_end(struct process *p) {
    arch_irq_state_t s = thread_lock_irqsave();
    struct vm_aspace *as = p->aspace;
    p->aspace = NULL;
    thread_unlock_irqrestore(s);
    handle_table_destroy(&p->handles);
    vm_aspace_destroy(as);
    // Signalled before the job lets go of it: the job's ZX_JOB_TERMINATED (which
    // job_remove_process may raise) must never be observable before this one.
    kobject_signal(&p->obj, 0, ZX_PROCESS_TERMINATED);
    job_remove_process(p->job);
}

void process_kill(struct process *p, int64_t retcode) {
    arch_irq_state_t s = thread_lock_irqsave();
    if (p->state == PROCESS_STATE_DYING || p->state == PROCESS_STATE_DEAD) {
        thread_unlock_irqrestore(s);
        return;
    }
    p->return_code = retcode;
    p->state = PROCESS_STATE_DYING;
    for (struct uthread *t = p->threads; t != NULL; t = t->next_in_process) {
        t->kill_requested = true;
        thread_interrupt_user(t);
    }
    if (p->running_threads == 0) {
        kobject_ref(&p->obj);
        process_finish_begin(p);
        thread_unlock_irqrestore(s);
        process_finish_end(p);
        kobject_unref(&p->obj);
        return;
    }
    thread_unlock_irqrestore(s);
}

static bool job_contains(const struct job *job, const struct job *j) {
    for (; j != NULL; j = j->parent) {
        if (j == job) {
            return true;
        }
    }
    return false;
}

void process_kill_job(struct job *job, int64_t retcode) {
    arch_irq_state_t s = thread_lock_irqsave();
    // process_kill may end a process at once (unlinking it), so restart after each kill.
    for (struct process *p = live; p != NULL;) {
        if (p->state != PROCESS_STATE_DYING && job_contains(job, p->job)) {
            process_kill(p, retcode);
            p = live;
        } else {
            p = p->next_live;
        }
    }
    thread_unlock_irqrestore(s);
}

bool process_thread_exited(struct process *p) {
    p->running_threads--;
    if (p->running_threads != 0) {
        return false;
    }
    if (p->state != PROCESS_STATE_DYING) {
        p->state = PROCESS_STATE_DYING;  // last thread exited: return code stays 0
    }
    process_finish_begin(p);
    return true;
}

void process_exit_current(int64_t retcode) {
    struct process *p = process_current();
    process_kill(p, retcode);
    uthread_exit_current();
}

void process_mark_started(struct process *p) {
    p->running_threads++;
    if (p->state == PROCESS_STATE_INITIAL) {
        p->state = PROCESS_STATE_RUNNING;
        p->start_time = (zx_time_t)current_time();
    }
}
