// Processes and user threads (kernel/object/process.c, kernel/object/thread.c). Owner: K1.
//
// struct process and struct uthread are kernel objects (struct kobject first, see
// <kernel/object.h>) of type ZX_OBJ_TYPE_PROCESS / ZX_OBJ_TYPE_THREAD. A process owns its
// handle table (by value), its address space (root VMAR) and a list of its threads; it
// holds a reference on its job. A started user thread is backed by one detached kernel
// thread (<kernel/thread.h>) that runs in user mode.
//
// States follow Zircon:
//   process: INITIAL (created) -> RUNNING (process_start) -> DYING (killed / exited, threads
//            being torn down) -> DEAD (ZX_PROCESS_TERMINATED asserted, return code final)
//   thread:  ZX_THREAD_STATE_NEW -> RUNNING <-> BLOCKED_* -> DYING -> DEAD
//            (ZX_THREAD_TERMINATED asserted when DEAD)
// Return codes: zx_process_exit(code) sets it; a kill sets a ZX_TASK_RETCODE_* of
// <zircon/syscalls/object.h>: SYSCALL_KILL (zx_task_kill), POLICY_KILL (job policy, bad
// syscall), EXCEPTION_KILL (user fault).
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <zircon/syscalls/object.h>
#include <zircon/types.h>

#include <kernel/futex.h>
#include <kernel/handle.h>
#include <kernel/object.h>
#include <kernel/thread.h>

struct job;
struct vm_aspace;
struct vmar;

enum process_state {
    PROCESS_STATE_INITIAL,
    PROCESS_STATE_RUNNING,
    PROCESS_STATE_DYING,
    PROCESS_STATE_DEAD,
};

struct uthread;

struct process {
    struct kobject obj;           // ZX_OBJ_TYPE_PROCESS
    struct handle_table handles;  // this process's handles (closed when it dies)
    struct job *job;              // parent job (a reference)
    struct vm_aspace *aspace;     // user address space; aspace->root is the root VMAR;
                                  // NULL once the process is DEAD
    struct uthread *threads;      // every thread object, through uthread.next_in_process
    uint32_t running_threads;     // started and not yet DEAD
    enum process_state state;
    int64_t return_code;          // valid once DEAD
    zx_time_t start_time;         // when its first thread started
    struct process *next_live;    // list of processes not yet DEAD (process.c)
    struct futex_table futexes;   // threads waiting on futexes (kernel/object/futex.c)
};

struct uthread {
    struct kobject obj;           // ZX_OBJ_TYPE_THREAD
    struct process *process;      // owning process (a reference)
    struct uthread *next_in_process;
    uint32_t state;               // ZX_THREAD_STATE_NEW / RUNNING / DEAD
    uint32_t blocked_reason;      // a ZX_THREAD_STATE_BLOCKED_* while blocked in a syscall
    bool kill_requested;          // exits at its next return to user mode
    uintptr_t entry, stack, arg1, arg2;  // user entry point and arguments (thread_start)
};

// The process of the running thread; NULL on kernel-only threads. No reference is taken:
// the running thread keeps its process alive. (uthread_current: <kernel/thread.h>.)
static inline struct process *process_current(void) {
    struct uthread *u = uthread_current();
    return u != NULL ? u->process : NULL;
}

// Creates a process in `job` (a new aspace and root VMAR; state INITIAL). On success *out is
// the one reference. Job policy (ZX_POL_NEW_PROCESS) is checked by the syscall, not here.
zx_status_t process_create(struct job *job, const char *name, size_t name_len,
                           struct process **out);
// process_create that also gives a new reference to the root VMAR in *root_out, taken before
// the process is visible to a job kill (which can end it, and its aspace, at once).
struct vmar;
zx_status_t process_create_etc(struct job *job, const char *name, size_t name_len,
                               struct process **out, struct vmar **root_out);
// Creates a thread of `p` in state NEW.
zx_status_t uthread_create(struct process *p, const char *name, size_t name_len,
                           struct uthread **out);
// Starts `t` in user mode at `entry` with stack pointer `stack` and the two arguments in
// the first two argument registers. ZX_ERR_BAD_STATE unless NEW and its process is alive.
zx_status_t uthread_start(struct uthread *t, uintptr_t entry, uintptr_t stack, uintptr_t arg1,
                          uintptr_t arg2);
// Kills `p`: every thread exits at its next kernel entry/exit, return code `retcode`
// (unless it is already dying). When no thread is running it dies at once.
void process_kill(struct process *p, int64_t retcode);
// Kills every process of `job` and of the jobs below it (zx_task_kill on a job; the job's
// own state belongs to kernel/object/job.c).
void process_kill_job(struct job *job, int64_t retcode);
// Kills one thread (zx_task_kill on a thread).
void uthread_kill(struct uthread *t);
// Marks the calling user thread as blocked for `reason` (a ZX_THREAD_STATE_BLOCKED_*) while
// a syscall waits, for ZX_INFO_THREAD; uthread_set_blocked(0) when it goes on. No-op on a
// kernel-only thread.
void uthread_set_blocked(uint32_t reason);
// Between kernel/object/thread.c and process.c, interrupts masked: a thread of `p` starts
// (the first one makes the process RUNNING) / a started thread is DEAD (the caller holds a
// reference to `p` and no longer runs on its page tables; the last one ends the process).
void process_mark_started(struct process *p);
bool process_thread_exited(struct process *p);
// After process_thread_exited returned true, with interrupts on: closes the dead process's
// handles, destroys its address space and signals ZX_PROCESS_TERMINATED.
void process_finish_end(struct process *p);

// Downcasts; NULL if `obj` is not of that type.
struct process *process_from_kobject(struct kobject *obj);
struct uthread *uthread_from_kobject(struct kobject *obj);
// Ends the calling thread / process; never return.
__attribute__((noreturn)) void uthread_exit_current(void);
__attribute__((noreturn)) void process_exit_current(int64_t retcode);
