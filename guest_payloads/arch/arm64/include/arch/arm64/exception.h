// The kernel's arm64 exception entry (arch/arm64/vectors.S -> exception.c).
#pragma once

#include <stdint.h>

// Called from every EL1 vector with the vector index (0-15: current EL with SP0, current EL
// with SPx, lower EL AArch64, lower EL AArch32; each sync, IRQ, FIQ, SError), ESR_EL1,
// ELR_EL1 and FAR_EL1. Never returns.
__attribute__((noreturn)) void arm64_exception(uint64_t vector, uint64_t esr, uint64_t elr,
                                               uint64_t far);
