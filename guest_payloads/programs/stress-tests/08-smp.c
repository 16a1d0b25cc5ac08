// Cases for several CPUs (they pass on one CPU too, where preemption interleaves the threads):
// threads that spin in parallel, a TLB shootdown seen by a reader on another CPU, killing a
// thread while it runs (on another CPU when there is one), a futex ping-pong between threads,
// job kills whose processes' threads run on other CPUs (the termination order).
#include <zhb-arch.h>
#include <zircon/syscalls/object.h>
#include <zircon/syscalls/port.h>

#include "machine-code.h"
#include "stress.h"

// ---- two spinning threads both make progress ------------------------------------------------

struct spinners {
    volatile uint64_t stop;
    volatile uint64_t count[2];
};

static void spin_worker(struct spinners *s, int i) {
    while (!tk_load(&s->stop)) {
        tk_add(&s->count[i], 1);  // no syscall: only the scheduler (or another CPU) interleaves
    }
}

static void spin_worker0(void *arg) {
    spin_worker(arg, 0);
}

static void spin_worker1(void *arg) {
    spin_worker(arg, 1);
}

KTAP_CASE(spinning_threads_both_progress) {
    static struct spinners s;
    s = (struct spinners){0};
    static const stress_worker workers[] = {spin_worker0, spin_worker1};
    KTAP_EXPECT_OK(stress_round(workers, 2, &s, &s.stop));
    ktap_diag("spins: %llu and %llu", (unsigned long long)s.count[0],
              (unsigned long long)s.count[1]);
    KTAP_EXPECT_TRUE(s.count[0] > 0 && s.count[1] > 0);
    STRESS_KERNEL_SANE();
}

// ---- TLB shootdown: a reader on another CPU faults at once after the unmap -----------------

// Report words the tlb-reader child shares with us.
enum { TLB_READS, TLB_READS_AFTER_UNMAP, TLB_BAD_VALUE, TLB_UNMAPPED, TLB_WORDS };
#define TLB_MAGIC 0x746c6273686f6f74ull  // "tlbshoot"

struct tlb_reader {
    volatile uint64_t *report;
    volatile const uint64_t *page;
};

// Reads the page forever. Once it has seen TLB_UNMAPPED (set after zx_vmar_unmap returned),
// a read that still succeeds came through a stale translation: counted, and then it dies.
static void tlb_read_loop(void *arg) {
    struct tlb_reader *r = arg;
    for (;;) {
        uint64_t unmapped = tk_load(&r->report[TLB_UNMAPPED]);
        uint64_t v = *r->page;
        if (v != TLB_MAGIC) {
            tk_add(&r->report[TLB_BAD_VALUE], 1);
        }
        if (unmapped) {
            tk_add(&r->report[TLB_READS_AFTER_UNMAP], 1);
        }
        tk_add(&r->report[TLB_READS], 1);
    }
}

int child_tlb_reader(void) {
    zx_handle_t report_vmo = tk_report_vmo(), page_vmo;
    zx_vaddr_t report_addr, page_addr;
    if (zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, report_vmo, 0,
                    TK_PAGE, &report_addr) != ZX_OK ||
        zx_vmo_create(TK_PAGE, 0, &page_vmo) != ZX_OK ||
        zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, page_vmo, 0,
                    TK_PAGE, &page_addr) != ZX_OK) {
        return 10;
    }
    *(volatile uint64_t *)page_addr = TLB_MAGIC;
    static struct tlb_reader r;
    r = (struct tlb_reader){(volatile uint64_t *)report_addr, (volatile uint64_t *)page_addr};
    static struct tk_thread reader;
    if (tk_thread_start(&reader, "tlb-reader", tlb_read_loop, &r) != ZX_OK) {
        return 11;
    }
    while (tk_load(&r.report[TLB_READS]) < 1000) {  // the reader runs (and caches the page)
    }
    if (zx_vmar_unmap(zx_vmar_root_self(), page_addr, TK_PAGE) != ZX_OK) {
        return 12;
    }
    tk_store(&r.report[TLB_UNMAPPED], 1);
    zx_nanosleep(zx_deadline_after(ZX_MSEC(DEATH_MS)));  // the reader's fault kills us first
    return 13;
}

