// The 64-bit task-state segment (Intel SDM vol. 3, "Task-State Segment in IA-32e Mode"):
// one layout for the kernel (arch/x86_64/arch.c: kernel-entry stack and IST stacks) and the
// PVH shim (phys/x86_64/exceptions.c: its own IST stack for faults in the kernel it loads).
#pragma once

#include <stdint.h>

struct x86_tss {
    uint32_t reserved0;
    uint64_t rsp0, rsp1, rsp2;
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct x86_tss) == 104, "64-bit TSS layout");
