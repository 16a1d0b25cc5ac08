// Self-tests of user mode (a suite of kernel/selftest.c): a process runs a tiny user program
// (arch/<arch>/selftest_user.S) from the code page of a fake vDSO, so the full path is real:
// page tables, entering user mode, the syscall entry and its vDSO PC check, user faults,
// kills, process and thread states and return codes. A kernel thread standing in for a
// started user thread (user_blocker) blocks in the syscall handlers themselves: thread states
// while blocked, and kills ending the wait.
#include <kernel/selftest.h>

#include <kernel/arch.h>
#include <kernel/event.h>
#include <kernel/job.h>
#include <kernel/pmm.h>
#include <kernel/process.h>
#include <kernel/thread.h>
#include <kernel/timer.h>
#include <kernel/usercopy.h>
#include <kernel/vm.h>
#include <kernel/wait.h>
#include <lib/string.h>
#include <syscall-kernel.h>
#include <zircon/errors.h>
#include <zircon/syscalls-numbers.h>
#include <zircon/syscalls/object.h>

#define check SELFTEST_CHECK
#define diag SELFTEST_DIAG

#define RX (ZX_VM_PERM_READ | ZX_VM_PERM_EXECUTE)
#define RW (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE)
#define WAIT_NS 2000000000ll  // the user program's whole run takes far less
#define SPIN_NS 20000000ull

extern const char selftest_user_blob[], selftest_user_blob_end[];
extern const char selftest_user_sysret_debug_write[], selftest_user_sysret_process_exit[];

enum user_mode { MODE_SYSCALLS, MODE_BAD_SYSCALL, MODE_FAULT, MODE_SPIN };

// Approved CODE_SYSRET offsets of the fake vDSO: its code page starts at PAGE_SIZE.
static uintptr_t fake_sysret[ZX_SYS_COUNT];

struct user_run {
    struct process *proc;
    struct uthread *thread;
};

// Creates a process in `job` with the fake vDSO (a read-only page, then the program's code
// page), a data page holding a message and a stack, and starts it in `mode`.
static bool user_start_in(struct job *job, enum user_mode mode, struct user_run *run) {
    size_t blob = (size_t)(selftest_user_blob_end - selftest_user_blob);
    static char image[2 * PAGE_SIZE];
    memset(image, 0, sizeof(image));
    memcpy(image + PAGE_SIZE, selftest_user_blob, blob);
    fake_sysret[ZX_SYS_debug_write] =
        PAGE_SIZE + (uintptr_t)(selftest_user_sysret_debug_write - selftest_user_blob);
    fake_sysret[ZX_SYS_process_exit] =
        PAGE_SIZE + (uintptr_t)(selftest_user_sysret_process_exit - selftest_user_blob);
    struct vmo *vdso, *data;
    check(vmo_create_from_kernel(image, sizeof(image), VMO_FLAG_VDSO, &vdso) == ZX_OK);
    vdso->vdso_code_start = PAGE_SIZE;
    vdso->vdso_sysret = fake_sysret;
    check(vmo_create(2 * PAGE_SIZE, 0, &data) == ZX_OK);
    check(vmo_write(data, "#usr\n", 0, 5) == ZX_OK);
    check(process_create(job, "selftest-user", 13, &run->proc) == ZX_OK);
    struct vmar *root = run->proc->aspace->root;
    struct vmar *vdso_vmar;
    zx_vaddr_t base, code, data_addr;
    zx_vm_option_t can = ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_EXECUTE | ZX_VM_CAN_MAP_SPECIFIC;
    check(vmar_allocate(root, can, 0, 2 * PAGE_SIZE, &vdso_vmar, &base) == ZX_OK);
    check(vmar_map(vdso_vmar, ZX_VM_SPECIFIC | ZX_VM_PERM_READ, 0, vdso, 0, PAGE_SIZE, RX, &base) ==
          ZX_OK);
    check(vmar_map(vdso_vmar, ZX_VM_SPECIFIC | RX, PAGE_SIZE, vdso, PAGE_SIZE, PAGE_SIZE, RX,
                   &code) == ZX_OK);
    check(vmar_map(root, RW, 0, data, 0, 2 * PAGE_SIZE, RW, &data_addr) == ZX_OK);
    kobject_unref(&vdso_vmar->obj);
    kobject_unref(&vdso->obj);
    kobject_unref(&data->obj);
    check(uthread_create(run->proc, "main", 4, &run->thread) == ZX_OK);
    check(uthread_start(run->thread, code, data_addr + 2 * PAGE_SIZE, data_addr, mode) == ZX_OK);
    return true;
}

