// The kernel's arm64 exception entry (arch/arm64/vectors.S -> exception.c).
#pragma once

// Bytes vectors.S reserves on the stack for a struct arm64_iframe.
#define ARM64_IFRAME_SIZE (34 * 8)
// Vector slots from here on are taken from EL0 (vectors.S keeps SP_EL0 in the frame).
#define ARM64_SLOT_LOWER_FIRST 8

#ifndef __ASSEMBLER__

#include <stddef.h>
#include <stdint.h>

// Vector table slots (VBAR_EL1 + 0x80 * slot): four groups (current EL with SP0, current EL
// with SPx, lower EL AArch64, lower EL AArch32) of four kinds (sync, IRQ, FIQ, SError).
#define ARM64_SLOT_KINDS 4
#define ARM64_SLOT_CURRENT_SPX_SYNC 4
#define ARM64_SLOT_CURRENT_SPX_IRQ 5
#define ARM64_SLOT_LOWER_SYNC 8
#define ARM64_SLOT_LOWER_IRQ 9

// The register state vectors.S saves, lowest address first.
struct arm64_iframe {
    uint64_t x[31];  // x0-x30
    uint64_t sp;     // the stack pointer before the exception
    uint64_t elr;    // ELR_EL1: where the exception was taken
    uint64_t spsr;   // SPSR_EL1
};
_Static_assert(offsetof(struct arm64_iframe, sp) == 248, "vectors.S stores sp after x30");
_Static_assert(sizeof(struct arm64_iframe) == ARM64_IFRAME_SIZE, "vectors.S frame size");

// Called from every vector slot with the saved frame. An IRQ (from EL1 or EL0) goes to
// platform_irq (and thread_preempt if it asks) and returns; an `svc` from EL0 is a syscall
// (kernel/syscall.c); any other EL0 exception is a user fault; anything else panics with a
// register dump naming the slot, ESR_EL1, ELR_EL1 and FAR_EL1.
void arm64_exception(struct arm64_iframe *frame, uint64_t slot);

#endif  // __ASSEMBLER__
