// The process builder under concurrency: threads build our own file into processes of a
// shared job (then start and kill them at once, or drop them unstarted) and feed the builder
// a bad ELF file, while another thread kills the job and makes a new one. Every build either
// succeeds or fails with a typed error, the kernel stays sane, and when the round is over
// this process holds exactly the handles it held before: no failed or killed build leaks one.
#include <zhb/process_builder.h>

#include "stress.h"

struct pbs {
    volatile uint64_t stop;
    volatile uint64_t job;  // the shared job (replaced by the killer)
    volatile uint64_t built, started, failed;
    struct tk_failure fail;
};

// One build of `exe` (consumed) in the shared job; *built tells whether it got that far.
static zx_status_t build_one(struct pbs *s, zx_handle_t exe, struct pb_built *out,
                             struct process_builder *b) {
    struct vdso_layout layout;
    zx_handle_t job, vdso;
    if (!vdso_layout(&layout) ||
        zx_handle_duplicate(layout.vmo, ZX_RIGHT_SAME_RIGHTS, &vdso) != ZX_OK) {
        zx_handle_close(exe);
        return ZX_ERR_BAD_STATE;
    }
    // The killer may close the job between our load and duplicate: then use none.
    if (zx_handle_duplicate((zx_handle_t)tk_load(&s->job), ZX_RIGHT_SAME_RIGHTS, &job) != ZX_OK) {
        job = ZX_HANDLE_INVALID;
    }
    zx_status_t status = pb_create(b, job, "pb-stress", exe, zx_vmar_root_self());
    if (job != ZX_HANDLE_INVALID) {
        zx_handle_close(job);
    }
    if (status != ZX_OK) {
        zx_handle_close(vdso);
        return status;
    }
    const char *args[] = {STRESS_PATH, "child=exit"};
    pb_set_vdso_vmo(b, vdso);
    pb_add_args(b, args, 2);
    return pb_build(b, out);
}

static void builder_worker(void *arg) {
    struct pbs *s = arg;
    uint64_t rng = stress_seed((uintptr_t)&rng);
    while (!tk_load(&s->stop)) {
        zx_handle_t exe;
        bool bad = tk_below(&rng, 4) == 0;
        zx_status_t status = bad ? pb_vmo_from_bytes("\177ELF-not-really", 15, &exe)
                                 : bootfs_file_vmo(STRESS_PATH, &exe);
        if (status != ZX_OK) {
            TK_FAIL(&s->fail, "reading the executable", status, bad);
            return;
        }
        struct process_builder b;
        struct pb_built built;
        status = build_one(s, exe, &built, &b);
        if (status != ZX_OK) {
            tk_add(&s->failed, 1);
            // A bad file fails to parse, unless the job died first (process or thread).
            if (bad && b.error.kind != PB_ERR_ELF_PARSE && b.error.kind != PB_ERR_CREATE_PROCESS &&
                b.error.kind != PB_ERR_CREATE_THREAD && b.error.kind != PB_ERR_BAD_HANDLE) {
                TK_FAIL(&s->fail, "bad ELF: error kind", b.error.kind, status);
            }
            continue;
        }
        if (bad) {
            TK_FAIL(&s->fail, "a bad ELF file was built", 0, 0);
        }
        tk_add(&s->built, 1);
        zx_handle_t proc;
        if (tk_below(&rng, 2) == 0) {
            pb_built_destroy(&built);
        } else if (pb_start(&built, &proc, &b.error) == ZX_OK) {
            tk_add(&s->started, 1);
            zx_task_kill(proc);
            zx_handle_close(proc);
        }
    }
}

static void job_killer(void *arg) {
    struct pbs *s = arg;
    while (!tk_load(&s->stop)) {
        zx_nanosleep(zx_deadline_after(ZX_MSEC(3)));
        zx_handle_t fresh;
        if (zx_job_create(zx_job_default(), 0, &fresh) != ZX_OK) {
            TK_FAIL(&s->fail, "zx_job_create", 0, 0);
            return;
        }
        zx_handle_t old = (zx_handle_t)tk_xchg(&s->job, fresh);
        zx_task_kill(old);
        zx_handle_close(old);
    }
}

KTAP_CASE(procbuilder_builds_race_job_kills) {
    struct pbs s = {0};
    zx_handle_t job, probe;
    // The lazily made caches (our BOOTFS mapping, the vDSO handle) before any thread runs.
    KTAP_ASSERT_OK(bootfs_file_vmo(STRESS_PATH, &probe));
    zx_handle_close(probe);
    struct vdso_layout layout;
    KTAP_ASSERT_TRUE(vdso_layout(&layout));
    uint32_t before = handle_total();
    KTAP_ASSERT_OK(zx_job_create(zx_job_default(), 0, &job));
    s.job = job;
    const stress_worker workers[] = {builder_worker, builder_worker, job_killer};
    KTAP_EXPECT_OK(stress_round(workers, 3, &s, &s.stop));
    tk_report(&s.fail, __FILE__);
    zx_task_kill((zx_handle_t)s.job);
    zx_handle_close((zx_handle_t)s.job);
    KTAP_EXPECT_EQ(handle_total(), before);
    KTAP_EXPECT_TRUE(s.built + s.failed > 0);
    ktap_diag("%lu built (%lu started and killed), %lu failed", (unsigned long)s.built,
              (unsigned long)s.started, (unsigned long)s.failed);
    STRESS_KERNEL_SANE();
}
