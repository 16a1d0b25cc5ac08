// Kernel threads and the round-robin scheduler (include/kernel/thread.h).
//
//   run_queue:  head -> t -> t -> ... -> tail   READY threads, FIFO; the running thread and
//                                               the idle thread are never on it
//   blocked:    t -> t -> ...                   BLOCKED threads, unordered, each with its
//                                               deadline (wake_at), scanned by every tick
//   a wait_queue: head -> t -> ... -> tail      some of the BLOCKED threads (t->wq, wq_next)
//   a thread's `exited` queue                   the thread blocked in thread_join on it
//
//   create --> READY --schedule--> RUNNING --yield/preempt--> READY
//                                     |--block (sleep, join, wait queue, object wait)--> BLOCKED
//                                     |      BLOCKED --thread_wake / deadline / kill--> READY
//                                     '--exit--> DEAD --reaped by the joiner--> freed
//
// A blocked thread leaves every list it is on (blocked, its wait queue) in unblock(), which
// records why it woke (wake_status) for thread_block to return. A kill reaches a blocked user
// thread through thread_interrupt_user at once, or through the next tick's scan.
//
// Every switch goes through thread_resched() with the thread lock held. A preempted thread is
// switched out inside its timer interrupt handler and later resumes there, returning from the
// interrupt; a thread that blocked resumes in thread_resched() and restores its own interrupt
// state. A new thread starts in thread_start(), which unmasks interrupts.
//
// Lock rule: everything below (queues, states, each CPU's running thread) is guarded by the thread
// lock, one global spinlock taken with interrupts masked that nests per CPU
// (percpu->thread_lock_depth). It is handed across arch_context_switch: the switching thread
// keeps its depth in lock_depth and the resumed thread puts its own back, so the lock is held
// from "check and block" in one thread to "resume" in the next; a new thread's thread_start
// releases it.
#include <kernel/thread.h>

#include <stddef.h>

#include <kernel/arch.h>
#include <kernel/heap.h>
#include <kernel/kstack.h>
#include <kernel/lock.h>
#include <kernel/object.h>
#include <kernel/panic.h>
#include <kernel/percpu.h>
#include <kernel/pmm.h>
#include <kernel/platform.h>
#include <kernel/process.h>
#include <kernel/smp.h>
#include <kernel/timer.h>
#include <kernel/vm.h>
#include <lib/string.h>
#include <zircon/errors.h>

#define THREAD_MAGIC 0x64726874u  // "thrd"
// Written at the lowest address of every created thread's stack and checked each time the
// thread is switched away from: a thread that ran off the end of its stack has overwritten it.
#define THREAD_STACK_CANARY 0x6b63617473647268ull  // "hrdstack"

enum thread_state { THREAD_READY, THREAD_RUNNING, THREAD_BLOCKED, THREAD_DEAD };

struct thread {
    struct thread_hot hot;  // first: read inline through <kernel/thread.h>
    uint32_t magic;  // THREAD_MAGIC while the struct is live; cleared when reaped
    enum thread_state state;
    struct arch_thread arch;   // saved context while not running
    struct thread *next;       // link on the run queue or the blocked list
    struct thread *joiner;     // the thread waiting in thread_join for this one, or NULL
    struct wait_queue exited;  // its joiner blocks here until it is DEAD
    // BLOCKED:
    uint64_t wake_at;         // deadline (THREAD_DEADLINE_INFINITE: none)
    bool killable;            // a kill of its user thread ends the block
    struct wait_queue *wq;    // the wait queue it is on, or NULL
    struct thread *wq_next;   // link on that queue
    zx_status_t wake_status;  // why it woke: what thread_block returns
    uint32_t quantum_left;    // ticks left before the tick preempts it
    int retcode;              // DEAD: what it returned or passed to thread_exit
    thread_start_fn entry;
    void *arg;
    uintptr_t stack;  // base of its kernel stack (0: the boot stack, not ours)
    char name[THREAD_NAME_MAX];
    bool detached;               // reaped by the scheduler after it exits (no joiner)
    struct arch_aspace *aspace;  // user page tables to switch to, NULL: kernel-only
    struct lock_stack locks;     // mutexes it holds (kernel/lock.c)
    struct kobject_reaper reaper;  // object teardown queued behind the running one (object.c)
    uint32_t lock_depth;           // this CPU's thread-lock depth while switched out
};
_Static_assert(offsetof(struct thread, hot) == 0, "thread_hot() reads the struct's start");

