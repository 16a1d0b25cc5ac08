// PSCI (Arm Power State Coordination Interface) calls and the halt fallback, shared by the
// qemu-virt platform code and the phys programs. The conduit is HVC or SMC as the firmware
// description says (the DT /psci `method`, or the ARM_PSCI KERNEL_DRIVER item's use_hvc);
// the call follows the SMC Calling Convention: function id in x0, arguments in x1-x3,
// result in x0.
#pragma once

#include <stdint.h>

#define PSCI_SYSTEM_OFF 0x84000008u

// Issues one PSCI call through the chosen conduit and returns x0. SMCCC 1.0 lets the callee
// clobber x4-x17, so they are declared clobbered. Never returns for a successful SYSTEM_OFF.
static inline uint64_t psci_call(int use_hvc, uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3) {
    register uint64_t x0 __asm__("x0") = fn;
    register uint64_t x1 __asm__("x1") = a1;
    register uint64_t x2 __asm__("x2") = a2;
    register uint64_t x3 __asm__("x3") = a3;
    if (use_hvc) {
        __asm__ volatile("hvc #0"
                         : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                         :
                         : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
                           "x15", "x16", "x17", "memory");
    } else {
        __asm__ volatile("smc #0"
                         : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
                         :
                         : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
                           "x15", "x16", "x17", "memory");
    }
    return x0;
}

// Waits for an interrupt forever (with everything masked: the CPU just sleeps). The last
// resort when power-off is impossible or failed.
__attribute__((noreturn)) static inline void arm64_halt(void) {
    for (;;) {
        __asm__ volatile("wfi");
    }
}
