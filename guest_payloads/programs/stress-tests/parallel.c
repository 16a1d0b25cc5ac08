// stress-tests' parallel mode (`parallel=1`): every selected case at the same time, each in a
// child process of its own (`stress-tests run=NAME ms=T`) that runs the case again and again
// until its T milliseconds are over, so one boot gives every case T of wall time against all
// the others. The cases that take all of the system's memory (EXCLUSIVE_CASES) would make the
// others fail for want of it, so they run afterwards, one at a time, T each. Results are
// printed as each child ends (KTAP numbers follow the case order, the lines do not); the
// children's diagnostics carry their case's name.
#include <stdio.h>
#include <string.h>

#include "stress.h"

#define EXCLUSIVE_CASES                                                                            \
    "memory_exhaustion_recovery,vmo_commit_exhaustion_recovery,"                                   \
    "channel_queue_exhaustion_recovery,mapping_count_exhaustion"
#define MAX_CASES 64
#define PROGRESS_MS 30000

struct runner {
    size_t index;  // KTAP number - 1
    const char *name;
    zx_handle_t job, proc;
};

// Child mode `run=NAME`: the case, again and again until `ms` are over (at least once),
// stopping at the first failure or skip. Exit status: an enum ktap_result.
int stress_run_repeated(const char *name) {
    zx_time_t until = tk_round_deadline();
    const char *skip_reason = NULL;
    enum ktap_result result;
    uint64_t runs = 0;
    ktap_set_diag(name, false);
    // A run started late gets only what is left of our round as its own, and none starts
    // with less than a second left of a long round (the cases' long mode needs a second).
    int64_t least_ms = tk_round_ms() < LONG_ROUND_MS ? 1 : LONG_ROUND_MS;
    do {
        tk_set_round_ms((until - zx_clock_get_monotonic()) / ZX_MSEC(1));
        result = ktap_run_one(name, &skip_reason);
        runs++;
        ktap_set_diag(name, true);  // the first run's diagnostics are enough
    } while (result == KTAP_PASSED && tk_before(until - ZX_MSEC(least_ms)));
    ktap_set_diag(name, false);
    if (result == KTAP_SKIPPED) {
        ktap_diag("skipped: %s", skip_reason);
    } else if (result == KTAP_NO_SUCH_CASE) {
        ktap_diag("no such case");
    }
    ktap_diag("%llu run%s, %s", (unsigned long long)runs, runs == 1 ? "" : "s",
              result == KTAP_PASSED ? "all passed" : "stopped");
    return (int)result;
}

static zx_status_t start_runner(struct runner *r, size_t scale) {
    char run[80], ms[32], scaled[32];
    snprintf(run, sizeof(run), "run=%s", r->name);
    snprintf(ms, sizeof(ms), "ms=%lld", (long long)tk_round_ms());
    snprintf(scaled, sizeof(scaled), "scale=%zu", scale);
    const char *args[] = {run, ms, scaled};
    zx_status_t status = zx_job_create(zx_job_default(), 0, &r->job);
    if (status != ZX_OK) {
        return status;
    }
    status = tk_spawn(r->job, STRESS_PATH, args, 3, ZX_HANDLE_INVALID, &r->proc);
    if (status != ZX_OK) {
        zx_handle_close(r->job);
    }
    return status;
}

// Prints the result of a runner that ended (or is killed now, when `ended` is false: it ran
// `late_ms` past its round), and frees it. Returns true if the case failed.
static bool finish_runner(struct runner *r, bool ended, int64_t late_ms) {
    if (!ended) {
        zx_task_kill(r->job);
        wait_ms(r->proc, ZX_PROCESS_TERMINATED, DEATH_MS);
    }
    int64_t code = return_code(r->proc);
    zx_handle_close(r->proc);
    zx_task_kill(r->job);
    zx_handle_close(r->job);
    if (ended && code == KTAP_PASSED) {
        printf("ok %zu %s\n", r->index + 1, r->name);
        return false;
    }
    if (ended && code == KTAP_SKIPPED) {
        printf("ok %zu %s # SKIP skipped by the case (see its diagnostic)\n", r->index + 1,
               r->name);
        return false;
    }
    if (!ended) {
        printf("# %s: still running %lld ms after its time was up: killed\n", r->name,
               (long long)late_ms);
    } else {
        printf("# %s: runner exited with %lld\n", r->name, (long long)code);
    }
    printf("not ok %zu %s\n", r->index + 1, r->name);
    return true;
}