// Guarded by the thread lock.
static spinlock_t thread_lock = SPINLOCK_INITIALIZER("thread");
static struct thread *run_head, *run_tail;
static struct thread *blocked;
static struct thread *zombies;  // detached DEAD threads, freed by reap_zombies() (idle, create)
static struct thread_stats stats;
static struct thread bootstrap_thread;

arch_irq_state_t thread_lock_irqsave(void) {
    arch_irq_state_t irq = arch_irq_save();
    struct percpu *c = percpu_get();
    if (c->thread_lock_depth++ == 0) {
        spin_lock(&thread_lock);
    }
    return irq;
}

void thread_unlock_irqrestore(arch_irq_state_t state) {
    struct percpu *c = percpu_get();
    if (c->thread_lock_depth == 0) {
        panic("thread lock released while not held");
    }
    if (--c->thread_lock_depth == 0) {
        spin_unlock(&thread_lock);
    }
    arch_irq_restore(state);
}

bool thread_lock_held(void) {
    return spin_lock_held(&thread_lock);
}

// The running thread and the idle thread of this CPU (thread lock held).
#define this_thread (percpu_get()->current)
#define this_idle (percpu_get()->idle)

static void run_queue_push(struct thread *t) {
    t->state = THREAD_READY;
    t->next = NULL;
    if (run_tail != NULL) {
        run_tail->next = t;
    } else {
        run_head = t;
    }
    run_tail = t;
}

static struct thread *run_queue_pop(void) {
    struct thread *t = run_head;
    if (t != NULL) {
        run_head = t->next;
        if (run_head == NULL) {
            run_tail = NULL;
        }
        t->next = NULL;
    }
    return t;
}

static void kick_deferred(struct percpu *c);

// Switches to the next ready thread (or idle). The caller masked interrupts and already put
// the running thread where it belongs (run queue, blocked, or DEAD).
static void thread_resched(void) {
    struct thread *old = this_thread;
    struct thread *next = run_queue_pop();
    struct percpu *cpu = percpu_get();
    kick_deferred(cpu);  // this CPU takes the first ready thread; more need a kick
    if (next == NULL) {
        if (old->state == THREAD_RUNNING) {
            return;  // nothing else to run: keep going
        }
        next = this_idle;
    }
    if (old->state == THREAD_RUNNING && old != this_idle) {
        run_queue_push(old);
    }
    next->state = THREAD_RUNNING;
    next->quantum_left = THREAD_QUANTUM_TICKS;
    if (next == old) {
        return;
    }
    if (next->magic != THREAD_MAGIC) {
        panic("thread_resched: run queue holds a dead thread");
    }
    if (old->stack != 0 && *(const uint64_t *)old->stack != THREAD_STACK_CANARY) {
        panic("thread_resched: thread %s overflowed its stack", old->name);
    }
    percpu_set_current(cpu, next);
    if (old == this_idle) {
        smp_poll();  // shootdowns skipped this CPU while it idled: catch up before running next
    }
    stats.context_switches++;
    if (next->aspace != old->aspace) {
        arch_aspace_activate(next->aspace);
    }
    if (next->stack != 0) {
        arch_set_kernel_stack(next->stack + THREAD_STACK_SIZE);
    }
    if (old->state == THREAD_DEAD && old->detached) {
        old->next = zombies;  // its stack is in use until the switch: free it later
        zombies = old;
    }
    old->lock_depth = cpu->thread_lock_depth;
    arch_context_switch(&old->arch, &next->arch);
    // Resumed, maybe on another CPU: the thread lock is held, at this thread's depth.
    percpu_get()->thread_lock_depth = old->lock_depth;
}

