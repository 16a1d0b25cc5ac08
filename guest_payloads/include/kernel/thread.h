// Kernel threads and the scheduler (kernel/thread.c).
//
// Every thread has its own kernel stack (<kernel/kstack.h>: pmm pages in the kernel-stack
// region with an unmapped guard below, so an overflow panics naming the thread) and runs
// until it returns from its entry function or calls thread_exit(). One global run queue,
// round-robin: a thread runs for at most THREAD_QUANTUM_TICKS ticks of the timer before the tick preempts it
// in favour of the next ready thread, so a thread spinning in a tight loop cannot starve the
// others. When nothing is ready the idle thread halts the CPU until the next interrupt.
//
// Lifetime: thread_create() returns a ready thread; exactly one other thread must
// thread_join() it, which reaps its stack and struct, unless it was thread_detach()ed: then
// the idle thread frees it after it exited.
//
// Blocking: thread_block(deadline) parks the running thread until thread_wake() (ZX_OK), the
// deadline (ZX_ERR_TIMED_OUT) or — for a thread running a user thread — a kill of that user
// thread (ZX_ERR_INTERNAL_INTR_KILLED), as Zircon's Thread::BlockEtc reports. The caller masks
// interrupts around "check the condition, publish who to wake, block", so no wake-up is lost.
// Wait queues (struct wait_queue) are FIFO lists of blocked threads built on the two.
//
// A thread that runs a user thread (kernel/object/thread.c) carries that object and the
// user page tables: the scheduler switches the page tables (arch_aspace_activate) and the
// arch's kernel-entry stack (arch_set_kernel_stack) along with the thread.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zircon/types.h>

#include <arch/arch_percpu.h>
#include <kernel/arch.h>

#define THREAD_QUANTUM_TICKS 10u
#define THREAD_STACK_SIZE 16384u
#define THREAD_NAME_MAX 32
#define THREAD_DEADLINE_INFINITE UINT64_MAX  // a thread_block deadline that never comes

typedef int (*thread_start_fn)(void *arg);

struct thread;
struct uthread;
struct lock_stack;

// What code outside the scheduler reads of a thread on hot paths, inline: the first member of
// every struct thread (kernel/thread.c), so a struct thread * points at one of these.
struct thread_hot {
    struct uthread *user;        // the user thread it runs, or NULL (thread_set_user)
    uintptr_t user_copy_resume;  // inside a user copy: its failure exit (kernel/usercopy.c)
    struct lock_stack *locks;    // the mutexes it holds (kernel/lock.c)
    bool in_syscall;             // inside syscall_dispatch's handler call
};

static inline struct thread_hot *thread_hot(struct thread *t) {
    return (struct thread_hot *)t;
}
struct uthread;
struct arch_aspace;

// Turns the boot context (kernel_main on the boot stack) into the thread "bootstrap" and
// creates the idle thread. Called once, with interrupts masked, after the heap works.
void thread_init(void);

// The thread lock (include/kernel/lock.h): masks interrupts and takes the global scheduler
// spinlock unless this CPU already holds it (it nests per CPU). Returns the interrupt state
// for thread_unlock_irqrestore, which drops one level and releases the spinlock at depth 0.
arch_irq_state_t thread_lock_irqsave(void);
void thread_unlock_irqrestore(arch_irq_state_t state);
// True if this CPU holds the thread lock.
bool thread_lock_held(void);

// Creates a thread running entry(arg) on a fresh stack and makes it ready (it runs when the
// scheduler picks it). Returns NULL if memory is exhausted.
struct thread *thread_create(const char *name, thread_start_fn entry, void *arg);
// thread_create in two steps, so that the allocation happens before the caller takes the
// thread lock (the heap's spinlock ranks before it): thread_create_unready allocates the
// thread (on no queue; NULL if memory is exhausted; takes no lock but the allocators');
// thread_ready makes it ready (thread lock held or not); a thread never made ready is freed
// with thread_discard.
struct thread *thread_create_unready(const char *name, thread_start_fn entry, void *arg);
void thread_ready(struct thread *t);
void thread_discard(struct thread *t);

// Creates the idle thread of secondary CPU `cpu` (not ready: the CPU starts on its stack and
// runs it). NULL if memory is exhausted.
struct thread *thread_create_idle(uint32_t cpu);
// A started secondary CPU becomes a scheduler CPU: interrupts on, its idle thread (already
// its current thread) runs the idle loop and the tick switches it to ready threads.
__attribute__((noreturn)) void thread_secondary_run(void);
// True if this CPU runs its idle thread (interrupts masked).
bool thread_idle_now(void);
// The top of `t`'s kernel stack.
uintptr_t thread_stack_top(const struct thread *t);

// The thread running on this CPU (safe to call with interrupts enabled: arch_thread_current
// reads it in one instruction, which a migration cannot split). NULL before thread_init.
static inline struct thread *thread_current(void) {
    return arch_thread_current();
}