static bool user_start(enum user_mode mode, struct user_run *run) {
    return user_start_in(job_root(), mode, run);
}

// Waits for the process to die; its return code in *retcode.
static bool user_wait(struct user_run *run, int64_t *retcode) {
    zx_signals_t seen = 0;
    zx_time_t deadline = (zx_time_t)current_time() + WAIT_NS;
    check(object_wait_one(&run->proc->obj, ZX_PROCESS_TERMINATED, deadline, &seen) == ZX_OK);
    check(seen & ZX_PROCESS_TERMINATED);
    zx_info_process_t info;
    size_t actual;
    check(run->proc->obj.ops->get_info(&run->proc->obj, ZX_INFO_PROCESS, &info, sizeof(info),
                                       &actual) == ZX_OK);
    check(info.flags == (ZX_INFO_PROCESS_FLAG_STARTED | ZX_INFO_PROCESS_FLAG_EXITED));
    *retcode = info.return_code;
    check(kobject_signals(&run->thread->obj) & ZX_THREAD_TERMINATED);
    zx_info_thread_t tinfo;
    check(run->thread->obj.ops->get_info(&run->thread->obj, ZX_INFO_THREAD, &tinfo, sizeof(tinfo),
                                         &actual) == ZX_OK);
    check(tinfo.state == ZX_THREAD_STATE_DEAD);
    kobject_unref(&run->thread->obj);
    kobject_unref(&run->proc->obj);
    return true;
}

static bool run_to_end(enum user_mode mode, int64_t want) {
    struct user_run run;
    int64_t retcode = 0;
    check(user_start(mode, &run));
    check(user_wait(&run, &retcode));
    diag("return code %ld", (long)retcode);
    check(retcode == want);
    return true;
}

static bool test_user_syscalls_via_vdso(void) {
    return run_to_end(MODE_SYSCALLS, 42);  // zx_debug_write returned ZX_OK (0), + 42
}

static bool test_user_bad_syscall_killed(void) {
    return run_to_end(MODE_BAD_SYSCALL, ZX_TASK_RETCODE_EXCEPTION_KILL);
}

static bool test_user_fault_killed(void) {
    return run_to_end(MODE_FAULT, ZX_TASK_RETCODE_EXCEPTION_KILL);
}

static bool test_user_spin_killed(void) {
    struct user_run run;
    check(user_start(MODE_SPIN, &run));
    thread_sleep(SPIN_NS);  // the spinning thread is preempted, so this thread runs again
    zx_info_thread_t tinfo;
    size_t actual;
    check(run.thread->obj.ops->get_info(&run.thread->obj, ZX_INFO_THREAD, &tinfo, sizeof(tinfo),
                                        &actual) == ZX_OK);
    check(tinfo.state == ZX_THREAD_STATE_RUNNING);
    check(kobject_signals(&run.thread->obj) & ZX_THREAD_RUNNING);
    process_kill(run.proc, ZX_TASK_RETCODE_SYSCALL_KILL);
    int64_t retcode = 0;
    check(user_wait(&run, &retcode));
    check(retcode == ZX_TASK_RETCODE_SYSCALL_KILL);
    return true;
}

