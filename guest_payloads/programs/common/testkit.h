// Helpers for the multi-threaded and long-running test programs (stress-tests,
// syscall-fuzz): threads in our own process, a run clock, program arguments, a seeded
// random generator, a kernel sanity probe, and children spawned from our own BOOTFS file
// with a shared report VMO (programs/common/testkit.c).
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zircon/syscalls.h>

#define TK_PAGE 4096u

// ---- Threads of this process -------------------------------------------------------------

struct tk_thread {
    zx_handle_t handle;
    zx_vaddr_t stack;
    size_t stack_size;
};

// Starts fn(arg) on a new thread of this process (zx_thread_create + zx_thread_start, a
// 64 KiB stack VMO); the thread ends with zx_thread_exit when fn returns.
zx_status_t tk_thread_start(struct tk_thread *t, const char *name, void (*fn)(void *),
                            void *arg);
// Waits up to `ms` for the thread to end (ZX_THREAD_TERMINATED); kills it first if it has
// not ended by then; frees its stack. Returns ZX_OK if it ended by itself.
zx_status_t tk_thread_join(struct tk_thread *t, int64_t ms);

// ---- Zygote: fork in user space (RFC-0013) -------------------------------------------------

// Clones this process's address space into a new process the way RFC-0013 describes: reads
// ZX_INFO_PROCESS_MAPS; each mapping of a VMO in `held` (handles we own) is cloned with
// zx_vmo_create_child, the vDSO is mapped again from its VMO (never cloned), every other
// mapping is cloned with zx_vmar_create_vmo_child; each goes into the new process at the
// same address with the same permissions (writable ones as snapshots, the rest NO_WRITE).
// Then starts entry(channel, arg2) there on `stack_top` (inside a cloned mapping); the
// channel end moves to the child. *proc: the new process.
zx_status_t tk_zygote_spawn(void (*entry)(zx_handle_t, uintptr_t), zx_vaddr_t stack_top,
                            const zx_handle_t *held, size_t nheld, zx_handle_t channel,
                            uintptr_t arg2, zx_handle_t *proc);

// ---- Shared state between threads --------------------------------------------------------

static inline uint64_t tk_load(const volatile uint64_t *p) {
    return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}
static inline void tk_store(volatile uint64_t *p, uint64_t v) {
    __atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}
static inline uint64_t tk_add(volatile uint64_t *p, uint64_t v) {
    return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST);
}
static inline uint64_t tk_xchg(volatile uint64_t *p, uint64_t v) {
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

// A failure seen by a worker thread (workers must not printf: stdout is not thread-safe).
// The first one is kept with its line and values; the main thread reports it.
struct tk_failure {
    volatile uint64_t count;
    volatile uint64_t line;
    volatile int64_t a;
    volatile int64_t b;
    const char *volatile what;
};
void tk_fail(struct tk_failure *f, int line, const char *what, int64_t a, int64_t b);
#define TK_FAIL(f, what, a, b) tk_fail((f), __LINE__, (what), (int64_t)(a), (int64_t)(b))
// Prints the failure (if any) as a KTAP diagnostic and fails the running case.
bool tk_report(struct tk_failure *f, const char *file);

// ---- Run length --------------------------------------------------------------------------

// How long each stress round runs: `ms` by default; the `seconds=N` argument (or environment
// word `stress.seconds=N`) makes it N seconds.
void tk_set_round_ms(int64_t ms);
int64_t tk_round_ms(void);
// The absolute deadline of a round that starts now.
zx_time_t tk_round_deadline(void);
bool tk_before(zx_time_t deadline);

// How many times longer than usual the run's waits for work to finish may be (default 1): a
// run sharing the CPU with many others (stress-tests' parallel mode passes `scale=N`) gets
// proportionally longer timeouts, so a starved case is not mistaken for a hung one.
void tk_set_time_scale(int64_t scale);
int64_t tk_time_scale(void);
#define TK_SCALED_MS(ms) ((int64_t)(ms) * tk_time_scale())

// ---- Arguments ---------------------------------------------------------------------------

// The value of `key=VALUE` among argv[1..] or, failing that, of environment word
// `<prefix>.<key>=VALUE`; NULL if neither.
const char *tk_arg(int argc, char **argv, const char *prefix, const char *key);
// Decimal or 0x-hex; false if `text` is not a whole number.
bool tk_parse_u64(const char *text, uint64_t *value);

// ---- Random numbers (splitmix64: seeded, reproducible) -----------------------------------

static inline uint64_t tk_rand(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline uint64_t tk_below(uint64_t *state, uint64_t n) {
    return n == 0 ? 0 : tk_rand(state) % n;
}

// ---- Kernel sanity -----------------------------------------------------------------------

// A fresh channel round trip carrying bytes and an event handle (the handle that arrives is
// the event sent), a fresh VMO write/read, and an event signal/wait. ZX_OK or the first
// failing status (ZX_ERR_INTERNAL for a wrong result).
zx_status_t tk_kernel_sane(void);

// ---- Children from our own BOOTFS file ---------------------------------------------------

// Starts BOOTFS file `path` with args {path, args[0..nargs)} in `job`, like
// spawn_from_bootfs, and hands it `report` (a VMO, duplicated) in the PA_RESOURCE slot:
// userboot's loader has no slot for program-defined handles and these children never need
// the power resource. The child takes it with tk_report_vmo().
zx_status_t tk_spawn(zx_handle_t job, const char *path, const char *const *args, uint32_t nargs,
                     zx_handle_t report, zx_handle_t *proc);
zx_handle_t tk_report_vmo(void);