KTAP_CASE(tlb_shootdown_reader_faults) {
    zx_time_t deadline = tk_round_deadline();
    int rounds = 0;
    do {
        zx_handle_t report, job, proc;
        zx_vaddr_t addr;
        KTAP_ASSERT_OK(zx_vmo_create(TK_PAGE, 0, &report));
        KTAP_ASSERT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0,
                                   report, 0, TK_PAGE, &addr));
        volatile uint64_t *words = (volatile uint64_t *)addr;
        KTAP_ASSERT_OK(zx_job_create(zx_job_default(), 0, &job));
        const char *args[] = {"child=tlb-reader"};
        if (KTAP_EXPECT_OK(tk_spawn(job, STRESS_PATH, args, 1, report, &proc))) {
            KTAP_EXPECT_OK(wait_ms(proc, ZX_PROCESS_TERMINATED, 2 * DEATH_MS));
            KTAP_EXPECT_EQ(return_code(proc), ZX_TASK_RETCODE_EXCEPTION_KILL);
            KTAP_EXPECT_EQ(words[TLB_READS_AFTER_UNMAP], 0);
            KTAP_EXPECT_EQ(words[TLB_BAD_VALUE], 0);
            KTAP_EXPECT_TRUE(words[TLB_READS] >= 1000);
            zx_handle_close(proc);
        }
        zx_task_kill(job);
        zx_handle_close(job);
        zx_vmar_unmap(zx_vmar_root_self(), addr, TK_PAGE);
        zx_handle_close(report);
        rounds++;
    } while (tk_before(deadline));
    ktap_diag("%d readers faulted after the unmap", rounds);
    STRESS_KERNEL_SANE();
}

// ---- kill a thread while it runs ----------------------------------------------------------

static void spin_forever(void *arg) {
    volatile uint64_t *count = arg;
    for (;;) {
        tk_add(count, 1);
    }
}

KTAP_CASE(kill_running_thread) {
    zx_time_t deadline = tk_round_deadline();
    int rounds = 0;
    zx_duration_t latency_sum = 0, latency_max = 0;
    do {
        static volatile uint64_t count;
        tk_store(&count, 0);
        struct tk_thread t;
        KTAP_ASSERT_OK(tk_thread_start(&t, "spinner", spin_forever, (void *)&count));
        while (tk_load(&count) < 100) {  // it runs: on another CPU when there is one
            zx_nanosleep(0);
        }
        zx_time_t killed_at = zx_clock_get_monotonic();
        KTAP_EXPECT_OK(zx_task_kill(t.handle));
        zx_duration_t latency = -1;
        while (wait_ms(t.handle, ZX_THREAD_TERMINATED, 0) != ZX_OK) {
            if (zx_clock_get_monotonic() - killed_at > ZX_MSEC(DEATH_MS)) {
                break;
            }
            zx_nanosleep(0);  // one CPU: let the victim run into its kill
        }
        latency = zx_clock_get_monotonic() - killed_at;
        KTAP_EXPECT_OK(wait_ms(t.handle, ZX_THREAD_TERMINATED, 0));
        latency_sum += latency;
        latency_max = latency > latency_max ? latency : latency_max;
        uint64_t after = tk_load(&count);
        zx_nanosleep(zx_deadline_after(ZX_MSEC(2)));
        KTAP_EXPECT_EQ(tk_load(&count), after);  // dead: it counts no more
        KTAP_EXPECT_OK(tk_thread_join(&t, DEATH_MS));
        rounds++;
    } while (tk_before(deadline));
    // From zx_task_kill to the wait seeing ZX_THREAD_TERMINATED (a figure of this run's host).
    ktap_diag("%d running threads killed; kill to terminated: mean %lld us, max %lld us", rounds,
              (long long)(latency_sum / rounds / 1000), (long long)(latency_max / 1000));
    STRESS_KERNEL_SANE();
}

// ---- futex ping-pong ------------------------------------------------------------------------

struct pingpong {
    volatile uint64_t stop;
    zx_futex_t turn;  // 0: ping's turn, 1: pong's
    volatile uint64_t exchanges;
    struct tk_failure fail;
};

// Waits until it is `mine`'s turn, then hands the turn over and wakes the other side.
static void pingpong_side(struct pingpong *p, int mine) {
    while (!tk_load(&p->stop)) {
        int cur = __atomic_load_n(&p->turn, __ATOMIC_ACQUIRE);
        if (cur != mine) {
            zx_status_t st = zx_futex_wait(&p->turn, cur, ZX_HANDLE_INVALID,
                                           zx_deadline_after(ZX_MSEC(5)));
            if (st != ZX_OK && st != ZX_ERR_BAD_STATE && st != ZX_ERR_TIMED_OUT) {
                TK_FAIL(&p->fail, "zx_futex_wait", st, cur);
            }
            continue;
        }
        __atomic_store_n(&p->turn, !mine, __ATOMIC_RELEASE);
        tk_add(&p->exchanges, 1);
        zx_status_t st = zx_futex_wake(&p->turn, 1);
        if (st != ZX_OK) {
            TK_FAIL(&p->fail, "zx_futex_wake", st, 0);
        }
    }
    zx_futex_wake(&p->turn, 1);  // let the other side see `stop`
}

