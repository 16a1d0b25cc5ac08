// Tasks: kills that land while the victim is inside a syscall (blocked or busy), and deep
// nesting (VMARs, jobs) followed by teardown.
#include <stdio.h>
#include <string.h>
#include <zhb/runtime.h>

#include "machine-code.h"
#include "stress.h"

ZHB_DECLARE_VDSO_OFFSET(zx_nanosleep);

#define DEEP 3000

// ---- kill during a syscall -----------------------------------------------------------------

static void block_forever(void *arg) {
    zx_handle_t event = (zx_handle_t)(uintptr_t)arg;
    zx_signals_t seen;
    zx_object_wait_one(event, ZX_EVENT_SIGNALED, ZX_TIME_INFINITE, &seen);
}

// A thread of ours blocked in zx_object_wait_one with no deadline is killed: it dies
// (ZX_THREAD_TERMINATED, DEAD) and the event it waited on still works.
KTAP_CASE(kill_thread_blocked_in_wait) {
    zx_time_t deadline = tk_round_deadline();
    int rounds = 0;
    do {
        zx_handle_t event;
        KTAP_ASSERT_OK(zx_event_create(0, &event));
        struct tk_thread t;
        KTAP_ASSERT_OK(tk_thread_start(&t, "blocked", block_forever, (void *)(uintptr_t)event));
        zx_nanosleep(zx_deadline_after(ZX_USEC(200 * (rounds % 8))));
        KTAP_EXPECT_OK(zx_task_kill(t.handle));
        KTAP_EXPECT_OK(wait_ms(t.handle, ZX_THREAD_TERMINATED, DEATH_MS));
        KTAP_EXPECT_EQ(thread_state(t.handle), ZX_THREAD_STATE_DEAD);
        tk_thread_join(&t, JOIN_MS);
        KTAP_EXPECT_OK(zx_object_signal(event, 0, ZX_EVENT_SIGNALED));
        KTAP_EXPECT_OK(zx_handle_close(event));
        rounds++;
    } while (tk_before(deadline));
    ktap_diag("%d threads killed in a wait", rounds);
    STRESS_KERNEL_SANE();
}

static void syscall_loop(void *arg) {
    (void)arg;
    zx_handle_t a, b, vmo;
    uint8_t buf[256] = {1};
    if (zx_channel_create(0, &a, &b) != ZX_OK || zx_vmo_create(4 * TK_PAGE, 0, &vmo) != ZX_OK) {
        return;
    }
    for (;;) {
        zx_handle_t ev, got;
        uint32_t nb, nh;
        if (zx_event_create(0, &ev) == ZX_OK) {
            zx_channel_write(a, 0, buf, sizeof(buf), &ev, 1);
        }
        zx_channel_read(b, 0, buf, &got, sizeof(buf), 1, &nb, &nh);
        zx_handle_close(got);
        zx_vmo_write(vmo, buf, 100, sizeof(buf));
        zx_vmo_read(vmo, buf, 3000, sizeof(buf));
    }
}

// Rounds of kill_thread_mid_syscalls one child process runs. A killed thread leaks the handles
// it held (nobody can close them for it), so the rounds run in batches, each in a child of
// its own whose handle table dies with it; a long run would otherwise fill ours.
#define KILL_BATCH 50

// The child of kill_thread_mid_syscalls: KILL_BATCH rounds; 0 when every kill and join
// worked, else the round's step that failed (1-3).
int child_kill_threads(void) {
    for (int round = 0; round < KILL_BATCH; round++) {
        struct tk_thread t;
        if (tk_thread_start(&t, "busy", syscall_loop, NULL) != ZX_OK) {
            return 1;
        }
        zx_nanosleep(zx_deadline_after(ZX_USEC(300 * (round % 11))));
        if (zx_task_kill(t.handle) != ZX_OK) {
            return 2;
        }
        if (wait_ms(t.handle, ZX_THREAD_TERMINATED, DEATH_MS) != ZX_OK) {
            return 3;
        }
        tk_thread_join(&t, JOIN_MS);
    }
    return 0;
}