// The user thread object of the running thread; NULL on kernel-only threads.
static inline struct uthread *uthread_current(void) {
    struct thread *t = thread_current();
    return t != NULL ? thread_hot(t)->user : NULL;
}

// `t`'s user-copy failure exit slot (arch_copy_from_user's `resume`; 0 outside a copy).
static inline uintptr_t *thread_user_copy_resume(struct thread *t) {
    return &thread_hot(t)->user_copy_resume;
}
// Its name (for diagnostics).
const char *thread_name(const struct thread *t);

// Attaches the user thread object and address space `t` runs (NULL, NULL: none). Takes no
// references: the user thread object outlives its kernel thread's time in user mode.
void thread_set_user(struct thread *t, struct uthread *user, struct arch_aspace *aspace);
// Nobody will join `t`: it is freed after it exits.
void thread_detach(struct thread *t);

// Gives up the CPU to the next ready thread (returns at once if none is ready).
void thread_yield(void);

// Blocks the calling thread for at least `ns` nanoseconds (rounded up to the next tick). Not
// ended by a kill.
void thread_sleep(uint64_t ns);

// Blocks the calling thread until current_time() reaches `deadline` (rounded up to the next
// tick): ZX_OK then, or ZX_ERR_INTERNAL_INTR_KILLED at once if its user thread is killed
// first (zx_nanosleep).
zx_status_t thread_sleep_until(uint64_t deadline);

// Blocks the calling thread, which must hold the thread lock (thread_lock_irqsave), until
//   thread_wake(it)                                   -> ZX_OK
//   current_time() >= deadline (THREAD_DEADLINE_INFINITE: never; checked every tick)
//                                                     -> ZX_ERR_TIMED_OUT
//   its user thread is being killed (kill_requested)  -> ZX_ERR_INTERNAL_INTR_KILLED
// A deadline already past or a kill already requested returns at once without switching.
// Returns with the thread lock still held. Not for the idle thread.
zx_status_t thread_block(uint64_t deadline);

// Makes `t` ready if it is blocked in thread_block (which returns ZX_OK). Returns false if it
// was not blocked. Interrupts masked or not; not from an interrupt handler other than the tick.
bool thread_wake(struct thread *t);

// Ends the thread_block of the kernel thread running user thread `u`, if it is blocked, with
// ZX_ERR_INTERNAL_INTR_KILLED, and interrupts (reschedule IPI) another CPU running it, which
// then sees the kill on its way back to user mode. Call after setting u->kill_requested;
// without this call the next tick notices the kill (at most TIMER_TICK_NS later).
void thread_interrupt_user(const struct uthread *u);

// A FIFO of threads blocked on one condition. Guarded by the thread lock; zero-initialised
// is empty.
struct wait_queue {
    struct thread *head, *tail;
};

// thread_block() on `wq`: interrupts masked by the caller; the thread leaves the queue however
// it wakes.
zx_status_t wait_queue_block(struct wait_queue *wq, uint64_t deadline);
// The same, ended by a kill only if `killable` (mutex waits are not).
zx_status_t wait_queue_block_etc(struct wait_queue *wq, uint64_t deadline, bool killable);
// Wakes the longest waiter and returns it (NULL if the queue was empty). Interrupts masked.
struct thread *wait_queue_wake_first(struct wait_queue *wq);
// Wakes the longest waiter (ZX_OK from its wait_queue_block). False if the queue was empty.
bool wait_queue_wake_one(struct wait_queue *wq);
// Wakes every waiter; returns how many.
size_t wait_queue_wake_all(struct wait_queue *wq);

// Ends the calling thread with `retcode` (what thread_join reports). Never returns.
__attribute__((noreturn)) void thread_exit(int retcode);

// Waits until `t` has exited, stores its return code in *retcode (if not NULL) and frees it.
// Returns 0, or -1 if `t` is the caller or already has a joiner.
int thread_join(struct thread *t, int *retcode);

// Called from the arch interrupt exit with interrupts masked when the handler asked for a
// reschedule: puts the running thread at the back of the run queue and switches to the next.
void thread_preempt(void);

// Called by the boot CPU's timer_tick (interrupts masked, thread lock held) at time `now`:
// wakes blocked threads whose deadline is due or whose user thread is being killed, for every
// CPU, and accounts the running thread's quantum. Returns true if the running thread should
// be preempted.
bool thread_timer_tick(uint64_t now);
// A secondary CPU's tick (interrupts masked, thread lock not held): counts down the running
// thread's quantum and reads the run queue without the lock (a thread made ready meanwhile is
// seen at the next tick, if its waker's kick did not come first). True: preempt.
bool thread_tick_local(void);
// Called at the end of a syscall (interrupts masked): sends the kick to an idle CPU that a
// thread made ready during the syscall deferred (kick_idle_cpu), if that thread still waits.
void thread_syscall_done(void);

// Counters for diagnostics and the self-tests.
struct thread_stats {
    uint64_t context_switches;
    uint64_t preemptions;  // switches forced by the tick
};
struct thread_stats thread_stats(void);