// zx_task_kill on a job: the spinning process of a grandchild job dies too, and the job and
// the jobs below it are dead: no new child jobs or processes.
static bool test_job_kill_kills_processes(void) {
    struct job *child, *grandchild;
    check(job_create(job_root(), 0, &child) == ZX_OK);
    check(job_create(child, 0, &grandchild) == ZX_OK);
    struct user_run run;
    check(user_start_in(grandchild, MODE_SPIN, &run));
    thread_sleep(SPIN_NS);
    check(job_check_alive(child) == ZX_OK);
    job_kill(child, ZX_TASK_RETCODE_SYSCALL_KILL);
    int64_t retcode = 0;
    check(user_wait(&run, &retcode));
    check(retcode == ZX_TASK_RETCODE_SYSCALL_KILL);
    check(job_check_alive(child) == ZX_ERR_BAD_STATE);
    check(job_check_alive(grandchild) == ZX_ERR_BAD_STATE);
    check(job_check_alive(job_root()) == ZX_OK);
    struct job *late;
    check(job_create(child, 0, &late) == ZX_ERR_BAD_STATE);
    check(job_create(grandchild, 0, &late) == ZX_ERR_BAD_STATE);
    kobject_unref(&grandchild->obj);
    kobject_unref(&child->obj);
    return true;
}

// ZX_JOB_TERMINATED: a killed job with nothing in it is terminated at once; one whose
// grandchild job still has a (spinning) process only once that process is dead and the
// grandchild job terminated; a job destroyed without a kill leaves its parent's list silently.
static bool test_job_kill_terminates(void) {
    struct job *child, *grandchild, *empty, *dropped;
    check(job_create(job_root(), 0, &child) == ZX_OK);
    check(job_create(child, 0, &grandchild) == ZX_OK);
    check(job_create(child, 0, &empty) == ZX_OK);
    check(job_create(child, 0, &dropped) == ZX_OK);
    check(child->child_jobs == 3);
    kobject_unref(&dropped->obj);
    check(child->child_jobs == 2);
    check((kobject_signals(&child->obj) & ZX_JOB_TERMINATED) == 0);
    struct user_run run;
    check(user_start_in(grandchild, MODE_SPIN, &run));
    thread_sleep(SPIN_NS);
    job_kill(child, ZX_TASK_RETCODE_SYSCALL_KILL);
    check(kobject_signals(&empty->obj) & ZX_JOB_TERMINATED);
    check(child->child_jobs == 1);  // the grandchild, its process still dying
    zx_signals_t seen = 0;
    zx_time_t deadline = (zx_time_t)current_time() + WAIT_NS;
    check(object_wait_one(&child->obj, ZX_JOB_TERMINATED, deadline, &seen) == ZX_OK);
    check(seen & ZX_JOB_TERMINATED);
    check(kobject_signals(&grandchild->obj) & ZX_JOB_TERMINATED);
    check(child->child_jobs == 0 && grandchild->processes == 0);
    check((kobject_signals(&job_root()->obj) & ZX_JOB_TERMINATED) == 0);
    int64_t retcode = 0;
    check(user_wait(&run, &retcode));
    check(retcode == ZX_TASK_RETCODE_SYSCALL_KILL);
    kobject_unref(&empty->obj);
    kobject_unref(&grandchild->obj);
    kobject_unref(&child->obj);
    return true;
}

// ---- a user thread blocked in a syscall ----

enum block_call { CALL_WAIT_ONE, CALL_WAIT_MANY, CALL_NANOSLEEP };

// A kernel thread that takes over a user thread of a test process, as uthread_start's kernel
// thread does, and blocks in a syscall handler with no deadline; it leaves like a user thread
// (uthread_exit_current).
struct user_blocker {
    struct process *proc;
    struct uthread *thread;
    struct kobject *event;  // the object behind `handle`
    zx_handle_t handle;     // an event handle in proc's table
    uintptr_t mem;          // a user page of proc (wait_many's item)
    enum block_call call;
    zx_status_t status;  // what the handler returned
    uint64_t done_tick;  // timer_ticks() when it returned
};

