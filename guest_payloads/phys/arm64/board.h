// What the arm64 boot shim learns about the machine from its devicetree (board.c): RAM and
// the firmware's reservations in it, the command line, an initrd, and the devices the kernel
// needs as ZBI KERNEL_DRIVER items.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <lib/zbi-format/driver-config.h>
#include <platform/pcie-ecam.h>

#include "fdt.h"

#define BOARD_MAX_RAM 8
#define BOARD_MAX_RESERVED 8
#define BOARD_MAX_CPUS 8

struct board_range {
    uint64_t base;
    uint64_t size;
};

struct board {
    struct board_range ram[BOARD_MAX_RAM];  // every /memory node's reg entries
    size_t ram_count;
    // Memory the firmware keeps: the DTB's reservation block and /reserved-memory children.
    struct board_range reserved[BOARD_MAX_RESERVED];
    size_t reserved_count;

    const char *bootargs;               // /chosen bootargs (NUL-terminated inside the DTB), or NULL
    uint32_t bootargs_len;              // property length, including the NUL
    uint64_t initrd_start, initrd_end;  // /chosen linux,initrd-*; both 0 if absent

    int has_uart;  // an "arm,pl011" node whose status is not "disabled"
    zbi_dcfg_simple_t uart;
    int has_psci;  // a /psci node with method "hvc" or "smc"
    zbi_dcfg_arm_psci_driver_t psci;
    uint32_t gic_version;  // 0 (none found), 2 or 3
    zbi_dcfg_arm_gic_v2_driver_t gic2;
    zbi_dcfg_arm_gic_v3_driver_t gic3;
    int has_timer;  // an "arm,armv8-timer" node
    zbi_dcfg_arm_generic_timer_driver_t timer;
    int has_pcie;  // a "pci-host-ecam-generic" node
    zhb_dcfg_pcie_ecam_t pcie;
    uint64_t cpu_mpidr[BOARD_MAX_CPUS];  // /cpus/cpu@N reg: MPIDR affinity, in tree order
    size_t cpu_count;                    // (CPUs past BOARD_MAX_CPUS are dropped)
};

// Fills *board from the devicetree. Returns 0, or -1 with *why if the tree is malformed or
// holds more than BOARD_MAX_RESERVED reservations (RAM ranges past BOARD_MAX_RAM are merely
// dropped). Missing devices are not errors here: the caller decides which ones it needs.
int board_from_fdt(const struct fdt *fdt, struct board *board, const char **why);
