// bin/syscall-fuzz: calls every syscall of syscalls/zircon.syscalls through the vDSO with
// hostile arguments, from throwaway child processes, and checks that the kernel survives.
//
// The table of syscalls and argument kinds is generated (tools/sysgen.py ->
// $(OUT)/gen/syscall-fuzz-table.inc), so a new syscall is fuzzed as soon as it is defined.
// The parent (one KTAP case, `syscall_fuzz`) prints `syscall-fuzz: seed=0x...`, then starts
// `syscall-fuzz child seed=S chunk=K calls=N` in a fresh job for chunk after chunk until the
// requested number of calls is made. A child builds a pool of objects (events, event pairs,
// channels, VMOs, a VMAR, a job, an unstarted process and thread), then makes N calls, each
// to a random syscall with arguments drawn per kind: pool, invalid, stale, random and
// bit-flipped handles; NULL, unaligned, unmapped, page-crossing, vDSO, code, kernel-half,
// non-canonical and random pointers; zero, small, page, huge and random sizes; random
// options; past, near and (non-blocking calls only) infinite deadlines. It records progress
// and per-status counts in a report VMO it shares with the parent. A child may die (it can
// kill itself with the handles it is given): the parent then goes on with the next chunk. A
// child that does not finish in time, a kernel panic, or a kernel that fails the final
// sanity check fails the run.
//
// Chunk K's calls depend only on (seed, K): `seed=S` reproduces a run, `seed=S chunk=K`
// reruns the one chunk a failure names.
//
// Exclusions: none of the syscalls. The two that never return are made where they end only
// something disposable: zx_thread_exit on a throwaway thread of the child, zx_process_exit
// in a throwaway grandchild process (machine code calling it through its vDSO with 0).
// The root VMAR, our own process, thread and job are not in the handle pool except with 1%
// probability (then the child may destroy itself, which the parent counts).
//
// Arguments (userboot.next=bin/syscall-fuzz+ARG+..., or environment words fuzz.KEY=V):
//   seed=S        the seed (decimal or 0x hex; default: random)
//   calls=N       total calls (default 3000)
//   chunk_calls=N calls per child process (default 250)
//   chunk=K       run only chunk K of the seed's sequence
//   threads=N     fuzzing threads per child, 1-8 (default 1): they share the child's first
//                 objects, so one may close or resize what another is using; each thread's
//                 calls follow from (seed, chunk, thread), their interleaving does not
#include <ktap.h>
#include <stdio.h>
#include <string.h>
#include <zhb/runtime.h>
#include <zircon/process.h>
#include <zircon/syscalls/object.h>

#include "child.h"
#include "fuzz.h"
#include "machine-code.h"
#include "testkit.h"

ZHB_DECLARE_VDSO_OFFSET(zx_process_exit);

#define DEFAULT_CALLS 3000u
#define DEFAULT_CHUNK_CALLS 250u
#define SCRATCH_SIZE (16u * TK_PAGE)
#define POOL_MAX 48
#define POOL_LOW 16
#define STALE_MAX 64
#define CHILD_BASE_MS 5000
#define CHILD_MS_PER_CALL 20
#define MAX_DEATH_LINES 20  // children whose death is printed (all are counted)

typedef uint64_t (*fuzz_fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                            uint64_t, uint64_t);

static int g_argc;
static char **g_argv;

// ---- The child: one chunk of calls -------------------------------------------------------

struct pool {
    zx_handle_t handle[POOL_MAX];
    zx_obj_type_t type[POOL_MAX];
    int n;
    zx_handle_t stale[STALE_MAX];
    int nstale;
    zx_handle_t danger[3];  // our process, thread, job
};

struct noreturn_call {
    const struct fuzz_syscall *sc;
    uint64_t a[8];
};

// One fuzzing thread's state (a child runs `threads=N` of them; see fuzz_child).
struct fuzzer {
    struct pool pool;
    uint64_t rng;
    uint8_t *scratch;  // SCRATCH_SIZE bytes with an unmapped page on each side
    zx_vaddr_t hole;   // an unmapped page (scratch's lower guard)
    zx_vaddr_t pool_vmar_base;
    uint64_t calls;    // calls this thread makes
    bool main;         // the child's first thread: it alone reports the call in progress
    struct noreturn_call noreturn;
};

static struct fuzz_report *report;  // shared by the child's threads: counters are atomic

#define REPORT_ADD(field) __atomic_add_fetch(&(field), 1, __ATOMIC_RELAXED)

static zx_obj_type_t type_of(zx_handle_t h) {
    zx_info_handle_basic_t info = {0};
    zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL);
    return info.type;
}

