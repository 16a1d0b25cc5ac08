// State the qemu-virt platform code (platform.c, pvpanic.c) shares: what platform_init found
// in the data ZBI's KERNEL_DRIVER items.
#pragma once

#include <stdint.h>

#include <platform/pcie-ecam.h>

struct qemu_virt {
    uintptr_t uart;                    // PL011 registers; 0 until platform_init
    int psci_use_hvc;                  // -1: no ARM_PSCI item, so power-off can only halt
    const zhb_dcfg_pcie_ecam_t *pcie;  // the private PCIE_ECAM item, or NULL
};

extern struct qemu_virt qemu_virt;
