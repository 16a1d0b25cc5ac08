// Per-CPU state (include/kernel/percpu.h).
#include <kernel/percpu.h>

#include <kernel/arch.h>

struct percpu percpu_cpus[SMP_MAX_CPUS];

void percpu_init_boot(void) {
    struct percpu *c = &percpu_cpus[0];
    c->cpu_num = 0;
    arch_percpu_install(c);
    c->online = true;
}

uint32_t percpu_online_count(void) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < SMP_MAX_CPUS; i++) {
        n += __atomic_load_n(&percpu_cpus[i].online, __ATOMIC_ACQUIRE) ? 1 : 0;
    }
    return n;
}