static void pool_add(struct fuzzer *f, zx_handle_t h) {
    if (h == ZX_HANDLE_INVALID) {
        return;
    }
    if (f->pool.n == POOL_MAX) {
        int victim = (int)tk_below(&f->rng, POOL_MAX);
        zx_handle_close(f->pool.handle[victim]);
        f->pool.stale[f->pool.nstale++ % STALE_MAX] = f->pool.handle[victim];
        f->pool.handle[victim] = f->pool.handle[--f->pool.n];
        f->pool.type[victim] = f->pool.type[f->pool.n];
    }
    f->pool.type[f->pool.n] = type_of(h);
    f->pool.handle[f->pool.n++] = h;
}

// Drops pool handles that are no longer valid (consumed or closed by a call) to `stale`.
static void pool_revalidate(struct fuzzer *f) {
    for (int i = 0; i < f->pool.n;) {
        if (zx_object_get_info(f->pool.handle[i], ZX_INFO_HANDLE_VALID, NULL, 0, NULL, NULL) != ZX_OK) {
            if (f->pool.nstale < STALE_MAX) {
                f->pool.stale[f->pool.nstale++] = f->pool.handle[i];
            } else {
                f->pool.stale[tk_below(&f->rng, STALE_MAX)] = f->pool.handle[i];
            }
            f->pool.handle[i] = f->pool.handle[--f->pool.n];
            f->pool.type[i] = f->pool.type[f->pool.n];
        } else {
            i++;
        }
    }
}

static void pool_fill(struct fuzzer *f) {
    zx_handle_t a, b;
    while (f->pool.n < POOL_LOW) {
        switch (tk_below(&f->rng, 7)) {
            case 0:
                if (zx_event_create(0, &a) == ZX_OK) pool_add(f, a);
                break;
            case 1:
                if (zx_eventpair_create(0, &a, &b) == ZX_OK) {
                    pool_add(f, a);
                    pool_add(f, b);
                }
                break;
            case 2:
                if (zx_channel_create(0, &a, &b) == ZX_OK) {
                    pool_add(f, a);
                    pool_add(f, b);
                }
                break;
            case 3:
                if (zx_vmo_create((1 + tk_below(&f->rng, 8)) * TK_PAGE,
                                  tk_below(&f->rng, 2) ? ZX_VMO_RESIZABLE : 0, &a) == ZX_OK) {
                    pool_add(f, a);
                }
                break;
            case 4: {
                zx_vaddr_t base;
                if (zx_vmar_allocate(zx_vmar_root_self(),
                                     ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE |
                                         ZX_VM_CAN_MAP_SPECIFIC,
                                     0, 64 * TK_PAGE, &a, &base) == ZX_OK) {
                    f->pool_vmar_base = base;
                    pool_add(f, a);
                }
                break;
            }
            case 5:
                if (zx_job_create(zx_job_default(), 0, &a) == ZX_OK) pool_add(f, a);
                break;
            default:
                if (zx_process_create(zx_job_default(), "fuzzed", 6, 0, &a, &b) == ZX_OK) {
                    zx_handle_t t;
                    if (zx_thread_create(a, "fuzzed", 6, 0, &t) == ZX_OK) pool_add(f, t);
                    pool_add(f, a);
                    pool_add(f, b);
                }
                break;
        }
        if (f->pool.n == 0 && tk_below(&f->rng, 64) == 0) {
            break;  // creation keeps failing (a policy, an exhausted table): go on without
        }
    }
}

static zx_handle_t pick_handle(struct fuzzer *f, const struct fuzz_arg *arg) {
    if (arg->obj != ZX_OBJ_TYPE_NONE && tk_below(&f->rng, 2)) {
        int start = (int)tk_below(&f->rng, (uint64_t)f->pool.n + 1);
        for (int i = 0; i < f->pool.n; i++) {
            int k = (start + i) % f->pool.n;
            if (f->pool.type[k] == arg->obj) {
                return f->pool.handle[k];
            }
        }
    }
    uint64_t r = tk_below(&f->rng, 100);
    if (r < 60 && f->pool.n > 0) {
        return f->pool.handle[tk_below(&f->rng, (uint64_t)f->pool.n)];
    }
    if (r < 68) {
        return ZX_HANDLE_INVALID;
    }
    if (r < 78 && f->pool.nstale > 0) {
        return f->pool.stale[tk_below(&f->rng, (uint64_t)(f->pool.nstale < STALE_MAX ? f->pool.nstale
                                                                             : STALE_MAX))];
    }
    if (r < 85) {
        return (zx_handle_t)tk_rand(&f->rng);
    }
    if (r < 92 && f->pool.n > 0) {
        return f->pool.handle[tk_below(&f->rng, (uint64_t)f->pool.n)] ^ (1u << tk_below(&f->rng, 32));
    }
    if (r < 93) {
        return f->pool.danger[tk_below(&f->rng, 3)];
    }
    return f->pool.n > 0 ? f->pool.handle[tk_below(&f->rng, (uint64_t)f->pool.n)] : ZX_HANDLE_INVALID;
}