// A thread busy in a loop of syscalls (channel write/read with handles, VMO I/O) is killed at
// a random moment by another thread of its process: it dies and the kernel goes on.
KTAP_CASE(kill_thread_mid_syscalls) {
    zx_time_t deadline = tk_round_deadline();
    int batches = 0;
    do {
        int64_t code = -1;
        KTAP_EXPECT_OK(stress_run_child("kill-threads", JOIN_MS * 3, &code));
        KTAP_EXPECT_EQ(code, 0);
        batches++;
    } while (tk_before(deadline));
    ktap_diag("%d busy threads killed", batches * KILL_BATCH);
    STRESS_KERNEL_SANE();
}

// A child process asleep in zx_nanosleep(ZX_TIME_INFINITE) is killed: it terminates with
// ZX_TASK_RETCODE_SYSCALL_KILL.
KTAP_CASE(kill_process_blocked_in_sleep) {
    static const uint8_t code[] = MC_SLEEP_ARG2_FOREVER;
    zx_time_t deadline = tk_round_deadline();
    int rounds = 0;
    do {
        struct child child;
        KTAP_ASSERT_OK(
            child_create(zx_job_default(), "sleeper", code, sizeof(code), true, &child));
        uintptr_t sleep = child.vdso_base + ZHB_VDSO_OFFSET(zx_nanosleep);
        if (KTAP_EXPECT_OK(child_start(&child, sleep))) {
            // Until it is asleep (the first round may take a while to get there under TCG).
            zx_time_t asleep_by = zx_deadline_after(ZX_MSEC(TK_SCALED_MS(2000)));
            while (thread_state(child.thread) != ZX_THREAD_STATE_BLOCKED_SLEEPING &&
                   tk_before(asleep_by)) {
                zx_nanosleep(zx_deadline_after(ZX_MSEC(1)));
            }
            KTAP_EXPECT_EQ(thread_state(child.thread), ZX_THREAD_STATE_BLOCKED_SLEEPING);
            KTAP_EXPECT_OK(zx_task_kill(child.proc));
            KTAP_EXPECT_OK(wait_ms(child.proc, ZX_PROCESS_TERMINATED, DEATH_MS));
            KTAP_EXPECT_EQ(return_code(child.proc), ZX_TASK_RETCODE_SYSCALL_KILL);
        }
        child_destroy(&child);
        rounds++;
    } while (tk_before(deadline));
    ktap_diag("%d sleeping children killed", rounds);
    STRESS_KERNEL_SANE();
}

int child_churn(void) {
    struct tk_thread t[3];
    for (int i = 0; i < 3; i++) {
        tk_thread_start(&t[i], "churn", syscall_loop, NULL);
    }
    syscall_loop(NULL);
    return 0;
}

// A child process running syscall loops on four threads is killed (the process, or its
// job) at a random moment: it terminates with ZX_TASK_RETCODE_SYSCALL_KILL.
KTAP_CASE(kill_process_mid_syscalls) {
    zx_time_t deadline = tk_round_deadline();
    int rounds = 0;
    do {
        zx_handle_t job, proc;
        const char *args[] = {"child=churn"};
        KTAP_ASSERT_OK(zx_job_create(zx_job_default(), 0, &job));
        KTAP_ASSERT_OK(tk_spawn(job, STRESS_PATH, args, 1, ZX_HANDLE_INVALID, &proc));
        zx_nanosleep(zx_deadline_after(ZX_MSEC(1 + rounds % 20)));
        KTAP_EXPECT_OK(zx_task_kill(rounds % 2 ? job : proc));
        KTAP_EXPECT_OK(wait_ms(proc, ZX_PROCESS_TERMINATED, DEATH_MS));
        KTAP_EXPECT_EQ(return_code(proc), ZX_TASK_RETCODE_SYSCALL_KILL);
        if (rounds % 2) {
            KTAP_EXPECT_OK(wait_ms(job, ZX_JOB_TERMINATED, DEATH_MS));
        }
        zx_handle_close(proc);
        zx_task_kill(job);
        zx_handle_close(job);
        rounds++;
    } while (tk_before(deadline));
    ktap_diag("%d busy children killed", rounds);
    STRESS_KERNEL_SANE();
}