static void ping(void *arg) {
    pingpong_side(arg, 0);
}

static void pong(void *arg) {
    pingpong_side(arg, 1);
}

KTAP_CASE(futex_ping_pong) {
    static struct pingpong p;
    p = (struct pingpong){0};
    static const stress_worker workers[] = {ping, pong};
    KTAP_EXPECT_OK(stress_round(workers, 2, &p, &p.stop));
    ktap_diag("%llu exchanges", (unsigned long long)p.exchanges);
    KTAP_EXPECT_TRUE(p.exchanges > 10);
    tk_report(&p.fail, __FILE__);
    STRESS_KERNEL_SANE();
}

// ---- job kill: threads, then processes, then jobs terminate --------------------------------

// job -> subjob -> process A (ORDER_THREADS spinning threads); job -> process B (one thread).
// Every termination signal is watched through one port: packets are queued as the signals
// rise, so their order is the kernel's order.
#define ORDER_THREADS 3  // order_setup watches A's first thread and extra[0..1]
enum { ORDER_JOB, ORDER_SUBJOB, ORDER_PROC_A, ORDER_PROC_B, ORDER_THREAD_B, ORDER_THREAD_A,
       ORDER_KEYS = ORDER_THREAD_A + ORDER_THREADS };

struct order_round {
    zx_handle_t job, subjob, port;
    struct child a, b;
    zx_handle_t extra[ORDER_THREADS - 1];  // A's threads besides its first
    int pos[ORDER_KEYS];                   // arrival index of each key's packet, -1: none
};

// Starts another thread of `c` at its spinning code (it touches no stack).
static zx_status_t order_extra_thread(struct child *c, zx_handle_t *thread) {
    zx_status_t st = zx_thread_create(c->proc, "order-spin", 10, 0, thread);
    if (st == ZX_OK) {
        st = zx_thread_start(*thread, c->code, zhb_initial_sp(c->code + CHILD_PAGE_SIZE), 0, 0);
    }
    return st;
}

static zx_status_t order_watch(struct order_round *r, zx_handle_t h, zx_signals_t signal,
                               uint64_t key) {
    return zx_object_wait_async(h, r->port, key, signal, 0);
}

// Builds the tree, starts everything and watches every termination signal.
static zx_status_t order_setup(struct order_round *r) {
    static const uint8_t spin[] = MC_SPIN;
    zx_status_t st;
    if ((st = zx_job_create(r->job, 0, &r->subjob)) != ZX_OK ||
        (st = child_create(r->subjob, "order-a", spin, sizeof(spin), false, &r->a)) != ZX_OK ||
        (st = child_create(r->job, "order-b", spin, sizeof(spin), false, &r->b)) != ZX_OK ||
        (st = child_start(&r->a, 0)) != ZX_OK || (st = child_start(&r->b, 0)) != ZX_OK) {
        return st;
    }
    for (int i = 0; i < ORDER_THREADS - 1; i++) {
        if ((st = order_extra_thread(&r->a, &r->extra[i])) != ZX_OK) {
            return st;
        }
    }
    const struct {
        zx_handle_t h;
        zx_signals_t signal;
    } watch[ORDER_KEYS] = {
        [ORDER_JOB] = {r->job, ZX_JOB_TERMINATED},
        [ORDER_SUBJOB] = {r->subjob, ZX_JOB_TERMINATED},
        [ORDER_PROC_A] = {r->a.proc, ZX_PROCESS_TERMINATED},
        [ORDER_PROC_B] = {r->b.proc, ZX_PROCESS_TERMINATED},
        [ORDER_THREAD_B] = {r->b.thread, ZX_THREAD_TERMINATED},
        [ORDER_THREAD_A] = {r->a.thread, ZX_THREAD_TERMINATED},
        [ORDER_THREAD_A + 1] = {r->extra[0], ZX_THREAD_TERMINATED},
        [ORDER_THREAD_A + 2] = {r->extra[1], ZX_THREAD_TERMINATED},
    };
    for (uint64_t key = 0; key < ORDER_KEYS; key++) {
        if ((st = order_watch(r, watch[key].h, watch[key].signal, key)) != ZX_OK) {
            return st;
        }
    }
    return ZX_OK;
}