static const uint64_t kernel_addrs[] = {
    0xffffff8000000000ull, 0xffffffff80000000ull, 0xffffffff80100000ull, 0xffff000000000000ull,
    0xffff000040000000ull, 0xffff000040100000ull, 0xfffffffffffff000ull,
};
static const uint64_t odd_addrs[] = {
    0x0000800000000000ull, 0x00007ffffffff000ull, 0x00007fffffffffffull, 0x8000000000000000ull,
    0x0000000000001000ull, 0x0000000000fff000ull, 0xffffffffffffffffull,
};

// Fills `len` bytes at p (inside f->scratch) for an 'in' argument.
static void fill_in(struct fuzzer *f, uint8_t *p, size_t len, const struct fuzz_arg *arg) {
    if (arg->flags & FUZZ_F_HANDLES) {
        zx_handle_t *h = (zx_handle_t *)p;
        for (size_t i = 0; i < len / sizeof(zx_handle_t); i++) {
            h[i] = pick_handle(f, arg);
        }
    } else if (arg->elem == sizeof(zx_wait_item_t)) {
        zx_wait_item_t *items = (zx_wait_item_t *)p;
        static const struct fuzz_arg any = {FUZZ_HANDLE, 0, ZX_OBJ_TYPE_NONE, 0};
        for (size_t i = 0; i < len / sizeof(zx_wait_item_t); i++) {
            items[i].handle = pick_handle(f, &any);
            items[i].waitfor = tk_below(&f->rng, 2) ? (zx_signals_t)tk_rand(&f->rng)
                                                 : 1u << tk_below(&f->rng, 32);
            items[i].pending = (zx_signals_t)tk_rand(&f->rng);
        }
    } else if (arg->elem == 1 && tk_below(&f->rng, 2)) {
        for (size_t i = 0; i < len; i++) {
            p[i] = (uint8_t)"fuzz-text "[i % 10];
        }
    } else {
        for (size_t i = 0; i < len; i += 8) {
            uint64_t v = tk_rand(&f->rng);
            memcpy(p + i, &v, len - i < 8 ? len - i : 8);
        }
    }
}

// A syscall that returns nothing (zx_cprng_draw) cannot report a bad buffer: the kernel
// kills the caller. Such calls get a good pointer (and pick_size a fitting size) 95% of the
// time, or most children would die young and the fuzzer would never build up state.
static uint64_t pick_pointer(struct fuzzer *f, const struct fuzz_arg *arg, bool no_status, bool *good) {
    uint64_t r = tk_below(&f->rng, 100);
    if (no_status && r >= 45) {
        r = tk_below(&f->rng, 20) == 0 ? 45 + tk_below(&f->rng, 55) : tk_below(&f->rng, 45);
    }
    *good = false;
    if (r < 45) {
        *good = true;
        uint64_t align = arg->elem >= 8 ? 8 : (arg->elem == 0 ? 1 : arg->elem);
        uint64_t off = tk_below(&f->rng, 3) == 0 ? 0 : tk_below(&f->rng, SCRATCH_SIZE / 2) & ~(align - 1);
        uint8_t *p = f->scratch + off;
        if (arg->kind != FUZZ_OUT) {
            fill_in(f, p, 512, arg);
        }
        return (uint64_t)(uintptr_t)p;
    }
    if (r < 52) {
        return 0;
    }
    if (r < 59) {
        return (uint64_t)(uintptr_t)f->scratch + 1 + tk_below(&f->rng, 7);
    }
    if (r < 65) {
        return f->hole + tk_below(&f->rng, TK_PAGE);
    }
    if (r < 71) {
        return (uint64_t)(uintptr_t)f->scratch + SCRATCH_SIZE - 1 - tk_below(&f->rng, 64);
    }
    if (r < 76) {
        return __zhb_vdso_base + tk_below(&f->rng, 4 * TK_PAGE);
    }
    if (r < 80) {
        return (uint64_t)(uintptr_t)&pick_pointer;
    }
    if (r < 88) {
        return kernel_addrs[tk_below(&f->rng, sizeof(kernel_addrs) / sizeof(kernel_addrs[0]))] +
               tk_below(&f->rng, 2) * tk_below(&f->rng, 1u << 20);
    }
    if (r < 94) {
        return odd_addrs[tk_below(&f->rng, sizeof(odd_addrs) / sizeof(odd_addrs[0]))];
    }
    return tk_rand(&f->rng);
}