// ---- deep nesting --------------------------------------------------------------------------

// DEEP nested sub-VMARs below `parent` (each one page smaller); returns the depth reached
// and the top one's handle. Zircon has no depth limit here; a failure other than
// NO_MEMORY / NO_RESOURCES / OUT_OF_RANGE is reported through *bad.
static int nest_vmars(zx_handle_t parent, zx_handle_t *top, zx_status_t *bad) {
    zx_vaddr_t addr;
    uint64_t size = (DEEP + 16) * (uint64_t)TK_PAGE;
    *bad = ZX_OK;
    zx_status_t status = zx_vmar_allocate(parent, ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE, 0,
                                          size, top, &addr);
    if (status != ZX_OK) {
        *bad = status;
        return 0;
    }
    zx_handle_t cur;
    if (zx_handle_duplicate(*top, ZX_RIGHT_SAME_RIGHTS, &cur) != ZX_OK) {
        return 1;
    }
    int depth = 1;
    for (; depth < DEEP; depth++) {
        zx_handle_t next;
        size -= TK_PAGE;
        status = zx_vmar_allocate(cur, ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE, 0, size, &next,
                                  &addr);
        if (status != ZX_OK) {
            if (status != ZX_ERR_NO_MEMORY && status != ZX_ERR_NO_RESOURCES &&
                status != ZX_ERR_OUT_OF_RANGE) {
                *bad = status;
            }
            break;
        }
        zx_handle_close(cur);  // the parent keeps its child
        cur = next;
    }
    zx_handle_close(cur);
    return depth;
}

// ~3,000 nested sub-VMARs, then zx_vmar_destroy of the top one: no crash, the tree is gone
// (mapping into the destroyed VMAR is ZX_ERR_BAD_STATE), the kernel goes on.
KTAP_CASE(deep_vmar_nesting_destroy) {
    zx_handle_t top;
    zx_status_t bad;
    int depth = nest_vmars(zx_vmar_root_self(), &top, &bad);
    KTAP_EXPECT_OK(bad);
    ktap_diag("nested %d VMARs", depth);
    KTAP_ASSERT_TRUE(depth > 0);
    KTAP_EXPECT_OK(zx_vmar_destroy(top));
    zx_handle_t vmo;
    zx_vaddr_t addr;
    KTAP_ASSERT_OK(zx_vmo_create(TK_PAGE, 0, &vmo));
    KTAP_EXPECT_STATUS(zx_vmar_map(top, ZX_VM_PERM_READ, 0, vmo, 0, TK_PAGE, &addr),
                       ZX_ERR_BAD_STATE);
    zx_handle_close(vmo);
    zx_handle_close(top);
    STRESS_KERNEL_SANE();
}

int child_deep_vmar(void) {
    zx_handle_t top;
    zx_status_t bad;
    int depth = nest_vmars(zx_vmar_root_self(), &top, &bad);
    printf("# deep-vmar child: nested %d VMARs (status %d); exiting with them\n", depth, bad);
    return bad == ZX_OK && depth > 0 ? 0 : 1;  // the process exit tears the tree down
}

// A child process nests ~3,000 sub-VMARs and exits without destroying them: process
// teardown frees the tree; the child ends with return code 0.
KTAP_CASE(deep_vmar_nesting_process_exit) {
    int64_t code = -1;
    KTAP_EXPECT_OK(stress_run_child("deep-vmar", JOIN_MS * 3, &code));
    KTAP_EXPECT_EQ(code, 0);
    STRESS_KERNEL_SANE();
}

