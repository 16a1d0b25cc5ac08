// CPU discovery and bring-up (include/kernel/smp.h).
#include <kernel/smp.h>

#include <kernel/arch.h>
#include <kernel/platform.h>
#include <kernel/thread.h>
#include <kernel/timer.h>
#include <lib/console.h>

enum { SMP_START_IDLE, SMP_START_STARTING, SMP_START_ONLINE, SMP_START_ABANDONED };

// Per CPU: where its start stands (boot CPU and the CPU itself race on it with CAS).
static uint32_t start_state[SMP_MAX_CPUS];

// Waits until CPU `num` reports or the timeout passes; true if it came online.
static bool wait_online(uint32_t num) {
    uint64_t deadline = current_time() + SMP_START_TIMEOUT_NS;
    while (current_time() < deadline) {
        if (__atomic_load_n(&start_state[num], __ATOMIC_ACQUIRE) == SMP_START_ONLINE) {
            return true;
        }
        arch_spin_pause();
    }
    uint32_t expected = SMP_START_STARTING;
    return !__atomic_compare_exchange_n(&start_state[num], &expected, SMP_START_ABANDONED, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
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
    if (__atomic_compare_exchange_n(&start_state[c->cpu_num], &expected, SMP_START_ONLINE, false,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&c->online, true, __ATOMIC_RELEASE);
    }
    // Parked: no run queue, no tick, interrupts masked (documented in the README).
    for (;;) {
        arch_cpu_park();
    }
}
