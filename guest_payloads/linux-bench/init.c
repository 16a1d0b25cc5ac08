// linux-bench: the Linux counterpart of bin/microbench, run as a static /init by
// scripts/linux_baseline (see there). Every figure is printed as
//
//   linuxbench: <name> <ns per operation> ns (<iterations> iterations)
//
// from clock_gettime(CLOCK_MONOTONIC); then the machine powers off (reboot(RB_POWER_OFF)).
// The rows and their microbench counterparts (scripts/linux_baseline pairs them):
//
//   getppid               null_syscall
//   fork_exit_wait        process_lifecycle: fork, the child _exit(0)s, waitpid
//   spawn_exit_wait       process_lifecycle: posix_spawn of /exit0 (a tiny static binary that
//                         only exits) + waitpid
//   pipe_round_trip       channel_round_trip: write 64 bytes to a pipe + read them, one thread
//   eventfd_write_read    port_queue_wait: eventfd write + read, one thread
//   futex_round_trip      futex_round_trip: FUTEX_WAKE + FUTEX_WAIT each way, two threads
//   socketpair_round_trip socket_round_trip: 64 bytes through an AF_UNIX stream socketpair
//   pipe_call_round_trip  channel_call_round_trip: 64-byte request through one pipe to a
//                         server thread, which reads it and writes it back through another
//
// Built twice from this file: `/init` normally and `/exit0` with -DEXIT0 -nostdlib (only its
// _start, which exits 0).
#ifdef EXIT0
void _start(void) {
#if defined(__x86_64__)
    __asm__ volatile("mov $60, %eax\n xor %edi, %edi\n syscall");
#elif defined(__aarch64__)
    __asm__ volatile("mov x8, #93\n mov x0, #0\n svc #0");
#else
#error unsupported architecture
#endif
    for (;;) {
    }
}
#else
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NULL_SYSCALL_ITERATIONS 10000
#define PROCESS_ITERATIONS 20
#define PIPE_ITERATIONS 2000
#define EVENTFD_ITERATIONS 2000
#define FUTEX_ITERATIONS 1000
#define SOCKET_ITERATIONS 2000
#define CALL_ITERATIONS 1000

extern char **environ;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void report(const char *name, int64_t start, int iterations) {
    int64_t total = now_ns() - start;
    printf("linuxbench: %s %lld ns (%d iterations)\n", name, (long long)(total / iterations),
           iterations);
    fflush(stdout);
}

static int fail(const char *what) {
    printf("linuxbench: error: %s failed: %m\n", what);
    fflush(stdout);
    return 1;
}

static int bench_processes(void) {
    int64_t start = now_ns();
    for (int i = 0; i < PROCESS_ITERATIONS; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            _exit(0);
        }
        int status;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || status != 0) {
            return fail("fork_exit_wait");
        }
    }
    report("fork_exit_wait", start, PROCESS_ITERATIONS);
    char *argv[] = {"/exit0", NULL};
    start = now_ns();
    for (int i = 0; i < PROCESS_ITERATIONS; i++) {
        pid_t pid;
        int status;
        if (posix_spawn(&pid, "/exit0", NULL, NULL, argv, environ) != 0 ||
            waitpid(pid, &status, 0) != pid || status != 0) {
            return fail("spawn_exit_wait");
        }
    }
    report("spawn_exit_wait", start, PROCESS_ITERATIONS);
    return 0;
}

// `iterations` times: write `size` bytes of `buf` to `out` and read them back from `in`, one
// thread; reports `name` and closes both descriptors.
static int write_read(const char *name, int out, int in, void *buf, size_t size,
                      int iterations) {
    int64_t start = now_ns();
    for (int i = 0; i < iterations; i++) {
        if (write(out, buf, size) != (ssize_t)size || read(in, buf, size) != (ssize_t)size) {
            return fail(name);
        }
    }
    report(name, start, iterations);
    close(out);
    if (in != out) {
        close(in);
    }
    return 0;
}