// First code of every created thread (arch_thread_init points its context here).
__attribute__((noreturn)) static void thread_start(void) {
    struct thread *self = this_thread;
    // The switch to it handed over the thread lock: release it entirely.
    percpu_get()->thread_lock_depth = 0;
    spin_unlock(&thread_lock);
    arch_irq_enable();
    thread_exit(self->entry(self->arg));
}

static void thread_set_name(struct thread *t, const char *name) {
    size_t n = strnlen(name, THREAD_NAME_MAX - 1);
    memcpy(t->name, name, n);
    t->name[n] = '\0';
}

// Allocates a thread and its stack, ready to start entry(arg), but on no queue.
static struct thread *thread_alloc(const char *name, thread_start_fn entry, void *arg) {
    struct thread *t = kzalloc(sizeof(*t));
    if (t == NULL) {
        return NULL;
    }
    thread_set_name(t, name);
    t->hot.locks = &t->locks;
    t->stack = kstack_alloc(t->name);  // guarded: an overflow faults (<kernel/kstack.h>)
    if (t->stack == 0) {
        kfree(t);
        return NULL;
    }
    *(uint64_t *)t->stack = THREAD_STACK_CANARY;
    t->magic = THREAD_MAGIC;
    t->entry = entry;
    t->arg = arg;
    arch_thread_init(&t->arch, t->stack, THREAD_STACK_SIZE, thread_start);
    return t;
}

static void thread_free(struct thread *t) {
    t->magic = 0;
    kstack_free(t->stack);
    kfree(t);
}

// Frees the detached threads that have exited (never the running one: it is not a zombie
// until it switched away for good).
static void reap_zombies(void) {
    if (__atomic_load_n(&zombies, __ATOMIC_RELAXED) == NULL) {
        return;  // a zombie queued meanwhile waits for the next call
    }
    arch_irq_state_t irq = thread_lock_irqsave();
    struct thread *list = zombies;
    zombies = NULL;
    thread_unlock_irqrestore(irq);
    while (list != NULL) {
        struct thread *t = list;
        list = t->next;
        thread_free(t);
    }
}

// Body of the idle thread: reap exited detached threads, then halt until an interrupt. The
// tick preempts it as soon as another thread is ready.
static int idle_loop(void *arg) {
    (void)arg;
    for (;;) {
        reap_zombies();
        arch_idle();
    }
}

void thread_init(void) {
    struct thread *boot = &bootstrap_thread;
    boot->magic = THREAD_MAGIC;
    boot->state = THREAD_RUNNING;
    boot->quantum_left = THREAD_QUANTUM_TICKS;
    thread_set_name(boot, "bootstrap");
    boot->hot.locks = &boot->locks;
    percpu_set_current(percpu_get(), boot);
    this_idle = thread_alloc("idle", idle_loop, NULL);
    if (this_idle == NULL) {
        panic("thread_init: no memory for the idle thread");
    }
}

struct thread *thread_create_idle(uint32_t cpu) {
    char name[THREAD_NAME_MAX] = "idle-";
    name[5] = (char)('0' + cpu % 10);
    struct thread *t = thread_alloc(name, idle_loop, NULL);
    if (t != NULL) {
        t->state = THREAD_RUNNING;
    }
    return t;
}

bool thread_idle_now(void) {
    return this_thread == this_idle;
}

// Sends the reschedule IPI if another CPU idles (thread lock held).
static void kick_now(void) {
    struct percpu *self = percpu_get();
    for (uint32_t i = 0; i < SMP_MAX_CPUS; i++) {
        struct percpu *c = &percpu_cpus[i];
        if (c != self && c->online && c->idle != NULL && c->current == c->idle) {
            platform_ipi_others(SMP_IPI_RESCHEDULE);
            return;
        }
    }
}

