// A zhb-private KERNEL_DRIVER item (not a Fuchsia driver id) describing the generic PCIe host
// bridge of the qemu-virt board: where its ECAM configuration space and its 32-bit memory
// window are. The arm64 boot shim writes it from the DT `pci-host-ecam-generic` node; the
// platform code uses it to reach pvpanic-pci without parsing a devicetree.
#pragma once

#include <stdint.h>

#define ZHB_KERNEL_DRIVER_PCIE_ECAM 0x4d43457au  // zECM

typedef struct {
    uint64_t ecam_phys;  // configuration space of bus `bus_start` (1 MiB per bus)
    uint64_t ecam_size;
    uint64_t mmio32_cpu;   // CPU physical address of the 32-bit memory window
    uint64_t mmio32_pci;   // the same window as a PCI bus address (what a BAR holds)
    uint64_t mmio32_size;  // 0 if the bridge has no 32-bit memory window
    uint8_t bus_start;
    uint8_t bus_end;
    uint8_t reserved[6];
} zhb_dcfg_pcie_ecam_t;
_Static_assert(sizeof(zhb_dcfg_pcie_ecam_t) == 48, "zhb_dcfg_pcie_ecam_t is 48 bytes");
