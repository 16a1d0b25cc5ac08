// Boot-time kernel self-tests (include/kernel/selftest.h), printed as KTAP.
//
// A case is a function returning true on success; it explains a failure with check() /
// diag(), which print "# " lines before the case's "ok"/"not ok" line. Cases run in table
// order on the bootstrap thread with interrupts on and the tick running.
#include <kernel/selftest.h>

#include <stdbool.h>
#include <stdint.h>

#include <kernel/arch.h>
#include <kernel/heap.h>
#include <kernel/lock.h>
#include <kernel/pmm.h>
#include <kernel/thread.h>
#include <kernel/timer.h>
#include <lib/console.h>
#include <lib/string.h>
#include <zircon/errors.h>

#define diag SELFTEST_DIAG
#define check SELFTEST_CHECK

// Busy-waits (without yielding) until current_time() has advanced by `ns`.
static void spin_for(uint64_t ns) {
    uint64_t end = current_time() + ns;
    while (current_time() < end) {
    }
}

// ---- pmm ----

static bool test_pmm_alloc_free_reuse(void) {
    struct pmm_stats before = pmm_stats();
    uintptr_t a = pmm_alloc_page();
    uintptr_t b = pmm_alloc_page();
    check(a != 0 && b != 0 && a != b);
    check(a % PAGE_SIZE == 0 && b % PAGE_SIZE == 0);
    check(pmm_stats().free_pages == before.free_pages - 2);
    memset((void *)a, 0xa5, PAGE_SIZE);
    pmm_free_page(a);
    check(pmm_stats().free_pages == before.free_pages - 1);
    uintptr_t c = pmm_alloc_zeroed_page();
    check(c == a);  // first fit: the page just freed comes back
    const uint8_t *bytes = (const uint8_t *)c;
    for (size_t i = 0; i < PAGE_SIZE; i++) {
        check(bytes[i] == 0);
    }
    pmm_free_page(b);
    pmm_free_page(c);
    check(pmm_stats().free_pages == before.free_pages);
    return true;
}

static bool test_pmm_contiguous(void) {
    struct pmm_stats before = pmm_stats();
    uintptr_t run = pmm_alloc_pages(8);
    check(run != 0 && run % PAGE_SIZE == 0);
    check(pmm_stats().free_pages == before.free_pages - 8);
    uintptr_t single = pmm_alloc_page();
    check(single != 0 && (single < run || single >= run + 8 * PAGE_SIZE));
    pmm_free_pages(run, 8);
    pmm_free_page(single);
    check(pmm_stats().free_pages == before.free_pages);
    check(pmm_alloc_pages(before.total_pages + 1) == 0);  // more than exists: refused
    return true;
}

// ---- heap ----

static bool test_heap_alloc_free(void) {
    static const size_t sizes[] = {1, 16, 17, 100, 512, 2000, 2001, 5000, 70000};
    void *blocks[sizeof(sizes) / sizeof(sizes[0])];
    struct heap_stats before = heap_stats();
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        blocks[i] = kmalloc(sizes[i]);
        check(blocks[i] != NULL);
        check((uintptr_t)blocks[i] % 16 == 0);
        memset(blocks[i], (int)i + 1, sizes[i]);
    }
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        const uint8_t *p = blocks[i];
        check(p[0] == i + 1 && p[sizes[i] - 1] == i + 1);  // no block overlaps another
    }
    check(heap_stats().allocated_blocks == before.allocated_blocks + 9);
    void *first = blocks[3];
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        kfree(blocks[i]);
    }
    check(heap_stats().allocated_blocks == before.allocated_blocks);
    check(heap_stats().allocated_bytes == before.allocated_bytes);
    void *again = kzalloc(100);
    check(again == first);  // LIFO free list: the block just freed is reused
    check(((const uint8_t *)again)[99] == 0);
    kfree(again);
    check(kmalloc(0) == NULL);
    return true;
}