// For a syscall that cannot report errors, sizes that fit the good pointer 95% of the time.
static uint64_t pick_size(struct fuzzer *f, bool no_status) {
    static const uint64_t huge[] = {0xffffffffull, 0x100000000ull, 0x7fffffffffffffffull,
                                    0xffffffffffffffffull, 1ull << 40, 0x80000000ull};
    uint64_t r = tk_below(&f->rng, 100);
    if (no_status && r >= 62 && tk_below(&f->rng, 20) != 0) {
        r = tk_below(&f->rng, 62);
    }
    if (r < 10) return 0;
    if (r < 40) return 1 + tk_below(&f->rng, 16);
    if (r < 55) return 1 + tk_below(&f->rng, 256);
    if (r < 62) return TK_PAGE * (1 + tk_below(&f->rng, 4));
    if (r < 70) return SCRATCH_SIZE / 2 - tk_below(&f->rng, 16);
    if (r < 78) return SCRATCH_SIZE + 1 + tk_below(&f->rng, TK_PAGE);
    if (r < 90) return huge[tk_below(&f->rng, sizeof(huge) / sizeof(huge[0]))];
    return tk_rand(&f->rng) >> tk_below(&f->rng, 64);
}

static uint64_t pick_options(struct fuzzer *f) {
    uint64_t r = tk_below(&f->rng, 100);
    if (r < 30) return 0;
    if (r < 60) return 1ull << tk_below(&f->rng, 32);
    if (r < 80) return tk_below(&f->rng, 64);
    if (r < 95) return (uint32_t)tk_rand(&f->rng);
    return tk_below(&f->rng, 2) ? 0xffffffffull : tk_rand(&f->rng);
}

static uint64_t pick_time(struct fuzzer *f, bool blocking) {
    zx_time_t now = zx_clock_get_monotonic();
    uint64_t r = tk_below(&f->rng, 100);
    if (r < 20) return 0;
    if (r < 30) return (uint64_t)now;
    if (r < 60) return (uint64_t)(now + (zx_time_t)tk_below(&f->rng, ZX_MSEC(1)));
    if (r < 70) return tk_below(&f->rng, 2) ? (uint64_t)INT64_MIN : ~(tk_rand(&f->rng) >> 1);  // < 0
    if (r < 80) return blocking ? (uint64_t)(now + ZX_USEC(100)) : (uint64_t)ZX_TIME_INFINITE;
    return tk_below(&f->rng, 1ull << 20);
}

static uint64_t pick_addr(struct fuzzer *f) {
    uint64_t r = tk_below(&f->rng, 100);
    if (r < 30) return (uint64_t)(uintptr_t)f->scratch + (tk_below(&f->rng, SCRATCH_SIZE) & ~0xfffull);
    if (r < 50) return f->pool_vmar_base + tk_below(&f->rng, 64) * TK_PAGE;
    if (r < 60) return 0;
    if (r < 68) return (uint64_t)(uintptr_t)f->scratch + 1 + tk_below(&f->rng, 4095);
    if (r < 76) return kernel_addrs[tk_below(&f->rng, sizeof(kernel_addrs) / sizeof(kernel_addrs[0]))];
    if (r < 84) return f->hole;
    if (r < 90) return odd_addrs[tk_below(&f->rng, sizeof(odd_addrs) / sizeof(odd_addrs[0]))];
    return tk_rand(&f->rng);
}

static uint64_t pick_scalar(struct fuzzer *f) {
    uint64_t r = tk_below(&f->rng, 100);
    if (r < 20) return 0;
    if (r < 35) return 1;
    if (r < 55) return tk_below(&f->rng, 64);
    if (r < 70) return TK_PAGE * tk_below(&f->rng, 64);
    if (r < 80) return (uint64_t)-1 - tk_below(&f->rng, 4);
    return tk_rand(&f->rng);
}

static void noreturn_thread(void *arg) {
    struct noreturn_call *c = arg;
    ((fuzz_fn)c->sc->fn)(c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5], c->a[6], c->a[7]);
}