// A thread became ready: if another CPU idles, wake it to take it (a CPU that is busy takes it
// at its next tick or block). Thread lock held. Inside a syscall the kick waits: a syscall
// that wakes a thread often blocks right after (a call waiting for its reply, a parent waiting
// for the child it started, a futex or port ping-pong), and this CPU then runs the woken
// thread itself; a cross-CPU hand-off would cost an IPI and, under TCG, a host thread
// wake-up. The deferred kick goes out when this CPU switches threads and work is still
// queued (thread_resched), or when the syscall returns (thread_syscall_done).
static void kick_idle_cpu(void) {
    struct thread *self = this_thread;
    if (self != NULL && self->hot.in_syscall) {
        percpu_get()->kick_pending = true;
        return;
    }
    kick_now();
}

// Sends the kick `c` deferred, if any, while work still waits (thread lock held).
static void kick_deferred(struct percpu *c) {
    if (c->kick_pending) {
        c->kick_pending = false;
        if (run_head != NULL) {
            kick_now();
        }
    }
}

void thread_syscall_done(void) {
    struct percpu *c = percpu_get();
    if (!c->kick_pending) {
        return;
    }
    arch_irq_state_t irq = thread_lock_irqsave();
    kick_deferred(c);
    thread_unlock_irqrestore(irq);
}

void thread_secondary_run(void) {
    arch_irq_enable();
    idle_loop(NULL);
    panic("thread_secondary_run: the idle loop returned");
}

uintptr_t thread_stack_top(const struct thread *t) {
    return t->stack + THREAD_STACK_SIZE;
}

struct thread *thread_create_unready(const char *name, thread_start_fn entry, void *arg) {
    // The idle thread reaps too, but it never runs on a CPU that is always busy: without
    // this, threads that exited under sustained load would keep their stacks for good.
    reap_zombies();
    return thread_alloc(name, entry, arg);
}

void thread_ready(struct thread *t) {
    arch_irq_state_t irq = thread_lock_irqsave();
    run_queue_push(t);
    kick_idle_cpu();
    thread_unlock_irqrestore(irq);
}

void thread_discard(struct thread *t) {
    thread_free(t);
}

struct thread *thread_create(const char *name, thread_start_fn entry, void *arg) {
    struct thread *t = thread_create_unready(name, entry, arg);
    if (t != NULL) {
        thread_ready(t);
    }
    return t;
}

const char *thread_name(const struct thread *t) {
    return t != NULL ? t->name : "(none)";
}

struct kobject_reaper *thread_reaper(void) {
    static struct kobject_reaper boot_reaper;  // before thread_init
    struct thread *self = thread_current();
    return self != NULL ? &self->reaper : &boot_reaper;
}

void thread_set_user(struct thread *t, struct uthread *user, struct arch_aspace *aspace) {
    arch_irq_state_t irq = thread_lock_irqsave();
    t->hot.user = user;
    t->aspace = aspace;
    if (t == this_thread) {
        arch_aspace_activate(aspace);
    }
    thread_unlock_irqrestore(irq);
}

void thread_detach(struct thread *t) {
    arch_irq_state_t irq = thread_lock_irqsave();
    t->detached = true;
    thread_unlock_irqrestore(irq);
}

void thread_yield(void) {
    arch_irq_state_t irq = thread_lock_irqsave();
    thread_resched();
    thread_unlock_irqrestore(irq);
}

void thread_preempt(void) {
    arch_irq_state_t irq = thread_lock_irqsave();
    stats.preemptions++;
    thread_resched();
    thread_unlock_irqrestore(irq);
}

// ---- blocking ----

static void wait_queue_unlink(struct wait_queue *wq, struct thread *t) {
    struct thread *prev = NULL;
    for (struct thread *it = wq->head; it != NULL; prev = it, it = it->wq_next) {
        if (it == t) {
            if (prev != NULL) {
                prev->wq_next = t->wq_next;
            } else {
                wq->head = t->wq_next;
            }
            if (wq->tail == t) {
                wq->tail = prev;
            }
            break;
        }
    }
    t->wq = NULL;
    t->wq_next = NULL;
}