// Starts runners[0..n), waits for all of them (each gets its round plus JOIN_MS * 3 scaled by
// n, or plus another round if that is longer), prints their results as they end. Returns the
// number of failed cases.
static size_t run_batch(struct runner *runners, size_t n) {
    size_t failed = 0;
    bool live[MAX_CASES];
    // A case's last run may end its round with slow clean-up (unmapping 32,768 mappings
    // takes a minute under TCG): only a runner late by a whole round more is taken as hung.
    int64_t late_ms = JOIN_MS * 3 * (int64_t)n;
    if (late_ms < tk_round_ms()) {
        late_ms = tk_round_ms();
    }
    for (size_t i = 0; i < n; i++) {
        zx_status_t status = start_runner(&runners[i], n);
        live[i] = status == ZX_OK;
        if (!live[i]) {
            printf("# %s: could not start its runner: %d\nnot ok %zu %s\n", runners[i].name,
                   status, runners[i].index + 1, runners[i].name);
            failed++;
        }
    }
    zx_time_t start = zx_clock_get_monotonic();
    zx_time_t deadline = start + ZX_MSEC(tk_round_ms() + late_ms);
    zx_time_t next_progress = start + ZX_MSEC(PROGRESS_MS);
    size_t running = n - failed;
    while (running > 0) {
        bool late = !tk_before(deadline);
        for (size_t i = 0; i < n; i++) {
            if (!live[i]) {
                continue;
            }
            bool ended = wait_ms(runners[i].proc, ZX_PROCESS_TERMINATED, 0) == ZX_OK;
            if (ended || late) {
                failed += finish_runner(&runners[i], ended, late_ms);
                live[i] = false;
                running--;
            }
        }
        if (running > 0 && !tk_before(next_progress)) {
            printf("# parallel: %zu of %zu cases running after %lld s\n", running, n,
                   (long long)((zx_clock_get_monotonic() - start) / ZX_SEC(1)));
            next_progress += ZX_MSEC(PROGRESS_MS);
        }
        zx_nanosleep(zx_deadline_after(ZX_MSEC(50)));
    }
    return failed;
}

int stress_run_parallel(const char *only, const char *skip) {
    static struct runner shared[MAX_CASES], exclusive[MAX_CASES];
    size_t count = ktap_case_count(), nshared = 0, nexclusive = 0;
    printf("KTAP version 1\n1..%zu\n", count);
    for (size_t i = 0; i < count && i < MAX_CASES; i++) {
        const char *name = ktap_case_name(i);
        if (!ktap_selected(only, skip, name)) {
            printf("ok %zu %s # SKIP not selected\n", i + 1, name);
        } else if (ktap_listed(EXCLUSIVE_CASES, name)) {
            exclusive[nexclusive++] = (struct runner){.index = i, .name = name};
        } else {
            shared[nshared++] = (struct runner){.index = i, .name = name};
        }
    }
    printf("# parallel: %zu cases at once for %lld ms, then %zu alone\n", nshared,
           (long long)tk_round_ms(), nexclusive);
    size_t failed = run_batch(shared, nshared);
    for (size_t i = 0; i < nexclusive; i++) {
        failed += run_batch(&exclusive[i], 1);
    }
    printf("# stress-tests: %zu passed, %zu failed\n", count - failed, failed);
    return failed == 0 ? 0 : 1;
}