// zx_process_exit in a throwaway grandchild; any other noreturn call on a throwaway thread.
static void call_noreturn(struct fuzzer *f, const struct fuzz_syscall *sc, const uint64_t *a) {
    if (strcmp(sc->name, "process_exit") == 0) {
        static const uint8_t code[] = MC_JUMP_ARG2_ZERO;
        struct child child;
        if (child_create(zx_job_default(), "exit-child", code, sizeof(code), true, &child) ==
                ZX_OK &&
            child_start(&child, child.vdso_base + ZHB_VDSO_OFFSET(zx_process_exit)) == ZX_OK) {
            wait_ms(child.proc, ZX_PROCESS_TERMINATED, 1000);
        }
        child_destroy(&child);
        return;
    }
    struct noreturn_call *c = &f->noreturn;
    c->sc = sc;
    memcpy(c->a, a, sizeof(c->a));
    struct tk_thread t;
    if (tk_thread_start(&t, "noreturn", noreturn_thread, c) == ZX_OK) {
        tk_thread_join(&t, 1000);
    }
}

static void count_status(const struct fuzz_syscall *sc, uint64_t ret) {
    if (sc->ret != FUZZ_RET_STATUS) {
        REPORT_ADD(report->values);
        return;
    }
    int64_t status = (int32_t)ret;
    uint64_t slot = status <= 0 && -status < FUZZ_STATUS_SLOTS - 1 ? (uint64_t)-status
                                                                  : FUZZ_STATUS_SLOTS - 1;
    REPORT_ADD(report->statuses[slot]);
}

// Maps a fresh scratch area (with unmapped guard pages) for one fuzzing thread.
static bool scratch_setup(struct fuzzer *f) {
    zx_handle_t scratch_vmar, vmo;
    zx_vaddr_t base, addr;
    if (zx_vmar_allocate(zx_vmar_root_self(),
                         ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_SPECIFIC, 0,
                         SCRATCH_SIZE + 2 * TK_PAGE, &scratch_vmar, &base) != ZX_OK ||
        zx_vmo_create(SCRATCH_SIZE, 0, &vmo) != ZX_OK ||
        zx_vmar_map(scratch_vmar, ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_SPECIFIC, TK_PAGE,
                    vmo, 0, SCRATCH_SIZE, &addr) != ZX_OK) {
        return false;
    }
    zx_handle_close(vmo);
    zx_handle_close(scratch_vmar);
    f->scratch = (uint8_t *)addr;
    f->hole = base;
    return true;
}

static void fuzz_loop(struct fuzzer *f);

static void fuzz_thread(void *arg) {
    fuzz_loop(arg);
}

#define MAX_THREADS 8

// A chunk: `threads` fuzzing threads (the first is this one) share the objects made at the
// start; each makes its share of `calls` with its own generator, seeded from (seed, chunk,
// thread). With one thread the calls follow from (seed, chunk) alone; with more, their
// interleaving does not.
static int fuzz_child(uint64_t seed, uint64_t chunk, uint64_t calls, uint64_t threads) {
    static struct fuzzer fuzzers[MAX_THREADS];
    zx_handle_t report_vmo = tk_report_vmo();
    zx_vaddr_t addr;
    if (report_vmo == ZX_HANDLE_INVALID ||
        zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0, report_vmo, 0,
                    TK_PAGE, &addr) != ZX_OK) {
        return 3;
    }
    zx_handle_close(report_vmo);
    report = (struct fuzz_report *)addr;
    struct vdso_layout layout;
    if (threads < 1 || threads > MAX_THREADS || !vdso_layout(&layout)) {
        return 3;  // (vdso_layout: takes the vDSO handle before threads race for it)
    }
    struct fuzzer *f = &fuzzers[0];
    f->rng = seed ^ (chunk * 0xd1b54a32d192ed03ull);
    tk_rand(&f->rng);
    if (!scratch_setup(f)) {
        return 3;
    }
    f->pool.danger[0] = zx_process_self();
    f->pool.danger[1] = zx_thread_self();
    f->pool.danger[2] = zx_job_default();
    pool_fill(f);
    f->main = true;
    for (uint64_t t = 0; t < threads; t++) {
        fuzzers[t].calls = calls / threads + (t < calls % threads);
    }
    for (uint64_t t = 1; t < threads; t++) {
        struct fuzzer *g = &fuzzers[t];
        g->pool = f->pool;  // the same objects: one thread may close what another uses
        g->pool_vmar_base = f->pool_vmar_base;
        g->rng = f->rng ^ (t * 0x9e3779b97f4a7c15ull);
        tk_rand(&g->rng);
        if (!scratch_setup(g)) {
            return 3;
        }
    }
    report->magic = FUZZ_REPORT_MAGIC;
    struct tk_thread others[MAX_THREADS];
    for (uint64_t t = 1; t < threads; t++) {
        if (tk_thread_start(&others[t], "fuzzer", fuzz_thread, &fuzzers[t]) != ZX_OK) {
            return 3;
        }
    }
    fuzz_loop(f);
    for (uint64_t t = 1; t < threads; t++) {
        tk_thread_join(&others[t], 3600 * 1000);  // the parent's deadline comes first
    }
    return 0;
}