// Takes BLOCKED `t` off the blocked list and its wait queue and makes it READY; its
// thread_block returns `status`. Interrupts masked.
static void unblock(struct thread *t, zx_status_t status) {
    for (struct thread **link = &blocked; *link != NULL; link = &(*link)->next) {
        if (*link == t) {
            *link = t->next;
            break;
        }
    }
    if (t->wq != NULL) {
        wait_queue_unlink(t->wq, t);
    }
    t->wake_status = status;
    run_queue_push(t);
    kick_idle_cpu();
}

static bool kill_pending(const struct thread *t) {
    return t->killable && t->hot.user != NULL && t->hot.user->kill_requested;
}

// thread_block, optionally killable, optionally on `wq`. Interrupts masked.
static zx_status_t block_current(uint64_t deadline, bool killable, struct wait_queue *wq) {
    struct thread *t = this_thread;
    if (t == this_idle) {
        panic("thread_block: the idle thread cannot block");
    }
    t->killable = killable;
    if (kill_pending(t)) {
        return ZX_ERR_INTERNAL_INTR_KILLED;
    }
    if (deadline != THREAD_DEADLINE_INFINITE && deadline <= current_time()) {
        return ZX_ERR_TIMED_OUT;
    }
    t->wake_at = deadline;
    t->wake_status = ZX_ERR_INTERNAL;  // overwritten by unblock
    t->state = THREAD_BLOCKED;
    t->next = blocked;
    blocked = t;
    if (wq != NULL) {
        t->wq = wq;
        t->wq_next = NULL;
        if (wq->tail != NULL) {
            wq->tail->wq_next = t;
        } else {
            wq->head = t;
        }
        wq->tail = t;
    }
    thread_resched();
    return t->wake_status;
}

// A wait that user code controls (signals, sleeps, joins) must not hold a mutex: other
// threads would queue behind it for as long as the user likes.
static void assert_no_mutex(const char *what) {
    const struct thread *self = thread_current();
    if (self->locks.count != 0) {
        panic("%s: thread %s blocks while holding mutex %s", what, self->name,
              self->locks.held[self->locks.count - 1]->name);
    }
}

zx_status_t thread_block(uint64_t deadline) {
    assert_no_mutex("thread_block");
    return block_current(deadline, true, NULL);
}

bool thread_wake(struct thread *t) {
    arch_irq_state_t irq = thread_lock_irqsave();
    bool was_blocked = t->state == THREAD_BLOCKED;
    if (was_blocked) {
        unblock(t, ZX_OK);
    }
    thread_unlock_irqrestore(irq);
    return was_blocked;
}

// Sends a reschedule IPI to every other CPU running `u`'s thread: the interrupt brings it into
// the kernel, and its way back to user mode (user_return_check) sees the kill at once rather
// than at its next tick. One in a syscall sees it when the syscall returns. Thread lock held.
static void kick_cpus_running(const struct uthread *u) {
    struct percpu *self = percpu_get();
    for (uint32_t i = 0; i < SMP_MAX_CPUS; i++) {
        struct percpu *c = &percpu_cpus[i];
        if (c != self && c->online && c->current != NULL && c->current->hot.user == u) {
            platform_ipi_cpu(i, SMP_IPI_RESCHEDULE);
        }
    }
}

void thread_interrupt_user(const struct uthread *u) {
    arch_irq_state_t irq = thread_lock_irqsave();
    for (struct thread *t = blocked; t != NULL;) {
        struct thread *next = t->next;
        if (t->hot.user == u && kill_pending(t)) {
            unblock(t, ZX_ERR_INTERNAL_INTR_KILLED);
        }
        t = next;
    }
    kick_cpus_running(u);
    thread_unlock_irqrestore(irq);
}

zx_status_t wait_queue_block(struct wait_queue *wq, uint64_t deadline) {
    assert_no_mutex("wait_queue_block");
    return block_current(deadline, true, wq);
}

zx_status_t wait_queue_block_etc(struct wait_queue *wq, uint64_t deadline, bool killable) {
    return block_current(deadline, killable, wq);
}