// Thousands of small blocks take dozens of pages; freed (every other one first, so pages
// go from full to partial to empty), the pages go back to the page allocator, all but at
// most one kept per class.
static bool test_heap_pages_return(void) {
    enum { COUNT = 3000 };
    static void *blocks[COUNT];
    struct heap_stats before = heap_stats();
    size_t free_before = pmm_stats().free_pages;
    for (size_t i = 0; i < COUNT; i++) {
        blocks[i] = kmalloc(40 + (i % 3) * 100);  // three classes
        check(blocks[i] != NULL);
    }
    check(heap_stats().pages >= before.pages + 20);
    for (size_t pass = 0; pass < 2; pass++) {
        for (size_t i = pass; i < COUNT; i += 2) {
            kfree(blocks[i]);
        }
    }
    check(heap_stats().allocated_blocks == before.allocated_blocks);
    check(heap_stats().pages <= before.pages + 3);
    check(pmm_stats().free_pages + 3 >= free_before);
    return true;
}

// ---- timer ----

static bool test_timer_advances(void) {
    uint64_t t0 = current_time();
    uint64_t ticks0 = timer_ticks();
    spin_for(ZX_MSEC(20));
    uint64_t t1 = current_time();
    uint64_t ticks1 = timer_ticks();
    diag("20 ms spin: %llu ns, %llu ticks", (unsigned long long)(t1 - t0),
         (unsigned long long)(ticks1 - ticks0));
    check(t1 - t0 >= ZX_MSEC(20));
    check(ticks1 > ticks0);  // the tick interrupt fired while we spun
    uint64_t prev = current_time();
    for (int i = 0; i < 1000; i++) {
        uint64_t now = current_time();
        check(now >= prev);
        prev = now;
    }
    return true;
}

// Sleeps of a few lengths: never shorter than asked, and woken within a few ticks of the
// deadline. The upper bound counts ticks, not nanoseconds: when the host stalls the guest,
// the timer skips missed periods, so ticks measure what the scheduler did.
static bool test_sleep_duration(void) {
    static const uint64_t durations[] = {ZX_MSEC(1), ZX_MSEC(10), ZX_MSEC(50)};
    const uint64_t slack_ticks = 5;
    for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
        uint64_t t0 = current_time();
        uint64_t ticks0 = timer_ticks();
        thread_sleep(durations[i]);
        uint64_t slept = current_time() - t0;
        uint64_t ticks = timer_ticks() - ticks0;
        diag("sleep %llu ms took %llu us, %llu ticks",
             (unsigned long long)(durations[i] / ZX_MSEC(1)),
             (unsigned long long)(slept / ZX_USEC(1)), (unsigned long long)ticks);
        check(slept >= durations[i]);
        check(ticks <= durations[i] / TIMER_TICK_NS + slack_ticks);
    }
    return true;
}

// ---- threads ----

struct spinner {
    volatile uint64_t count;
    volatile bool *stop;
};

// Counts as fast as it can until told to stop, never yielding or sleeping.
static int spin_thread(void *arg) {
    struct spinner *s = arg;
    while (!*s->stop) {
        s->count = s->count + 1;
    }
    return 0;
}

static bool test_preemption(void) {
    // Static: a spinner left running after a failed check must not point into a dead frame.
    static volatile bool stop;
    static struct spinner a, b;
    stop = false;
    a = (struct spinner){.count = 0, .stop = &stop};
    b = (struct spinner){.count = 0, .stop = &stop};
    struct thread_stats before = thread_stats();
    struct thread *ta = thread_create("spin-a", spin_thread, &a);
    struct thread *tb = thread_create("spin-b", spin_thread, &b);
    check(ta != NULL && tb != NULL);
    // Only the tick can bring this thread back: both spinners are always ready.
    thread_sleep(ZX_MSEC(100));
    uint64_t a1 = a.count, b1 = b.count;
    thread_sleep(ZX_MSEC(50));
    uint64_t a2 = a.count, b2 = b.count;
    stop = true;
    int ra = -1, rb = -1;
    check(thread_join(ta, &ra) == 0 && thread_join(tb, &rb) == 0);
    struct thread_stats after = thread_stats();
    diag("spin-a %llu -> %llu, spin-b %llu -> %llu, %llu preemptions", (unsigned long long)a1,
         (unsigned long long)a2, (unsigned long long)b1, (unsigned long long)b2,
         (unsigned long long)(after.preemptions - before.preemptions));
    check(a1 > 0 && b1 > 0);
    check(a2 > a1 && b2 > b1);  // both keep running: round-robin, not just the first
    check(after.preemptions - before.preemptions >= 2);
    check(ra == 0 && rb == 0);
    return true;
}

