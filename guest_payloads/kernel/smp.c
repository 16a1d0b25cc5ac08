// CPU discovery and bring-up (include/kernel/smp.h).
#include <kernel/smp.h>

#include <kernel/arch.h>
#include <kernel/arch_mmu.h>
#include <kernel/platform.h>
#include <kernel/thread.h>
#include <kernel/timer.h>
#include <lib/console.h>

enum { SMP_START_IDLE, SMP_START_STARTING, SMP_START_ONLINE, SMP_START_ABANDONED };

// Per CPU: where its start stands (boot CPU and the CPU itself race on it with CAS).
static uint32_t start_state[SMP_MAX_CPUS];

// Spins until CPU `num` is online or `deadline` passes.
static bool online_by(uint32_t num, uint64_t deadline) {
    while (current_time() < deadline) {
        if (__atomic_load_n(&percpu_cpus[num].online, __ATOMIC_ACQUIRE)) {
            return true;
        }
        arch_spin_pause();
    }
    return __atomic_load_n(&percpu_cpus[num].online, __ATOMIC_ACQUIRE);
}

// Waits until CPU `num` is online; true if it came. A CPU that has not even claimed its start
// when the timeout passes is abandoned; one that claimed it gets a second timeout to finish.
static bool wait_online(uint32_t num) {
    if (online_by(num, current_time() + SMP_START_TIMEOUT_NS)) {
        return true;
    }
    uint32_t expected = SMP_START_STARTING;
    if (__atomic_compare_exchange_n(&start_state[num], &expected, SMP_START_ABANDONED, false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        return false;
    }
    return online_by(num, current_time() + SMP_START_TIMEOUT_NS);
}

// Starts the CPU with hardware id `hw_id` as CPU `num`. Returns NULL, or why it failed.
static const char *start_cpu(uint32_t num, uint64_t hw_id) {
    struct percpu *c = &percpu_cpus[num];
    c->cpu_num = num;
    struct thread *idle = thread_create_idle(num);
    if (idle == NULL) {
        return "no memory for its idle thread";
    }
    c->idle = idle;
    c->current = idle;
    __atomic_store_n(&start_state[num], SMP_START_STARTING, __ATOMIC_RELEASE);
    const char *why = platform_cpu_start(c, hw_id, thread_stack_top(idle));
    if (why != NULL) {
        __atomic_store_n(&start_state[num], SMP_START_ABANDONED, __ATOMIC_RELEASE);
        return why;
    }
    if (!wait_online(num)) {
        platform_cpu_abandon(hw_id);
        return "it did not report within the timeout";
    }
    return NULL;
}

void smp_init(const struct boot_info *bi) {
    uint64_t ids[SMP_MAX_CPUS];
    uint32_t boot_index = 0;
    uint32_t count = platform_cpu_discover(bi, ids, SMP_MAX_CPUS, &boot_index);
    uint32_t next = 1;
    for (uint32_t i = 0; i < count; i++) {
        if (i == boot_index) {
            continue;
        }
        if (next == SMP_MAX_CPUS) {
            printf("zhb kernel: cpu id 0x%lx left out: at most %u CPUs\n", (unsigned long)ids[i],
                   SMP_MAX_CPUS);
            continue;
        }
        // A CPU that failed keeps its number (and its slot stays offline), so a late arrival
        // can never take over another CPU's struct.
        uint32_t num = next++;
        const char *why = start_cpu(num, ids[i]);
        if (why != NULL) {
            printf("zhb kernel: cpu %u (id 0x%lx) failed to start: %s\n", num,
                   (unsigned long)ids[i], why);
        }
    }
    printf("zhb kernel: %u CPUs online\n", percpu_online_count());
}

void smp_secondary_main(struct percpu *c) {
    uint32_t expected = SMP_START_STARTING;
    if (!__atomic_compare_exchange_n(&start_state[c->cpu_num], &expected, SMP_START_ONLINE, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        for (;;) {
            arch_cpu_park();  // abandoned: reported as failed, it stays out
        }
    }
    platform_init_interrupts_secondary();
    platform_timer_start(TIMER_TICK_NS);
    __atomic_store_n(&c->online, true, __ATOMIC_RELEASE);
    thread_secondary_run();
}

// ---- cross-CPU requests ----

static uint64_t tlb_gen;            // generation of the latest shootdown request
static uint32_t panicked_cpu_plus1;  // 0, or the number + 1 of the CPU that panicked first

void smp_poll(void) {
    if (__atomic_load_n(&panicked_cpu_plus1, __ATOMIC_ACQUIRE) != 0) {
        for (;;) {
            arch_cpu_park();  // halted for the panic on another CPU
        }
    }
    struct percpu *c = percpu_get();
    uint64_t gen = __atomic_load_n(&tlb_gen, __ATOMIC_SEQ_CST);
    if (c->tlb_seen < gen) {
        arch_mmu_flush_local();
        __atomic_store_n(&c->tlb_seen, gen, __ATOMIC_RELEASE);
    }
}

void smp_tlb_shootdown(void) {
    if (percpu_online_count() < 2) {
        return;
    }
    arch_irq_state_t irq = arch_irq_save();
    struct percpu *self = percpu_get();
    uint64_t gen = __atomic_add_fetch(&tlb_gen, 1, __ATOMIC_SEQ_CST);
    platform_ipi_others(SMP_IPI_TLB);
    for (uint32_t i = 0; i < SMP_MAX_CPUS; i++) {
        struct percpu *c = &percpu_cpus[i];
        if (c == self || !__atomic_load_n(&c->online, __ATOMIC_ACQUIRE)) {
            continue;
        }
        // An idle CPU touches no mapping a shootdown can concern, and polls before it leaves
        // idle (thread_resched): no need to wait for it. Sequentially consistent with that
        // CPU's store of its next thread, so one of the two sees the other.
        while (__atomic_load_n(&c->tlb_seen, __ATOMIC_SEQ_CST) < gen &&
               __atomic_load_n(&c->current, __ATOMIC_SEQ_CST) != c->idle) {
            smp_poll();
            arch_spin_pause();
        }
    }
    arch_irq_restore(irq);
}

bool smp_ipi_received(uint32_t kind) {
    smp_poll();
    return kind == SMP_IPI_RESCHEDULE && thread_idle_now();
}

bool smp_panicking(void) {
    return __atomic_load_n(&panicked_cpu_plus1, __ATOMIC_ACQUIRE) != 0;
}

bool smp_panic_stop_others(void) {
    uint32_t expected = 0;
    if (!__atomic_compare_exchange_n(&panicked_cpu_plus1, &expected, percpu_get()->cpu_num + 1,
                                     false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        return false;
    }
    if (percpu_online_count() > 1) {
        platform_ipi_others(SMP_IPI_HALT);
    }
    return true;
}