static int user_blocker_main(void *arg) {
    struct user_blocker *b = arg;
    thread_set_user(thread_current(), b->thread, b->proc->aspace->arch);
    zx_wait_item_t item = {b->handle, ZX_EVENT_SIGNALED, 0};
    switch (b->call) {
    case CALL_WAIT_ONE:
        b->status = sys_object_wait_one(b->handle, ZX_EVENT_SIGNALED, ZX_TIME_INFINITE,
                                        (user_out_ptr_t){0});
        break;
    case CALL_WAIT_MANY:
        b->status = copy_to_user((void *)b->mem, &item, sizeof(item));
        if (b->status == ZX_OK) {
            b->status = sys_object_wait_many((user_inout_ptr_t){b->mem}, 1, ZX_TIME_INFINITE);
        }
        break;
    case CALL_NANOSLEEP:
        b->status = sys_nanosleep(ZX_TIME_INFINITE);
        break;
    }
    b->done_tick = timer_ticks();
    uthread_exit_current();
}

// The ZX_INFO_THREAD state of `t`.
static zx_thread_state_t thread_state(struct uthread *t) {
    zx_info_thread_t info = {.state = 0xffffffffu};
    size_t actual;
    t->obj.ops->get_info(&t->obj, ZX_INFO_THREAD, &info, sizeof(info), &actual);
    return info.state;
}

// Starts a user_blocker making `call` and waits until ZX_INFO_THREAD shows it blocked with
// `state`; *kt is its kernel thread, to join.
static bool user_blocker_start(struct user_blocker *b, enum block_call call,
                               zx_thread_state_t state, struct thread **kt) {
    *b = (struct user_blocker){.call = call};
    check(process_create(job_root(), "selftest-block", 14, &b->proc) == ZX_OK);
    check(uthread_create(b->proc, "blocker", 7, &b->thread) == ZX_OK);
    check(event_create(0, &b->event) == ZX_OK);
    check(handle_table_add(&b->proc->handles, b->event, ZX_DEFAULT_EVENT_RIGHTS, &b->handle) ==
          ZX_OK);
    struct vmo *vmo;
    check(vmo_create(PAGE_SIZE, 0, &vmo) == ZX_OK);
    check(vmar_map(b->proc->aspace->root, RW, 0, vmo, 0, PAGE_SIZE, RW, &b->mem) == ZX_OK);
    kobject_unref(&vmo->obj);
    // Started as uthread_start does it, but into user_blocker_main instead of user mode.
    arch_irq_state_t irq = thread_lock_irqsave();
    *kt = thread_create("user-blocker", user_blocker_main, b);
    if (*kt != NULL) {
        b->thread->state = ZX_THREAD_STATE_RUNNING;
        kobject_ref(&b->thread->obj);  // the running thread's, dropped as it exits
        process_mark_started(b->proc);
        kobject_signal(&b->thread->obj, 0, ZX_THREAD_RUNNING);
    }
    thread_unlock_irqrestore(irq);
    check(*kt != NULL);
    for (int i = 0; i < 1000 && thread_state(b->thread) != state; i++) {
        thread_sleep(ZX_MSEC(1));
    }
    diag("thread state 0x%x, want 0x%x", thread_state(b->thread), state);
    check(thread_state(b->thread) == state);
    check(kobject_signals(&b->thread->obj) & ZX_THREAD_RUNNING);
    return true;
}

// Joins the blocker, checks its thread and process are dead with `retcode`, frees them.
static bool user_blocker_end(struct user_blocker *b, struct thread *kt, int64_t retcode) {
    check(thread_join(kt, NULL) == 0);
    check(thread_state(b->thread) == ZX_THREAD_STATE_DEAD);
    check(kobject_signals(&b->proc->obj) & ZX_PROCESS_TERMINATED);
    zx_info_process_t info;
    size_t actual;
    check(b->proc->obj.ops->get_info(&b->proc->obj, ZX_INFO_PROCESS, &info, sizeof(info),
                                     &actual) == ZX_OK);
    check(info.return_code == retcode);
    kobject_unref(b->event);
    kobject_unref(&b->thread->obj);
    kobject_unref(&b->proc->obj);
    return true;
}

