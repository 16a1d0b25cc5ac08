// Secondary CPUs on QEMU virt (include/kernel/platform.h "CPUs"): the CPU_TOPOLOGY item the
// shim built from the device tree names them by MPIDR affinity; each is started with PSCI
// CPU_ON through the conduit of the ARM_PSCI item (arch/arm64 provides the entry).
#include <kernel/platform.h>

#include <arch/arm64/psci.h>
#include <arch/arm64/smp.h>
#include <kernel/percpu.h>
#include <kernel/physmap.h>
#include <lib/zbiutil.h>

#include "qemu-virt.h"

#define PSCI_CPU_ON_64 0xc4000003u
#define MPIDR_AFFINITY_MASK 0xff00ffffffull

struct topology_walk {
    uint64_t *ids;
    uint32_t max, count;
    uint32_t boot_index;
    uint64_t self;
};

static int visit_topology(const zbi_header_t *hdr, const void *payload, void *ctx) {
    struct topology_walk *w = ctx;
    if (hdr->type != ZBI_TYPE_CPU_TOPOLOGY || w->count != 0) {
        return 0;
    }
    const zbi_topology_node_t *nodes = payload;
    size_t n = hdr->length / sizeof(*nodes);
    for (size_t i = 0; i < n && w->count < w->max; i++) {
        const zbi_topology_processor_t *p = &nodes[i].entity.processor;
        if (nodes[i].entity_type != ZBI_TOPOLOGY_ENTITY_PROCESSOR ||
            p->architecture != ZBI_TOPOLOGY_ARCH_ARM) {
            continue;
        }
        const zbi_topology_arm_info_t *arm = &p->architecture_info.arm;
        uint64_t mpidr = (uint64_t)arm->cluster_3_id << 32 | (uint64_t)arm->cluster_2_id << 16 |
                         (uint64_t)arm->cluster_1_id << 8 | arm->cpu_id;
        if (mpidr == w->self) {
            w->boot_index = w->count;
        }
        w->ids[w->count++] = mpidr;
    }
    return 0;
}

uint32_t platform_cpu_discover(const struct boot_info *bi, uint64_t ids[], uint32_t max,
                               uint32_t *boot_index) {
    uint64_t self;
    __asm__ volatile("mrs %0, mpidr_el1" : "=r"(self));
    struct topology_walk w = {.ids = ids, .max = max, .self = self & MPIDR_AFFINITY_MASK};
    zbi_for_each(paddr_to_physmap(bi->zbi_paddr), visit_topology, &w);
    if (w.count == 0) {
        ids[0] = w.self;
        w.count = 1;
    }
    *boot_index = w.boot_index;
    return w.count;
}

const char *platform_cpu_start(struct percpu *c, uint64_t hw_id, uintptr_t stack_top) {
    if (qemu_virt.psci_use_hvc < 0) {
        return "no PSCI conduit";
    }
    uint64_t context;
    uintptr_t entry = arm64_secondary_prepare(c, stack_top, &context);
    int64_t ret = (int64_t)psci_call(qemu_virt.psci_use_hvc, PSCI_CPU_ON_64, hw_id, entry, context);
    if (ret != 0) {
        return ret == -4 ? "PSCI CPU_ON: already on" : "PSCI CPU_ON refused";
    }
    return NULL;
}

void platform_cpu_abandon(uint64_t hw_id) {
    (void)hw_id;  // PSCI cannot take back a CPU_ON; a late CPU parks itself (kernel/smp.c)
}
