// Device register access for arm64 code running with the MMU off (every data access is then
// Device-nGnRnE: no merging, no reordering, no unaligned accesses). Each helper is exactly one
// load or store of the named width, so a register is never split or combined.
#pragma once

#include <stdint.h>

static inline uint8_t mmio_read8(uintptr_t addr) {
    return *(volatile const uint8_t *)addr;
}

static inline uint16_t mmio_read16(uintptr_t addr) {
    return *(volatile const uint16_t *)addr;
}

static inline uint32_t mmio_read32(uintptr_t addr) {
    return *(volatile const uint32_t *)addr;
}

static inline uint64_t mmio_read64(uintptr_t addr) {
    return *(volatile const uint64_t *)addr;
}

static inline void mmio_write8(uintptr_t addr, uint8_t value) {
    *(volatile uint8_t *)addr = value;
}

static inline void mmio_write16(uintptr_t addr, uint16_t value) {
    *(volatile uint16_t *)addr = value;
}

static inline void mmio_write32(uintptr_t addr, uint32_t value) {
    *(volatile uint32_t *)addr = value;
}
