// User thread objects (include/kernel/process.h).
//
//   uthread_create -> NEW --uthread_start--> RUNNING (a detached kernel thread enters user
//   mode) --zx_thread_exit / kill / fault--> DEAD (ZX_THREAD_TERMINATED; the kernel thread
//   ends and is reaped by the scheduler)
//
// References: the object holds one on its process; while it runs, its kernel thread holds
// one on the object (dropped as the last thing before thread_exit). A kill sets
// kill_requested and ends a wait the thread is blocked in (thread_interrupt_user): the thread
// notices at its next return to user mode (user_return_check, after a syscall or an interrupt
// — the 1 kHz tick guarantees one soon even for a thread spinning in user mode) and exits
// there.
// ZX_INFO_THREAD state: NEW, RUNNING, the ZX_THREAD_STATE_BLOCKED_* reason a blocking syscall
// set with uthread_set_blocked for as long as it waits, DYING once killed, DEAD.
// Lock rule: state changes happen under the thread lock; nothing is allocated under it (the
// heap's spinlock ranks before it), so uthread_start allocates its kernel thread first.
#include <kernel/process.h>

#include <kernel/arch.h>
#include <kernel/heap.h>
#include <kernel/syscall.h>
#include <kernel/thread.h>
#include <kernel/vm.h>
#include <lib/string.h>
#include <zircon/errors.h>
#include <zircon/rights.h>

struct uthread *uthread_from_kobject(struct kobject *obj) {
    return obj != NULL && obj->type == ZX_OBJ_TYPE_THREAD ? (struct uthread *)obj : NULL;
}

static void uthread_destroy(struct kobject *obj) {
    struct uthread *t = (struct uthread *)obj;
    struct process *p = t->process;
    arch_irq_state_t s = thread_lock_irqsave();
    for (struct uthread **link = &p->threads; *link != NULL; link = &(*link)->next_in_process) {
        if (*link == t) {
            *link = t->next_in_process;
            break;
        }
    }
    thread_unlock_irqrestore(s);
    kobject_unref(&p->obj);
    kfree(t);
}

static zx_status_t uthread_get_info(struct kobject *obj, uint32_t topic, void *kbuf, size_t len,
                                    size_t *actual) {
    if (topic != ZX_INFO_THREAD) {
        return ZX_ERR_WRONG_TYPE;
    }
    if (len < sizeof(zx_info_thread_t)) {
        return ZX_ERR_BUFFER_TOO_SMALL;
    }
    struct uthread *t = (struct uthread *)obj;
    arch_irq_state_t s = thread_lock_irqsave();
    zx_info_thread_t info = {.state = t->state, .cpu_affinity_mask = {{1}}};
    if (t->state == ZX_THREAD_STATE_RUNNING && t->kill_requested) {
        info.state = ZX_THREAD_STATE_DYING;
    } else if (t->state == ZX_THREAD_STATE_RUNNING && t->blocked_reason != 0) {
        info.state = t->blocked_reason;
    }
    thread_unlock_irqrestore(s);
    memcpy(kbuf, &info, sizeof(info));
    *actual = sizeof(info);
    return ZX_OK;
}

static zx_koid_t uthread_related_koid(struct kobject *obj) {
    return ((struct uthread *)obj)->process->obj.koid;
}

static const struct kobject_ops uthread_ops = {
    .type_name = "thread",
    .default_rights = ZX_DEFAULT_THREAD_RIGHTS,
    .destroy = uthread_destroy,
    .get_info = uthread_get_info,
    .related_koid = uthread_related_koid,
};