// A chain of child jobs, as deep as the kernel allows up to 3,000: each zx_job_create
// succeeds or fails with ZX_ERR_OUT_OF_RANGE (Zircon's job height limit), and once it failed
// it keeps failing. Returns the depth; *jobs holds the handles top first.
static int nest_jobs(zx_handle_t *jobs, zx_status_t *bad) {
    int depth = 0;
    *bad = ZX_OK;
    zx_handle_t parent = zx_job_default();
    for (; depth < DEEP; depth++) {
        zx_status_t status = zx_job_create(parent, 0, &jobs[depth]);
        if (status != ZX_OK) {
            if (status != ZX_ERR_OUT_OF_RANGE) {
                *bad = status;
            }
            break;
        }
        parent = jobs[depth];
    }
    return depth;
}

static void job_chain(bool kill) {
    static zx_handle_t jobs[DEEP];
    zx_status_t bad;
    int depth = nest_jobs(jobs, &bad);
    KTAP_EXPECT_OK(bad);
    ktap_diag("job chain %d deep%s", depth, depth < DEEP ? " (ZX_ERR_OUT_OF_RANGE below)" : "");
    KTAP_ASSERT_TRUE(depth > 0);
    if (depth < DEEP) {
        zx_handle_t again = ZX_HANDLE_INVALID;
        KTAP_EXPECT_STATUS(zx_job_create(jobs[depth - 1], 0, &again), ZX_ERR_OUT_OF_RANGE);
        KTAP_EXPECT_EQ(again, ZX_HANDLE_INVALID);
    }
    if (kill) {
        // A spinning process at the bottom, then kill the top job.
        static const uint8_t spin[] = MC_SPIN;
        struct child child;
        bool started = KTAP_EXPECT_OK(
            child_create(jobs[depth - 1], "deep-spinner", spin, sizeof(spin), false, &child));
        if (started) {
            KTAP_EXPECT_OK(child_start(&child, 0));
        }
        KTAP_EXPECT_OK(zx_task_kill(jobs[0]));
        KTAP_EXPECT_OK(wait_ms(jobs[0], ZX_JOB_TERMINATED, DEATH_MS * 2));
        if (started) {
            KTAP_EXPECT_OK(wait_ms(child.proc, ZX_PROCESS_TERMINATED, DEATH_MS));
            child_destroy(&child);
        }
    }
    // Top first: the last handle of the deepest job then lets the whole chain go at once.
    for (int i = 0; i < depth; i++) {
        KTAP_EXPECT_OK(zx_handle_close(jobs[i]));
    }
}

KTAP_CASE(deep_job_chain_close) {
    job_chain(false);
    STRESS_KERNEL_SANE();
}

KTAP_CASE(deep_job_chain_kill) {
    job_chain(true);
    STRESS_KERNEL_SANE();
}

// ---- job_kill_vs_create --------------------------------------------------------------------

#define MAX_SPAWNED 64

struct jobrace {
    volatile uint64_t stop;
    zx_handle_t job;
    zx_handle_t procs[MAX_SPAWNED];
    volatile uint64_t nprocs, refused;
    struct tk_failure fail;
};

static void job_creator(void *arg) {
    struct jobrace *s = arg;
    static const uint8_t spin[] = MC_SPIN;
    while (!tk_load(&s->stop)) {
        struct child child;
        zx_status_t status =
            child_create(s->job, "job-race", spin, sizeof(spin), false, &child);
        if (status == ZX_OK) {
            status = child_start(&child, 0);
        }
        if (status == ZX_OK && s->nprocs < MAX_SPAWNED) {
            zx_handle_t keep;
            if (zx_handle_duplicate(child.proc, ZX_RIGHT_SAME_RIGHTS, &keep) == ZX_OK) {
                s->procs[s->nprocs] = keep;
                tk_add(&s->nprocs, 1);
            }
        } else if (status == ZX_ERR_BAD_STATE) {
            tk_add(&s->refused, 1);
        } else if (status != ZX_OK) {
            TK_FAIL(&s->fail, "creating/starting a process in a job being killed: OK or BAD_STATE",
                    status, 0);
        }
        // Only close our handles: a kill of the job must be what ends them.
        zx_handle_t handles[] = {child.thread, child.vmar, child.proc};
        for (int i = 0; i < 3; i++) {
            if (handles[i] != ZX_HANDLE_INVALID) {
                zx_handle_close(handles[i]);
            }
        }
        zx_handle_t sub;
        status = zx_job_create(s->job, 0, &sub);
        if (status == ZX_OK) {
            zx_handle_close(sub);
        } else if (status != ZX_ERR_BAD_STATE) {
            TK_FAIL(&s->fail, "zx_job_create in a job being killed: OK or BAD_STATE", status, 0);
        }
    }
}