// Reads the queued packets into r->pos; false if one is missing or unexpected.
static bool order_collect(struct order_round *r) {
    for (int k = 0; k < ORDER_KEYS; k++) {
        r->pos[k] = -1;
    }
    zx_port_packet_t pkt;
    for (int n = 0; zx_port_wait(r->port, 0, &pkt) == ZX_OK; n++) {
        if (pkt.type != ZX_PKT_TYPE_SIGNAL_ONE || pkt.key >= ORDER_KEYS || r->pos[pkt.key] >= 0) {
            return false;
        }
        r->pos[pkt.key] = n;
    }
    for (int k = 0; k < ORDER_KEYS; k++) {
        if (r->pos[k] < 0) {
            return false;
        }
    }
    return true;
}

// Zircon's order: a process terminates after its threads, a job after its processes and
// child jobs.
static bool order_right(const struct order_round *r) {
    const int *p = r->pos;
    for (int i = 0; i < ORDER_THREADS; i++) {
        if (p[ORDER_THREAD_A + i] > p[ORDER_PROC_A]) {
            return false;
        }
    }
    return p[ORDER_PROC_A] < p[ORDER_SUBJOB] && p[ORDER_SUBJOB] < p[ORDER_JOB] &&
           p[ORDER_THREAD_B] < p[ORDER_PROC_B] && p[ORDER_PROC_B] < p[ORDER_JOB];
}

static void order_teardown(struct order_round *r) {
    child_destroy(&r->a);
    child_destroy(&r->b);
    for (int i = 0; i < ORDER_THREADS - 1; i++) {
        zx_handle_close(r->extra[i]);
    }
    zx_handle_close(r->subjob);
    zx_handle_close(r->port);
    zx_handle_close(r->job);
}

// A job whose processes' threads spin (on the other CPUs when there are several) is killed,
// now at once, now up to 2 ms after the start: when the wait for ZX_JOB_TERMINATED returns,
// the child job and both processes are already terminated (a zero-deadline wait sees it), the
// port got every thread's, process's and job's signal in that order, and the processes' return
// code is ZX_TASK_RETCODE_SYSCALL_KILL.
KTAP_CASE(job_kill_terminates_children_first) {
    uint64_t seed = stress_seed(0x6f72646572ull);
    zx_time_t deadline = tk_round_deadline();
    int rounds = 0, misordered = 0;
    do {
        struct order_round r = {0};
        KTAP_ASSERT_OK(zx_job_create(zx_job_default(), 0, &r.job));
        KTAP_ASSERT_OK(zx_port_create(0, &r.port));
        if (KTAP_EXPECT_OK(order_setup(&r))) {
            zx_nanosleep(zx_deadline_after(ZX_USEC(500 * tk_below(&seed, 5))));
            KTAP_EXPECT_OK(zx_task_kill(r.job));
            KTAP_EXPECT_OK(wait_ms(r.job, ZX_JOB_TERMINATED, DEATH_MS));
            KTAP_EXPECT_OK(wait_ms(r.subjob, ZX_JOB_TERMINATED, 0));
            KTAP_EXPECT_OK(wait_ms(r.a.proc, ZX_PROCESS_TERMINATED, 0));
            KTAP_EXPECT_OK(wait_ms(r.b.proc, ZX_PROCESS_TERMINATED, 0));
            KTAP_EXPECT_EQ(return_code(r.a.proc), ZX_TASK_RETCODE_SYSCALL_KILL);
            KTAP_EXPECT_EQ(return_code(r.b.proc), ZX_TASK_RETCODE_SYSCALL_KILL);
            bool complete = order_collect(&r);
            KTAP_EXPECT_TRUE(complete);
            if (complete && !order_right(&r) && misordered++ == 0) {
                ktap_diag("round %d: packet order job %d subjob %d proc-a %d proc-b %d "
                          "thread-b %d threads-a %d %d %d", rounds, r.pos[ORDER_JOB],
                          r.pos[ORDER_SUBJOB], r.pos[ORDER_PROC_A], r.pos[ORDER_PROC_B],
                          r.pos[ORDER_THREAD_B], r.pos[ORDER_THREAD_A],
                          r.pos[ORDER_THREAD_A + 1], r.pos[ORDER_THREAD_A + 2]);
            }
        }
        order_teardown(&r);
        rounds++;
    } while (tk_before(deadline));
    ktap_diag("%d jobs killed, %d out of order", rounds, misordered);
    KTAP_EXPECT_EQ(misordered, 0);
    STRESS_KERNEL_SANE();
}