// ZX_INFO_THREAD reports why a user thread is blocked; a signal ends a wait at once (within a
// tick), a kill of the thread ends a sleep (within two: zx_nanosleep may be between two
// thread_sleep slices of a millisecond).
static bool test_blocked_thread_state(void) {
    static const struct {
        enum block_call call;
        zx_thread_state_t state;
    } cases[] = {
        {CALL_WAIT_ONE, ZX_THREAD_STATE_BLOCKED_WAIT_ONE},
        {CALL_WAIT_MANY, ZX_THREAD_STATE_BLOCKED_WAIT_MANY},
        {CALL_NANOSLEEP, ZX_THREAD_STATE_BLOCKED_SLEEPING},
    };
    size_t live = kobject_live_count();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static struct user_blocker b;
        struct thread *kt;
        check(user_blocker_start(&b, cases[i].call, cases[i].state, &kt));
        uint64_t tick = timer_ticks();
        if (cases[i].call == CALL_NANOSLEEP) {
            uthread_kill(b.thread);
            zx_thread_state_t st = thread_state(b.thread);  // another CPU may have ended it
            check(st == ZX_THREAD_STATE_DYING || st == ZX_THREAD_STATE_DEAD);
        } else {
            kobject_signal(b.event, 0, ZX_EVENT_SIGNALED);
        }
        check(user_blocker_end(&b, kt, 0));  // its last thread left: return code 0
        diag("call %zu returned %d after %llu ticks", i, b.status,
             (unsigned long long)(b.done_tick - tick));
        check(b.status == ZX_OK);
        // Two ticks of slack beyond the bound: a vCPU thread the host descheduled sees several
        // ticks fall due at once (TCG on a loaded host). A wait the wake-up missed would still
        // run to its infinite deadline.
        check(b.done_tick - tick <= (cases[i].call == CALL_NANOSLEEP ? 2u : 1u) + 2u);
    }
    check(kobject_live_count() == live);
    return true;
}

// Killing the process of a thread blocked in a wait with no deadline ends the wait
// (ZX_ERR_INTERNAL_INTR_KILLED) and the process dies with the kill's return code. Killing the
// thread alone ends it as promptly.
static bool test_kill_ends_blocked_wait(void) {
    size_t live = kobject_live_count();
    for (int by_thread = 0; by_thread < 2; by_thread++) {
        static struct user_blocker b;
        struct thread *kt;
        check(user_blocker_start(&b, CALL_WAIT_ONE, ZX_THREAD_STATE_BLOCKED_WAIT_ONE, &kt));
        uint64_t tick = timer_ticks();
        if (by_thread) {
            uthread_kill(b.thread);
        } else {
            process_kill(b.proc, ZX_TASK_RETCODE_SYSCALL_KILL);
        }
        check(user_blocker_end(&b, kt, by_thread ? 0 : ZX_TASK_RETCODE_SYSCALL_KILL));
        diag("killed by %s: wait returned %d after %llu ticks", by_thread ? "thread" : "process",
             b.status, (unsigned long long)(b.done_tick - tick));
        check(b.status == ZX_ERR_INTERNAL_INTR_KILLED);
        check(b.done_tick - tick <= 2);  // the next tick notices a kill at the latest
    }
    check(kobject_live_count() == live);
    return true;
}

static const struct selftest_case process_cases[] = {
    {"user_syscalls_via_vdso", test_user_syscalls_via_vdso},
    {"user_bad_syscall_killed", test_user_bad_syscall_killed},
    {"user_fault_killed", test_user_fault_killed},
    {"user_spin_killed", test_user_spin_killed},
    {"job_kill_kills_processes", test_job_kill_kills_processes},
    {"job_kill_terminates", test_job_kill_terminates},
    {"blocked_thread_state", test_blocked_thread_state},
    {"kill_ends_blocked_wait", test_kill_ends_blocked_wait},
};

const struct selftest_suite selftest_process_suite = {process_cases, sizeof(process_cases) /
                                                                         sizeof(process_cases[0])};