static int return_arg(void *arg) {
    return (int)(uintptr_t)arg;
}

static int exit_early(void *arg) {
    thread_sleep(ZX_MSEC(5));
    thread_exit((int)(uintptr_t)arg);
}

static bool test_thread_join_exit(void) {
    struct heap_stats heap_before = heap_stats();
    struct pmm_stats pmm_before = pmm_stats();
    struct thread *t1 = thread_create("returns", return_arg, (void *)42);
    struct thread *t2 = thread_create("exits", exit_early, (void *)7);
    check(t1 != NULL && t2 != NULL);
    int r1 = 0, r2 = 0;
    check(thread_join(t2, &r2) == 0);  // t2 is still sleeping: the join must block
    check(thread_join(t1, &r1) == 0);  // t1 long finished: the join returns at once
    diag("returned %d, exited %d", r1, r2);
    check(r1 == 42 && r2 == 7);
    check(thread_join(thread_current(), NULL) == -1);
    // Joining reaped both: their structs and stacks are back.
    check(heap_stats().allocated_blocks == heap_before.allocated_blocks);
    check(pmm_stats().free_pages == pmm_before.free_pages);
    return true;
}

struct ping {
    volatile int turn;  // whose turn it is: 0 or 1
    int log[8];
    volatile int len;
};

struct pinger {
    struct ping *ping;
    int me;
};

// Appends `me` to the log on each of its turns, yielding in between.
static int ping_thread(void *arg) {
    struct pinger *p = arg;
    for (int round = 0; round < 4; round++) {
        while (p->ping->turn != p->me) {
            thread_yield();
        }
        p->ping->log[p->ping->len] = p->me;
        p->ping->len = p->ping->len + 1;
        p->ping->turn = 1 - p->me;
    }
    return 0;
}

static bool test_thread_yield(void) {
    struct ping ping = {.turn = 0, .len = 0};
    struct pinger p0 = {&ping, 0}, p1 = {&ping, 1};
    struct thread *t0 = thread_create("ping", ping_thread, &p0);
    struct thread *t1 = thread_create("pong", ping_thread, &p1);
    check(t0 != NULL && t1 != NULL);
    check(thread_join(t0, NULL) == 0 && thread_join(t1, NULL) == 0);
    check(ping.len == 8);
    for (int i = 0; i < 8; i++) {
        check(ping.log[i] == i % 2);
    }
    return true;
}

// ---- blocking ----

// A thread that blocks (on `wq`, or alone) until woken, then logs its id and the tick.
struct blocker {
    struct wait_queue *wq;  // NULL: thread_block
    int id;
    zx_status_t status;
    uint64_t woke_tick;
    volatile int *blocked;  // counts blockers that reached their block
    int *log;               // ids in wake-up order
    volatile int *len;
    volatile int *gate;  // if set: yield until *gate is nonzero before blocking
};

static int block_thread(void *arg) {
    struct blocker *b = arg;
    while (b->gate != NULL && *b->gate == 0) {
        thread_yield();
    }
    arch_irq_state_t irq = thread_lock_irqsave();
    *b->blocked = *b->blocked + 1;  // with interrupts masked until the block: no lost wake-up
    b->status = b->wq != NULL ? wait_queue_block(b->wq, THREAD_DEADLINE_INFINITE)
                              : thread_block(THREAD_DEADLINE_INFINITE);
    b->woke_tick = timer_ticks();
    b->log[*b->len] = b->id;
    *b->len = *b->len + 1;
    thread_unlock_irqrestore(irq);
    return 0;
}

// Yields until `n` blockers are blocked (each counts itself just before blocking).
static bool wait_blocked(volatile int *blocked, int n) {
    for (int i = 0; i < 100000 && *blocked < n; i++) {
        thread_yield();
    }
    return *blocked == n;
}

