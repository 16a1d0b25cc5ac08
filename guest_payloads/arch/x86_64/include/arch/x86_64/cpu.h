// x86-64 CPU primitives shared by the kernel, platform/pc and the PVH boot programs:
// port I/O, interrupt masking and halting. All static inline, no state.
#pragma once

#include <stdint.h>

static inline void outb(uint16_t port, uint8_t value) {
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline void outw(uint16_t port, uint16_t value) {
    __asm__ volatile("outw %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port) {
    uint8_t value;
    __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

static inline uint32_t inl(uint16_t port) {
    uint32_t value;
    __asm__ volatile("inl %1, %0" : "=a"(value) : "Nd"(port) : "memory");
    return value;
}

static inline void x86_pause(void) {
    __asm__ volatile("pause");
}

// Masks interrupts and halts this CPU for good.
__attribute__((noreturn)) static inline void x86_halt_forever(void) {
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}
