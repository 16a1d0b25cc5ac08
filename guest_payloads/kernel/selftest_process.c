// Self-tests of user mode (a suite of kernel/selftest.c): a process runs a tiny user program
// (arch/<arch>/selftest_user.S) from the code page of a fake vDSO, so the full path is real:
// page tables, entering user mode, the syscall entry and its vDSO PC check, user faults,
// kills, process and thread states and return codes.
// <kernel/timer.h> defines ZX_USEC/MSEC/SEC as <zircon/time.h> does (differently typed):
// include it first and keep Zircon's.
#include <kernel/timer.h>
#undef ZX_USEC
#undef ZX_MSEC
#undef ZX_SEC

#include <kernel/selftest.h>

#include <kernel/job.h>
#include <kernel/pmm.h>
#include <kernel/process.h>
#include <kernel/thread.h>
#include <kernel/vm.h>
#include <kernel/wait.h>
#include <lib/string.h>
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
    check(vmar_map(vdso_vmar, ZX_VM_SPECIFIC | ZX_VM_PERM_READ, 0, vdso, 0, PAGE_SIZE, RX,
                   &base) == ZX_OK);
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
    check(run->thread->obj.ops->get_info(&run->thread->obj, ZX_INFO_THREAD, &tinfo,
                                         sizeof(tinfo), &actual) == ZX_OK);
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

// zx_task_kill on a job: the spinning process of a grandchild job dies too.
static bool test_job_kill_kills_processes(void) {
    struct job *child, *grandchild;
    check(job_create(job_root(), 0, &child) == ZX_OK);
    check(job_create(child, 0, &grandchild) == ZX_OK);
    struct user_run run;
    check(user_start_in(grandchild, MODE_SPIN, &run));
    thread_sleep(SPIN_NS);
    process_kill_job(child, ZX_TASK_RETCODE_SYSCALL_KILL);
    int64_t retcode = 0;
    check(user_wait(&run, &retcode));
    check(retcode == ZX_TASK_RETCODE_SYSCALL_KILL);
    kobject_unref(&grandchild->obj);
    kobject_unref(&child->obj);
    return true;
}

static const struct selftest_case process_cases[] = {
    {"user_syscalls_via_vdso", test_user_syscalls_via_vdso},
    {"user_bad_syscall_killed", test_user_bad_syscall_killed},
    {"user_fault_killed", test_user_fault_killed},
    {"user_spin_killed", test_user_spin_killed},
    {"job_kill_kills_processes", test_job_kill_kills_processes},
};

const struct selftest_suite selftest_process_suite = {
    process_cases, sizeof(process_cases) / sizeof(process_cases[0])};