// thread_block ends by its deadline (never early) or by thread_wake; the woken thread runs
// within a tick of the wake-up (ticks, not wall time: a slow host cannot break it).
static bool test_thread_block_wake(void) {
    arch_irq_state_t irq = thread_lock_irqsave();
    uint64_t t0 = current_time();
    zx_status_t timed = thread_block(t0 + (uint64_t)ZX_MSEC(3));
    uint64_t t1 = current_time();
    zx_status_t past = thread_block(0);  // a deadline already past: no block
    thread_unlock_irqrestore(irq);
    diag("blocked %llu us until the deadline", (unsigned long long)((t1 - t0) / 1000));
    check(timed == ZX_ERR_TIMED_OUT && t1 - t0 >= (uint64_t)ZX_MSEC(3));
    check(past == ZX_ERR_TIMED_OUT);

    static volatile int blocked, len, gate;
    static int log[1];
    static struct blocker b;
    blocked = len = gate = 0;
    b = (struct blocker){.id = 1, .blocked = &blocked, .log = log, .len = &len, .gate = &gate};
    struct thread *t = thread_create("blocker", block_thread, &b);
    check(t != NULL);
    check(!thread_wake(t));  // ready or running (held at the gate), not blocked: nothing to do
    gate = 1;
    check(wait_blocked(&blocked, 1));
    uint64_t wake_tick = timer_ticks();
    check(thread_wake(t));
    check(thread_join(t, NULL) == 0);
    diag("woken at tick %llu, ran at tick %llu", (unsigned long long)wake_tick,
         (unsigned long long)b.woke_tick);
    check(b.status == ZX_OK && len == 1);
    check(b.woke_tick - wake_tick <= 1);
    return true;
}

// A wait queue wakes its threads in the order they blocked; one whose deadline passes leaves
// it.
static bool test_wait_queue_fifo(void) {
    static struct wait_queue wq;  // empty: zero-initialised
    static volatile int blocked, len;
    static int log[3];
    static struct blocker b[3];
    struct thread *t[3];
    blocked = len = 0;
    for (int i = 0; i < 3; i++) {
        b[i] = (struct blocker){.wq = &wq, .id = i, .blocked = &blocked, .log = log, .len = &len};
        t[i] = thread_create("queued", block_thread, &b[i]);
        check(t[i] != NULL);
        check(wait_blocked(&blocked, i + 1));  // blocks before the next one starts
    }
    check(wait_queue_wake_one(&wq));
    thread_sleep(ZX_MSEC(1));  // the woken one runs
    check(len == 1 && log[0] == 0);
    check(wait_queue_wake_all(&wq) == 2);
    for (int i = 0; i < 3; i++) {
        check(thread_join(t[i], NULL) == 0);
        check(b[i].status == ZX_OK);
    }
    diag("woke %d %d %d", log[0], log[1], log[2]);
    check(len == 3 && log[1] == 1 && log[2] == 2);
    check(!wait_queue_wake_one(&wq));

    arch_irq_state_t irq = thread_lock_irqsave();
    zx_status_t st = wait_queue_block(&wq, current_time() + (uint64_t)ZX_MSEC(2));
    thread_unlock_irqrestore(irq);
    check(st == ZX_ERR_TIMED_OUT);
    check(wq.head == NULL && wq.tail == NULL);
    return true;
}

// ---- locks ----

struct mutex_worker {
    struct mutex *m;
    volatile uint64_t *counter;
    volatile int *order;  // where each worker records itself when it gets the mutex
    volatile int *pos;
    int id;
    int rounds;
};

static int mutex_worker(void *arg) {
    struct mutex_worker *w = arg;
    for (int i = 0; i < w->rounds; i++) {
        mutex_lock(w->m);
        if (i == 0 && w->order != NULL) {
            w->order[(*w->pos)++] = w->id;
        }
        uint64_t v = *w->counter;
        thread_yield();  // let the others contend while it is held
        *w->counter = v + 1;
        mutex_unlock(w->m);
    }
    return 0;
}

