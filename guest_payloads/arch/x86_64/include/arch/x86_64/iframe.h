// The register frame x86-64 interrupt entry (arch/x86_64/exceptions.S) saves on the kernel
// stack, lowest address first; the asm pushes it in exactly the reverse order.
#pragma once

// Bytes per IDT entry stub in exceptions.S (stub n is at x86_isr_stubs + n * this).
#define X86_ISR_STUB_SIZE 16
#define X86_VECTOR_DF 8   // #DF: on TSS IST1 (arch.c)
#define X86_VECTOR_PF 14  // #PF: on TSS IST2; exceptions.S x86_pf_entry

#ifndef __ASSEMBLER__

#include <stddef.h>
#include <stdint.h>

struct x86_iframe {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector;                    // pushed by the stub
    uint64_t err;                       // the CPU's error code, or 0 pushed by the stub
    uint64_t rip, cs, rflags, rsp, ss;  // pushed by the CPU
};
_Static_assert(offsetof(struct x86_iframe, vector) == 15 * 8, "stub pushes follow 15 GPRs");
_Static_assert(sizeof(struct x86_iframe) == 22 * 8, "exceptions.S frame size");

// Handles one interrupt or exception (arch/x86_64/arch.c): panics with a register dump on a
// CPU exception (vectors 0-31); hands interrupts to platform_irq and preempts if asked.
void x86_exception_handler(struct x86_iframe *frame);

#endif  // __ASSEMBLER__