static void fuzz_loop(struct fuzzer *f) {
    for (uint64_t i = 0; i < f->calls; i++) {
        uint64_t index = tk_below(&f->rng, FUZZ_SYSCALL_COUNT);
        const struct fuzz_syscall *sc = &fuzz_syscalls[index];
        uint64_t a[8] = {0};
        bool release = false;
        for (uint32_t k = 0; k < sc->nargs; k++) {
            const struct fuzz_arg *arg = &sc->args[k];
            bool good;
            release |= (arg->flags & FUZZ_F_RELEASE) != 0;
            switch (arg->kind) {
                case FUZZ_HANDLE: a[k] = pick_handle(f, arg); break;
                case FUZZ_IN:
                case FUZZ_OUT:
                case FUZZ_INOUT:
                    a[k] = pick_pointer(f, arg, sc->ret == FUZZ_RET_VOID, &good);
                    break;
                case FUZZ_SIZE: a[k] = pick_size(f, sc->ret == FUZZ_RET_VOID); break;
                case FUZZ_OPTIONS: a[k] = pick_options(f); break;
                case FUZZ_TIME: a[k] = pick_time(f, sc->flags & FUZZ_S_BLOCKING); break;
                case FUZZ_ADDR: a[k] = pick_addr(f); break;
                default: a[k] = pick_scalar(f); break;
            }
        }
        if (f->main) {
            report->current = index;
            memcpy(report->args, a, sizeof(a));
        }
        REPORT_ADD(report->calls);
        REPORT_ADD(report->per_syscall[index]);
        if (sc->flags & FUZZ_S_NORETURN) {
            call_noreturn(f, sc, a);
            REPORT_ADD(report->values);
        } else {
            uint64_t ret = ((fuzz_fn)sc->fn)(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
            count_status(sc, ret);
            if (strcmp(sc->name, "debug_write") == 0) {
                zx_debug_write("\n", 1);  // end whatever it printed: our lines stay whole
            }
            if (sc->ret == FUZZ_RET_STATUS && (int32_t)ret == ZX_OK) {
                for (uint32_t k = 0; k < sc->nargs; k++) {
                    const struct fuzz_arg *arg = &sc->args[k];
                    uint8_t *p = (uint8_t *)(uintptr_t)a[k];
                    if ((arg->flags & FUZZ_F_ACQUIRE) && p >= f->scratch &&
                        p + sizeof(zx_handle_t) <= f->scratch + SCRATCH_SIZE &&
                        (uintptr_t)p % sizeof(zx_handle_t) == 0) {
                        pool_add(f, *(zx_handle_t *)p);
                    }
                }
            }
        }
        if (release || (i % 16) == 15) {
            pool_revalidate(f);
        }
        pool_fill(f);
    }
}

// ---- The parent: chunk after chunk -------------------------------------------------------

struct totals {
    uint64_t calls, children, died, hung, values;
    uint64_t statuses[FUZZ_STATUS_SLOTS];
};

static const char *status_name(uint64_t slot) {
    static const char *const names[FUZZ_STATUS_SLOTS] = {
        [0] = "OK", [1] = "INTERNAL", [2] = "NOT_SUPPORTED", [3] = "NO_RESOURCES",
        [4] = "NO_MEMORY", [10] = "INVALID_ARGS", [11] = "BAD_HANDLE", [12] = "WRONG_TYPE",
        [13] = "BAD_SYSCALL", [14] = "OUT_OF_RANGE", [15] = "BUFFER_TOO_SMALL",
        [20] = "BAD_STATE", [21] = "TIMED_OUT", [22] = "SHOULD_WAIT", [23] = "CANCELED",
        [24] = "PEER_CLOSED", [25] = "NOT_FOUND", [26] = "ALREADY_EXISTS",
        [27] = "ALREADY_BOUND", [28] = "UNAVAILABLE", [30] = "ACCESS_DENIED",
        [FUZZ_STATUS_SLOTS - 1] = "OTHER",
    };
    return names[slot];
}

// "zx_<name>(a0, a1, ...)": the call a child was in.
static void describe_call(volatile struct fuzz_report *rep, char *buf, size_t size) {
    uint64_t cur = rep->current < FUZZ_SYSCALL_COUNT ? rep->current : 0;
    const struct fuzz_syscall *sc = &fuzz_syscalls[cur];
    int len = snprintf(buf, size, "zx_%s(", sc->name);
    for (uint32_t k = 0; k < sc->nargs && len < (int)size - 24; k++) {
        len += snprintf(buf + len, size - (size_t)len, "%s0x%llx", k ? ", " : "",
                        (unsigned long long)rep->args[k]);
    }
    snprintf(buf + len, size - (size_t)len, ")");
}

// Runs chunk `chunk` of `seed` in a child; adds its figures to *t (a child that hangs is
// killed and counted in t->hung). False if no child could be run or it never started
// fuzzing: the run cannot go on.
static bool run_chunk(uint64_t seed, uint64_t chunk, uint64_t calls, uint64_t threads,
                      struct totals *t) {
    char seed_arg[32], chunk_arg[32], calls_arg[32], threads_arg[32];
    snprintf(seed_arg, sizeof(seed_arg), "seed=0x%llx", (unsigned long long)seed);
    snprintf(chunk_arg, sizeof(chunk_arg), "chunk=%llu", (unsigned long long)chunk);
    snprintf(calls_arg, sizeof(calls_arg), "calls=%llu", (unsigned long long)calls);
    snprintf(threads_arg, sizeof(threads_arg), "threads=%llu", (unsigned long long)threads);
    const char *args[] = {"child", seed_arg, chunk_arg, calls_arg, threads_arg};
    zx_handle_t vmo, job, proc;
    zx_vaddr_t addr;
    bool ok = true;
    if (!KTAP_EXPECT_OK(zx_vmo_create(TK_PAGE, 0, &vmo)) ||
        !KTAP_EXPECT_OK(zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ | ZX_VM_PERM_WRITE, 0,
                                    vmo, 0, TK_PAGE, &addr)) ||
        !KTAP_EXPECT_OK(zx_job_create(zx_job_default(), 0, &job))) {
        return false;
    }
    volatile struct fuzz_report *rep = (volatile struct fuzz_report *)addr;
    // Names the chunk in flight, so a panic's console tail tells which one to rerun.
    printf("syscall-fuzz: chunk %llu\n", (unsigned long long)chunk);
    zx_status_t status = tk_spawn(job, "bin/syscall-fuzz", args, 5, vmo, &proc);
    KTAP_EXPECT_OK(status);
    if (status == ZX_OK) {
        int64_t limit = CHILD_BASE_MS + (int64_t)calls * CHILD_MS_PER_CALL;
        char call[256];
        bool hung = wait_ms(proc, ZX_PROCESS_TERMINATED, limit) != ZX_OK;
        if (hung) {
            describe_call(rep, call, sizeof(call));
            printf("syscall-fuzz: chunk %llu (seed=0x%llx chunk=%llu): child hung in call %llu, "
                   "%s; killed\n",
                   (unsigned long long)chunk, (unsigned long long)seed,
                   (unsigned long long)chunk, (unsigned long long)rep->calls, call);
            t->hung++;
            zx_task_kill(job);
            wait_ms(proc, ZX_PROCESS_TERMINATED, 5000);
        }
        int64_t code = return_code(proc);
        if (rep->magic != FUZZ_REPORT_MAGIC) {
            ktap_diag("chunk %llu: the child never started fuzzing (return code %lld)",
                      (unsigned long long)chunk, (long long)code);
            ok = false;
        } else if (code != 0 && !hung && ++t->died <= MAX_DEATH_LINES) {
            describe_call(rep, call, sizeof(call));
            printf("syscall-fuzz: chunk %llu: child died in call %llu, %s (return code %lld)\n",
                   (unsigned long long)chunk, (unsigned long long)rep->calls, call,
                   (long long)code);
        }
        t->calls += rep->calls;
        t->values += rep->values;
        for (int i = 0; i < FUZZ_STATUS_SLOTS; i++) {
            t->statuses[i] += rep->statuses[i];
        }
        t->children++;
        if (rep->calls == 0) {
            t->calls++;  // always make progress
        }
        zx_handle_close(proc);
    } else {
        ok = false;
    }
    zx_task_kill(job);
    zx_handle_close(job);
    zx_vmar_unmap(zx_vmar_root_self(), addr, TK_PAGE);
    zx_handle_close(vmo);
    return ok;
}