zx_status_t uthread_create(struct process *p, const char *name, size_t name_len,
                           struct uthread **out) {
    struct uthread *t = kzalloc(sizeof(*t));
    if (t == NULL) {
        return ZX_ERR_NO_MEMORY;
    }
    arch_irq_state_t s = thread_lock_irqsave();
    if (p->state == PROCESS_STATE_DYING || p->state == PROCESS_STATE_DEAD) {
        thread_unlock_irqrestore(s);
        kfree(t);
        return ZX_ERR_BAD_STATE;
    }
    kobject_init(&t->obj, ZX_OBJ_TYPE_THREAD, &uthread_ops);
    kobject_set_name(&t->obj, name, name_len);
    kobject_ref(&p->obj);
    t->process = p;
    t->state = ZX_THREAD_STATE_NEW;
    t->next_in_process = p->threads;
    p->threads = t;
    thread_unlock_irqrestore(s);
    *out = t;
    return ZX_OK;
}

// The kernel thread of a started user thread: straight into user mode.
static int uthread_trampoline(void *arg) {
    struct uthread *t = arg;
    arch_irq_disable();
    user_return_check();  // killed before it ever ran
    arch_enter_user(t->entry, t->stack, t->arg1, t->arg2);
}

zx_status_t uthread_start(struct uthread *t, uintptr_t entry, uintptr_t stack, uintptr_t arg1,
                          uintptr_t arg2) {
    struct process *p = t->process;
    char name[ZX_MAX_NAME_LEN];
    kobject_get_name(&t->obj, name);
    // Allocated before the thread lock (the heap's spinlock ranks before it); it runs only
    // once thread_ready below hands it to the scheduler.
    struct thread *kt = thread_create_unready(name, uthread_trampoline, t);
    arch_irq_state_t s = thread_lock_irqsave();
    if (t->state != ZX_THREAD_STATE_NEW || p->state == PROCESS_STATE_DYING ||
        p->state == PROCESS_STATE_DEAD) {
        thread_unlock_irqrestore(s);
        if (kt != NULL) {
            thread_discard(kt);
        }
        return ZX_ERR_BAD_STATE;
    }
    if (kt == NULL) {
        thread_unlock_irqrestore(s);
        return ZX_ERR_NO_MEMORY;
    }
    thread_set_user(kt, t, p->aspace->arch);
    thread_detach(kt);
    kobject_ref(&t->obj);  // the running thread's
    t->entry = entry;
    t->stack = stack;
    t->arg1 = arg1;
    t->arg2 = arg2;
    t->state = ZX_THREAD_STATE_RUNNING;
    process_mark_started(p);
    kobject_signal(&t->obj, 0, ZX_THREAD_RUNNING);
    thread_ready(kt);  // interrupts masked: it cannot run before this unlock
    thread_unlock_irqrestore(s);
    return ZX_OK;
}

void uthread_kill(struct uthread *t) {
    arch_irq_state_t s = thread_lock_irqsave();
    if (t->state == ZX_THREAD_STATE_NEW) {
        t->state = ZX_THREAD_STATE_DEAD;
        kobject_signal(&t->obj, 0, ZX_THREAD_TERMINATED);
    } else {
        t->kill_requested = true;
        thread_interrupt_user(t);
    }
    thread_unlock_irqrestore(s);
}

void uthread_set_blocked(uint32_t reason) {
    struct uthread *t = uthread_current();
    if (t != NULL) {
        t->blocked_reason = reason;
    }
}

void uthread_exit_current(void) {
    arch_irq_state_t irq = thread_lock_irqsave();
    struct uthread *t = uthread_current();
    struct process *p = t->process;
    kobject_ref(&p->obj);
    thread_set_user(thread_current(), NULL, NULL);  // off the process's page tables
    t->state = ZX_THREAD_STATE_DEAD;
    kobject_signal(&t->obj, ZX_THREAD_RUNNING, ZX_THREAD_TERMINATED);
    bool last = process_thread_exited(p);
    thread_unlock_irqrestore(irq);
    arch_irq_enable();  // a kernel-only thread now: the teardown takes mutexes
    if (last) {
        process_finish_end(p);
    }
    kobject_unref(&t->obj);  // the running thread's
    kobject_unref(&p->obj);
    thread_exit(0);
}