struct thread *wait_queue_wake_first(struct wait_queue *wq) {
    struct thread *t = wq->head;
    if (t != NULL) {
        unblock(t, ZX_OK);
    }
    return t;
}

bool wait_queue_wake_one(struct wait_queue *wq) {
    arch_irq_state_t irq = thread_lock_irqsave();
    struct thread *t = wq->head;
    if (t != NULL) {
        unblock(t, ZX_OK);
    }
    thread_unlock_irqrestore(irq);
    return t != NULL;
}

size_t wait_queue_wake_all(struct wait_queue *wq) {
    size_t n = 0;
    while (wait_queue_wake_one(wq)) {
        n++;
    }
    return n;
}

void thread_sleep(uint64_t ns) {
    arch_irq_state_t irq = thread_lock_irqsave();
    uint64_t deadline = current_time() + ns;
    while (block_current(deadline, false, NULL) != ZX_ERR_TIMED_OUT) {
    }
    thread_unlock_irqrestore(irq);
}

zx_status_t thread_sleep_until(uint64_t deadline) {
    assert_no_mutex("thread_sleep_until");
    arch_irq_state_t irq = thread_lock_irqsave();
    zx_status_t status;
    do {
        status = block_current(deadline, true, NULL);
    } while (status == ZX_OK);  // a stray thread_wake: keep sleeping
    thread_unlock_irqrestore(irq);
    return status == ZX_ERR_TIMED_OUT ? ZX_OK : status;
}

bool thread_timer_tick(uint64_t now) {
    bool woke = false;
    for (struct thread *t = blocked; t != NULL;) {
        struct thread *next = t->next;
        if (t->wake_at <= now) {
            unblock(t, ZX_ERR_TIMED_OUT);
            woke = true;
        } else if (kill_pending(t)) {
            unblock(t, ZX_ERR_INTERNAL_INTR_KILLED);
            woke = true;
        }
        t = next;
    }
    if (this_thread == this_idle) {
        return woke || run_head != NULL;
    }
    if (this_thread->quantum_left > 0) {
        this_thread->quantum_left--;
    }
    return this_thread->quantum_left == 0 && run_head != NULL;
}

bool thread_tick_local(void) {
    struct thread *self = this_thread;  // interrupts masked: no migration
    bool ready = __atomic_load_n(&run_head, __ATOMIC_RELAXED) != NULL;
    if (self == this_idle) {
        return ready;
    }
    if (self->quantum_left > 0) {
        self->quantum_left--;  // only this CPU touches the running thread's quantum
    }
    return self->quantum_left == 0 && ready;
}

void thread_exit(int retcode) {
    (void)thread_lock_irqsave();  // never released: handed to the next thread
    struct thread *t = this_thread;
    if (t == this_idle || t == &bootstrap_thread) {
        panic("thread_exit: %s cannot exit", t->name);
    }
    t->retcode = retcode;
    t->state = THREAD_DEAD;
    wait_queue_wake_all(&t->exited);
    thread_resched();
    panic("thread_exit: a dead thread was resumed");
}

int thread_join(struct thread *t, int *retcode) {
    arch_irq_state_t irq = thread_lock_irqsave();
    if (t->magic != THREAD_MAGIC) {
        panic("thread_join: %p is not a live thread", (void *)t);
    }
    if (t == this_thread || t->joiner != NULL) {
        thread_unlock_irqrestore(irq);
        return -1;
    }
    if (t->detached) {
        panic("thread_join: %s is detached", t->name);
    }
    t->joiner = this_thread;
    while (t->state != THREAD_DEAD) {
        block_current(THREAD_DEADLINE_INFINITE, false, &t->exited);
    }
    thread_unlock_irqrestore(irq);
    // Dead and switched away from for good: nothing runs on its stack any more.
    if (retcode != NULL) {
        *retcode = t->retcode;
    }
    thread_free(t);
    return 0;
}

struct thread_stats thread_stats(void) {
    arch_irq_state_t irq = thread_lock_irqsave();
    struct thread_stats s = stats;
    thread_unlock_irqrestore(irq);
    return s;
}