// A thread keeps creating and starting processes (and child jobs) in a job while the main
// thread kills the job: each creation succeeds or fails with ZX_ERR_BAD_STATE, the job is
// terminated (ZX_JOB_TERMINATED) and every process that was started in it is dead.
KTAP_CASE(job_kill_vs_create) {
    static struct jobrace s;
    zx_time_t deadline = tk_round_deadline();
    uint64_t rounds = 0, made = 0, refused = 0;
    do {
        s = (struct jobrace){0};
        KTAP_ASSERT_OK(zx_job_create(zx_job_default(), 0, &s.job));
        struct tk_thread t;
        KTAP_ASSERT_OK(tk_thread_start(&t, "creator", job_creator, &s));
        zx_nanosleep(zx_deadline_after(ZX_USEC(500 * (1 + rounds % 6))));
        KTAP_EXPECT_OK(zx_task_kill(s.job));
        KTAP_EXPECT_OK(wait_ms(s.job, ZX_JOB_TERMINATED, DEATH_MS));
        tk_store(&s.stop, 1);
        KTAP_EXPECT_OK(tk_thread_join(&t, JOIN_MS));
        for (uint64_t i = 0; i < s.nprocs; i++) {
            KTAP_EXPECT_OK(wait_ms(s.procs[i], ZX_PROCESS_TERMINATED, DEATH_MS));
            zx_handle_close(s.procs[i]);
        }
        made += s.nprocs;
        refused += s.refused;
        zx_handle_close(s.job);
        rounds++;
    } while (tk_before(deadline) && tk_load(&s.fail.count) == 0);
    ktap_diag("%llu rounds, %llu processes started, %llu creations refused",
              (unsigned long long)rounds, (unsigned long long)made, (unsigned long long)refused);
    tk_report(&s.fail, __FILE__);
    STRESS_KERNEL_SANE();
}

// ---- threads_reaped_under_load -------------------------------------------------------------

#define REAPED_THREADS 20000  // more kernel stacks (16 KiB each) than the guest has RAM

// Always ready to run (it yields, so the others get the CPU at once), never idle.
static void spin_until_stopped(void *arg) {
    while (tk_load((volatile uint64_t *)arg) == 0) {
        zx_nanosleep(0);
    }
}

static void exit_at_once(void *arg) {
    (void)arg;
}

// A thread of ours spins (yielding with zx_nanosleep(0)), so the CPU is never idle, while the
// main thread starts and joins REAPED_THREADS threads that exit at once: the kernel must free
// each exited thread's stack and struct under that load too, not only from its idle loop, or
// thread creation runs out of memory (as it once did). Every start succeeds.
KTAP_CASE(threads_reaped_under_load) {
    static volatile uint64_t stop;
    tk_store(&stop, 0);
    struct tk_thread spinner;
    KTAP_ASSERT_OK(tk_thread_start(&spinner, "spinner", spin_until_stopped, (void *)&stop));
    int started = 0;
    zx_status_t status = ZX_OK;
    for (; started < REAPED_THREADS; started++) {
        struct tk_thread t;
        status = tk_thread_start(&t, "short", exit_at_once, NULL);
        if (status != ZX_OK) {
            break;
        }
        status = tk_thread_join(&t, JOIN_MS);
        if (status != ZX_OK) {
            break;
        }
    }
    tk_store(&stop, 1);
    KTAP_EXPECT_OK(tk_thread_join(&spinner, JOIN_MS));
    KTAP_EXPECT_OK(status);
    KTAP_EXPECT_EQ(started, REAPED_THREADS);
    ktap_diag("%d threads started and joined beside a spinning one", started);
    STRESS_KERNEL_SANE();
}