static int bench_pipe(void) {
    int fds[2];
    char buf[64] = {0};
    if (pipe(fds) != 0) {
        return fail("pipe");
    }
    return write_read("pipe_round_trip", fds[1], fds[0], buf, sizeof(buf), PIPE_ITERATIONS);
}

static int bench_eventfd(void) {
    int fd = eventfd(0, 0);
    if (fd < 0) {
        return fail("eventfd");
    }
    uint64_t value = 1;
    return write_read("eventfd_write_read", fd, fd, &value, sizeof(value), EVENTFD_ITERATIONS);
}

static atomic_int turn;  // 0: the main thread's turn, 1: the partner's

static long futex(atomic_int *word, int op, int value) {
    return syscall(SYS_futex, word, op, value, NULL, NULL, 0);
}

static void *futex_partner(void *arg) {
    (void)arg;
    for (int i = 0; i < FUTEX_ITERATIONS; i++) {
        while (atomic_load(&turn) != 1) {
            futex(&turn, FUTEX_WAIT_PRIVATE, 0);
        }
        atomic_store(&turn, 0);
        futex(&turn, FUTEX_WAKE_PRIVATE, 1);
    }
    return NULL;
}

static int bench_futex(void) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, futex_partner, NULL) != 0) {
        return fail("pthread_create");
    }
    int64_t start = now_ns();
    for (int i = 0; i < FUTEX_ITERATIONS; i++) {
        atomic_store(&turn, 1);
        futex(&turn, FUTEX_WAKE_PRIVATE, 1);
        while (atomic_load(&turn) != 0) {
            futex(&turn, FUTEX_WAIT_PRIVATE, 1);
        }
    }
    report("futex_round_trip", start, FUTEX_ITERATIONS);
    return pthread_join(thread, NULL) == 0 ? 0 : fail("pthread_join");
}

static int bench_socketpair(void) {
    int fds[2];
    char buf[64] = {0};
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
        return fail("socketpair");
    }
    return write_read("socketpair_round_trip", fds[0], fds[1], buf, sizeof(buf),
                      SOCKET_ITERATIONS);
}

static int requests[2], replies[2];

static void *call_server(void *arg) {
    (void)arg;
    char buf[64];
    ssize_t n;
    while ((n = read(requests[0], buf, sizeof(buf))) > 0 && write(replies[1], buf, n) == n) {
    }
    return NULL;
}

static int bench_call(void) {
    pthread_t thread;
    if (pipe(requests) != 0 || pipe(replies) != 0) {
        return fail("pipe");
    }
    if (pthread_create(&thread, NULL, call_server, NULL) != 0) {
        return fail("pthread_create");
    }
    char wr[64] = {0}, rd[64];
    int64_t start = now_ns();
    for (int i = 0; i < CALL_ITERATIONS; i++) {
        if (write(requests[1], wr, sizeof(wr)) != sizeof(wr) ||
            read(replies[0], rd, sizeof(rd)) != sizeof(rd)) {
            return fail("pipe_call_round_trip");
        }
    }
    report("pipe_call_round_trip", start, CALL_ITERATIONS);
    close(requests[1]);  // the server reads EOF and ends
    return pthread_join(thread, NULL) == 0 ? 0 : fail("pthread_join");
}

static int run(void) {
    int64_t start = now_ns();
    for (int i = 0; i < NULL_SYSCALL_ITERATIONS; i++) {
        getppid();
    }
    report("getppid", start, NULL_SYSCALL_ITERATIONS);
    int (*const benches[])(void) = {bench_processes, bench_pipe, bench_eventfd,
                                     bench_futex, bench_socketpair, bench_call};
    for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
        if (benches[i]() != 0) {
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    // The kernel hands unknown command-line words to /init as arguments (`nokaslr` among
    // them); `linuxbench_poweroff` asks for the boot-to-power-off run.
    int poweroff_only = 0;
    for (int i = 1; i < argc; i++) {
        poweroff_only |= strcmp(argv[i], "linuxbench_poweroff") == 0;
    }
    int status = poweroff_only ? 0 : run();
    printf("linuxbench: done (status %d)\n", status);
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    return fail("reboot");  // as pid 1 this panics the kernel: the run fails loudly
}
#endif
