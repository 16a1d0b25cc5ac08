// PL011 UART transmit path, shared by the qemu-virt platform console and the arm64 boot shim.
// Only the data register and the "transmit FIFO full" flag are used: the firmware (or QEMU)
// has already configured the line, so nothing is reprogrammed.
#pragma once

#include <stdint.h>

#include <arch/arm64/mmio.h>

#define PL011_DR 0x00            // data register
#define PL011_FR 0x18            // flag register
#define PL011_FR_TXFF (1u << 5)  // transmit FIFO full

// The UART QEMU's `virt` machine has at this address; used only until the DT says otherwise.
#define PL011_QEMU_VIRT_BASE 0x09000000u

// Sends one byte, waiting while the transmit FIFO is full.
static inline void pl011_putc(uintptr_t base, char c) {
    while (mmio_read32(base + PL011_FR) & PL011_FR_TXFF) {
    }
    mmio_write32(base + PL011_DR, (uint8_t)c);
}