static void print_summary(uint64_t seed, const struct totals *t) {
    char line[1024];
    int len = snprintf(line, sizeof(line),
                       "syscall-fuzz: done: seed=0x%llx calls=%llu children=%llu died=%llu "
                       "hung=%llu values=%llu",
                       (unsigned long long)seed, (unsigned long long)t->calls,
                       (unsigned long long)t->children, (unsigned long long)t->died,
                       (unsigned long long)t->hung, (unsigned long long)t->values);
    for (int i = 0; i < FUZZ_STATUS_SLOTS && len < (int)sizeof(line) - 40; i++) {
        if (t->statuses[i] == 0) {
            continue;
        }
        const char *name = status_name((uint64_t)i);
        if (name != NULL) {
            len += snprintf(line + len, sizeof(line) - (size_t)len, " %s=%llu", name,
                            (unsigned long long)t->statuses[i]);
        } else {
            len += snprintf(line + len, sizeof(line) - (size_t)len, " status%d=%llu", -i,
                            (unsigned long long)t->statuses[i]);
        }
    }
    printf("%s\n", line);
}

KTAP_CASE(syscall_fuzz) {
    uint64_t seed = 0, calls = DEFAULT_CALLS, chunk_calls = DEFAULT_CHUNK_CALLS, only = 0;
    uint64_t threads = 1;
    const char *text = tk_arg(g_argc, g_argv, "fuzz", "seed");
    if (text == NULL || !tk_parse_u64(text, &seed)) {
        zx_cprng_draw(&seed, sizeof(seed));
    }
    text = tk_arg(g_argc, g_argv, "fuzz", "calls");
    if (text != NULL) {
        KTAP_ASSERT_TRUE(tk_parse_u64(text, &calls) && calls > 0);
    }
    text = tk_arg(g_argc, g_argv, "fuzz", "chunk_calls");
    if (text != NULL) {
        KTAP_ASSERT_TRUE(tk_parse_u64(text, &chunk_calls) && chunk_calls > 0);
    }
    text = tk_arg(g_argc, g_argv, "fuzz", "threads");
    if (text != NULL) {
        KTAP_ASSERT_TRUE(tk_parse_u64(text, &threads) && threads >= 1 && threads <= MAX_THREADS);
    }
    const char *only_text = tk_arg(g_argc, g_argv, "fuzz", "chunk");
    if (only_text != NULL) {
        KTAP_ASSERT_TRUE(tk_parse_u64(only_text, &only));
        calls = chunk_calls;
    }
    printf("syscall-fuzz: seed=0x%llx calls=%llu chunk_calls=%llu syscalls=%d threads=%llu\n",
           (unsigned long long)seed, (unsigned long long)calls,
           (unsigned long long)chunk_calls, FUZZ_SYSCALL_COUNT, (unsigned long long)threads);
    static struct totals t;
    uint64_t next_progress = calls / 10;
    for (uint64_t chunk = only; t.calls < calls; chunk++) {
        uint64_t n = calls - t.calls < chunk_calls ? calls - t.calls : chunk_calls;
        if (!run_chunk(seed, chunk, n, threads, &t)) {
            ktap_diag("chunk %llu: could not run a child; stopping", (unsigned long long)chunk);
            break;
        }
        if (only_text != NULL) {
            break;
        }
        if (t.calls >= next_progress && t.calls < calls) {
            printf("syscall-fuzz: progress %llu/%llu calls, %llu children\n",
                   (unsigned long long)t.calls, (unsigned long long)calls,
                   (unsigned long long)t.children);
            next_progress = t.calls + calls / 10;
        }
    }
    print_summary(seed, &t);
    KTAP_EXPECT_EQ(t.hung, 0);
    KTAP_EXPECT_TRUE(t.calls >= calls);
    KTAP_EXPECT_OK(tk_kernel_sane());
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "child") == 0) {
        uint64_t seed = 0, chunk = 0, calls = 0, threads = 1;
        tk_parse_u64(tk_arg(argc, argv, "fuzz-child", "seed"), &seed);
        tk_parse_u64(tk_arg(argc, argv, "fuzz-child", "chunk"), &chunk);
        tk_parse_u64(tk_arg(argc, argv, "fuzz-child", "calls"), &calls);
        tk_parse_u64(tk_arg(argc, argv, "fuzz-child", "threads"), &threads);
        return fuzz_child(seed, chunk, calls, threads);
    }
    g_argc = argc;
    g_argv = argv;
    return ktap_main("syscall-fuzz");
}
