// poweroff.elf: a PVH program that powers the machine off at once, the same way the kernel
// and the shim do (platform/pc: ACPI S5, then isa-debug-exit). The boot-time baseline.
#include <platform/pc.h>

#include "phys.h"

void phys_main(uint32_t start_info) {
    const struct hvm_start_info *si = (const void *)(uintptr_t)start_info;
    pc_power_off(si->magic == HVM_START_MAGIC ? si->rsdp_paddr : 0);
}
