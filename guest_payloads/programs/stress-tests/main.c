// stress-tests: races and limits in the kernel, one KTAP case each (ulib's <ktap.h>). Every
// case runs its racing threads (zx_thread_create/zx_thread_start in this process) or child
// processes for one round, checks Zircon's documented outcome of every call, and ends by
// checking that the kernel still works (STRESS_KERNEL_SANE). guest_payloads/README.md
// "stress-tests" lists the cases.
//
// Arguments (userboot.next=bin/stress-tests+ARG+ARG..., or environment words stress.KEY=V on
// the kernel command line):
//   seconds=N     each case's round lasts N seconds (default: 100 ms)
//   ms=N          each case's round lasts N milliseconds
//   case=A,B      run only these cases (the others are reported as skipped)
//   skip=A,B      do not run these cases (reported as skipped)
//   parallel=1    run the cases at the same time, each repeated for its round in a child
//                 process of its own (parallel.c); the memory-exhausting ones alone after
//   child=MODE    internal: the child process modes the cases spawn
//   scale=N       waits for work to finish may take N times as long (parallel mode's
//                 children: N is the number of cases running at once)
//   run=NAME      internal: parallel mode's child, running case NAME for a round
#include <stdio.h>
#include <string.h>

#include "stress.h"

uint64_t stress_seed(uint64_t salt) {
    uint64_t seed = 0;
    zx_cprng_draw(&seed, sizeof(seed));
    return seed ^ salt ^ (uint64_t)zx_clock_get_monotonic();
}

zx_status_t stress_run_child(const char *mode, int64_t ms, int64_t *code) {
    char arg[48], scale[32];
    snprintf(arg, sizeof(arg), "child=%s", mode);
    snprintf(scale, sizeof(scale), "scale=%lld", (long long)tk_time_scale());
    const char *args[] = {arg, scale};  // the child's waits stretch as ours do
    zx_handle_t job, proc;
    zx_status_t status = zx_job_create(zx_job_default(), 0, &job);
    if (status != ZX_OK) {
        return status;
    }
    status = tk_spawn(job, STRESS_PATH, args, 2, ZX_HANDLE_INVALID, &proc);
    if (status == ZX_OK) {
        status = wait_ms(proc, ZX_PROCESS_TERMINATED, ms);
        if (status != ZX_OK) {
            zx_task_kill(proc);
            wait_ms(proc, ZX_PROCESS_TERMINATED, DEATH_MS);
        }
        *code = return_code(proc);
        zx_handle_close(proc);
    }
    zx_task_kill(job);
    zx_handle_close(job);
    return status;
}

zx_status_t stress_round(const stress_worker *workers, int n, void *arg, volatile uint64_t *stop) {
    struct tk_thread threads[8];
    zx_status_t result = ZX_OK;
    int started = 0;
    for (; started < n && started < 8; started++) {
        result = tk_thread_start(&threads[started], "stress-worker", workers[started], arg);
        if (result != ZX_OK) {
            break;
        }
    }
    if (result == ZX_OK) {
        zx_nanosleep(tk_round_deadline());
    }
    tk_store(stop, 1);
    for (int i = 0; i < started; i++) {
        zx_status_t status = tk_thread_join(&threads[i], JOIN_MS);
        if (result == ZX_OK) {
            result = status;
        }
    }
    return result;
}

int main(int argc, char **argv) {
    uint64_t value;
    const char *scale = tk_arg(argc, argv, "stress", "scale");
    if (scale != NULL && tk_parse_u64(scale, &value)) {
        tk_set_time_scale((int64_t)value);
    }
    if (argc > 1 && strncmp(argv[1], "child=", 6) == 0) {
        const char *mode = argv[1] + 6;
        if (strcmp(mode, "exit") == 0) {
            return 0;  // 08-procbuilder.c: a program to start and kill
        }
        if (strcmp(mode, "deep-vmar") == 0) {
            return child_deep_vmar();
        }
        if (strcmp(mode, "kill-threads") == 0) {
            return child_kill_threads();
        }
        if (strcmp(mode, "churn") == 0) {
            return child_churn();
        }
        if (strcmp(mode, "resize-map") == 0) {
            return child_resize_map();
        }
        if (strcmp(mode, "tlb-reader") == 0) {
            return child_tlb_reader();
        }
        printf("stress-tests: unknown child mode %s\n", mode);
        return 2;
    }
    const char *seconds = tk_arg(argc, argv, "stress", "seconds");
    const char *ms = tk_arg(argc, argv, "stress", "ms");
    if (seconds != NULL && tk_parse_u64(seconds, &value)) {
        tk_set_round_ms((int64_t)value * 1000);
    } else if (ms != NULL && tk_parse_u64(ms, &value)) {
        tk_set_round_ms((int64_t)value);
    }
    const char *run = tk_arg(argc, argv, "stress", "run");
    if (run != NULL) {
        return stress_run_repeated(run);
    }
    const char *only = tk_arg(argc, argv, "stress", "case");
    const char *skip = tk_arg(argc, argv, "stress", "skip");
    const char *parallel = tk_arg(argc, argv, "stress", "parallel");
    if (parallel != NULL && strcmp(parallel, "0") != 0) {
        printf("stress-tests: %lld ms per case, in parallel%s%s\n", (long long)tk_round_ms(),
               only != NULL ? ", cases " : "", only != NULL ? only : "");
        return stress_run_parallel(only, skip);
    }
    printf("stress-tests: %lld ms per case%s%s\n", (long long)tk_round_ms(),
           only != NULL ? ", cases " : "", only != NULL ? only : "");
    return ktap_main_filter("stress-tests", only, skip);
}
