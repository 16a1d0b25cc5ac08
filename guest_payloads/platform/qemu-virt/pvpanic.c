// platform_panic_signal for qemu-virt: QEMU's pvpanic-pci device (`-device pvpanic-pci`, a
// Red Hat vendor id PCI function), which raises the QMP GUEST_PANICKED event when the guest
// writes PVPANIC_PANICKED to byte 0 of its BAR0.
//
// Nothing has enumerated PCI when we panic (no firmware ran), so: scan every device and
// function on bus `bus_start` of the ECAM the shim described, give BAR0 an address at the
// start of the 32-bit memory window if it has none, enable memory decoding and write the
// event. No ECAM item or no device: just return.

#include <stdint.h>

#include <arch/arm64/mmio.h>
#include <kernel/physmap.h>
#include <kernel/platform.h>
#include <platform/pcie-ecam.h>

#include "qemu-virt.h"

#define PCI_VENDOR_REDHAT 0x1b36u
#define PCI_DEVICE_PVPANIC 0x0011u
#define PCI_DEVICES 32u   // per bus
#define PCI_FUNCTIONS 8u  // per device
// ECAM: each bus, device and function has its own slice of configuration space.
#define ECAM_BUS_SHIFT 20
#define ECAM_DEV_SHIFT 15
#define ECAM_FN_SHIFT 12
#define PCI_CFG_ID 0x00  // vendor (low 16 bits), device (high 16 bits)
#define PCI_CFG_COMMAND 0x04
#define PCI_CFG_HEADER_TYPE 0x0e
#define PCI_CFG_BAR0 0x10
#define PCI_CFG_BAR1 0x14
#define PCI_COMMAND_MEMORY (1u << 1)
#define PCI_HEADER_MULTIFUNCTION 0x80u
#define PCI_BAR_IO 1u
#define PCI_BAR_TYPE_64 (2u << 1)
#define PCI_BAR_TYPE_MASK (3u << 1)
#define PCI_BAR_ADDR_MASK (~0xfu)
#define PVPANIC_PANICKED 1u

// Configuration space of device/function on bus_start (the first bus of the ECAM window).
static uintptr_t ecam_cfg(const zhb_dcfg_pcie_ecam_t *pcie, uint32_t dev, uint32_t fn) {
    return (uintptr_t)paddr_to_physmap(pcie->ecam_phys +
                                       (dev << ECAM_DEV_SHIFT | fn << ECAM_FN_SHIFT));
}

// Config space of the first pvpanic-pci function on bus_start, or 0 if there is none.
static uintptr_t pvpanic_find(const zhb_dcfg_pcie_ecam_t *pcie) {
    for (uint32_t dev = 0; dev < PCI_DEVICES; dev++) {
        for (uint32_t fn = 0; fn < PCI_FUNCTIONS; fn++) {
            uintptr_t cfg = ecam_cfg(pcie, dev, fn);
            uint32_t id = mmio_read32(cfg + PCI_CFG_ID);
            if ((id & 0xffff) == 0xffff) {
                if (fn == 0) {
                    break;  // no device in this slot
                }
                continue;
            }
            if (id == (PCI_DEVICE_PVPANIC << 16 | PCI_VENDOR_REDHAT)) {
                return cfg;
            }
            if (fn == 0 && !(mmio_read8(cfg + PCI_CFG_HEADER_TYPE) & PCI_HEADER_MULTIFUNCTION)) {
                break;
            }
        }
    }
    return 0;
}

// The CPU address of the memory BAR0 of the function at `cfg`, assigning it the start of the
// 32-bit window first if it is unassigned, and with memory decoding enabled; 0 on failure.
static uintptr_t pvpanic_bar0(const zhb_dcfg_pcie_ecam_t *pcie, uintptr_t cfg) {
    uint32_t bar = mmio_read32(cfg + PCI_CFG_BAR0);
    if (bar & PCI_BAR_IO) {
        return 0;
    }
    int is_64 = (bar & PCI_BAR_TYPE_MASK) == PCI_BAR_TYPE_64;
    uint64_t addr = bar & PCI_BAR_ADDR_MASK;
    if (is_64) {
        addr |= (uint64_t)mmio_read32(cfg + PCI_CFG_BAR1) << 32;
    }
    if (addr == 0) {
        // Size the BAR (write all ones, read back the writable bits), then place it naturally
        // aligned at the bottom of the window.
        mmio_write32(cfg + PCI_CFG_BAR0, 0xffffffffu);
        uint32_t size = ~(mmio_read32(cfg + PCI_CFG_BAR0) & PCI_BAR_ADDR_MASK) + 1;
        addr = (pcie->mmio32_pci + size - 1) & ~(uint64_t)(size - 1);
        if (size == 0 || pcie->mmio32_size == 0 ||
            addr + size > pcie->mmio32_pci + pcie->mmio32_size) {
            mmio_write32(cfg + PCI_CFG_BAR0, bar);
            return 0;
        }
        mmio_write32(cfg + PCI_CFG_BAR0, (uint32_t)addr);
        if (is_64) {
            mmio_write32(cfg + PCI_CFG_BAR1, (uint32_t)(addr >> 32));
        }
    }
    uint16_t command = mmio_read16(cfg + PCI_CFG_COMMAND);
    mmio_write16(cfg + PCI_CFG_COMMAND, (uint16_t)(command | PCI_COMMAND_MEMORY));
    // A PCI address inside the 32-bit window maps to the window's CPU address.
    if (addr >= pcie->mmio32_pci && addr - pcie->mmio32_pci < pcie->mmio32_size) {
        return (uintptr_t)paddr_to_physmap(addr - pcie->mmio32_pci + pcie->mmio32_cpu);
    }
    return (uintptr_t)paddr_to_physmap(addr);
}

void platform_panic_signal(void) {
    const zhb_dcfg_pcie_ecam_t *pcie = qemu_virt.pcie;
    if (pcie == NULL || pcie->ecam_size < (1u << ECAM_BUS_SHIFT)) {
        return;
    }
    uintptr_t cfg = pvpanic_find(pcie);
    uintptr_t bar0 = cfg != 0 ? pvpanic_bar0(pcie, cfg) : 0;
    if (bar0 != 0) {
        mmio_write8(bar0, PVPANIC_PANICKED);
    }
}