// Mutexes exclude: four threads each add 50 to a counter with a yield inside the critical
// section, and the sum is exact; a waiter queued behind the holder gets it in FIFO order.
static bool test_mutex_exclusion(void) {
    static struct mutex m = MUTEX_INITIALIZER("selftest", LOCK_RANK_VMO);
    static volatile uint64_t counter;
    static volatile int order[4], pos;
    static struct mutex_worker w[4];
    struct thread *t[4];
    counter = 0;
    pos = 0;
    mutex_lock(&m);  // hold it while they start: each queues in creation order
    for (int i = 0; i < 4; i++) {
        w[i] = (struct mutex_worker){.m = &m, .counter = &counter, .order = order, .pos = &pos,
                                     .id = i, .rounds = 50};
        t[i] = thread_create("mutex-worker", mutex_worker, &w[i]);
        check(t[i] != NULL);
        thread_sleep(ZX_MSEC(1));  // it runs and blocks on the mutex
    }
    check(mutex_held(&m) && mutex_held_count() == 1);
    mutex_unlock(&m);
    for (int i = 0; i < 4; i++) {
        check(thread_join(t[i], NULL) == 0);
    }
    diag("counter %llu, first holders %d %d %d %d", (unsigned long long)counter, order[0],
         order[1], order[2], order[3]);
    check(counter == 200);
    check(order[0] == 0 && order[1] == 1 && order[2] == 2 && order[3] == 3);
    check(!mutex_held(&m) && mutex_held_count() == 0);
    return true;
}

// The lock order: with a rank-50 mutex held, taking rank 60 is fine and rank 40 or another
// rank-50 mutex is a violation (mutex_lock would panic naming both).
static bool test_lock_order_rule(void) {
    static struct mutex outer = MUTEX_INITIALIZER("outer", LOCK_RANK_ASPACE);
    static struct mutex same = MUTEX_INITIALIZER("same", LOCK_RANK_ASPACE);
    static struct mutex inner = MUTEX_INITIALIZER("inner", LOCK_RANK_VMO);
    static struct mutex before = MUTEX_INITIALIZER("before", LOCK_RANK_HANDLE_TABLE);
    check(mutex_order_conflict(&before) == NULL);  // nothing held
    mutex_lock(&outer);
    check(mutex_order_conflict(&inner) == NULL);
    check(mutex_order_conflict(&before) == &outer);
    check(mutex_order_conflict(&same) == &outer);
    mutex_lock(&inner);
    check(mutex_held_count() == 2);
    mutex_unlock(&inner);
    mutex_unlock(&outer);
    check(mutex_held_count() == 0);
    return true;
}

static const struct selftest_case core_cases[] = {
    {"pmm_alloc_free_reuse", test_pmm_alloc_free_reuse},
    {"pmm_contiguous", test_pmm_contiguous},
    {"heap_alloc_free", test_heap_alloc_free},
    {"heap_pages_return", test_heap_pages_return},
    {"timer_advances", test_timer_advances},
    {"sleep_duration", test_sleep_duration},
    {"thread_yield", test_thread_yield},
    {"thread_join_exit", test_thread_join_exit},
    {"preemption", test_preemption},
    {"thread_block_wake", test_thread_block_wake},
    {"wait_queue_fifo", test_wait_queue_fifo},
    {"mutex_exclusion", test_mutex_exclusion},
    {"lock_order_rule", test_lock_order_rule},
};

static const struct selftest_suite core_suite = {core_cases,
                                                 sizeof(core_cases) / sizeof(core_cases[0])};

// The suites, in run order: add one line per suite file.
extern const struct selftest_suite selftest_vm_suite;       // kernel/vm/selftest_vm.c
extern const struct selftest_suite selftest_objects_suite;  // kernel/selftest_objects.c
extern const struct selftest_suite selftest_process_suite;  // kernel/selftest_process.c
static const struct selftest_suite *const suites[] = {
    &core_suite,
    &selftest_vm_suite,
    &selftest_objects_suite,
    &selftest_process_suite,
};

void selftest_run(void) {
    size_t n = 0;
    for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
        n += suites[s]->count;
    }
    size_t failed = 0, number = 0;
    printf("KTAP version 1\n");
    printf("1..%zu\n", n);
    for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
        for (size_t i = 0; i < suites[s]->count; i++) {
            const struct selftest_case *c = &suites[s]->cases[i];
            bool ok = c->run();
            failed += !ok;
            printf("%s %zu %s\n", ok ? "ok" : "not ok", ++number, c->name);
        }
    }
    diag("selftest: %zu passed, %zu failed", n - failed, failed);
}
