// Segment selectors of the kernel's GDT (built in arch/x86_64/start.S), shared with C code
// that names them (IDT gates in arch/x86_64/arch.c).
#pragma once

#define X86_KERNEL_CS 0x08  // 64-bit code, DPL 0
#define X86_KERNEL_DS 0x10  // data, DPL 0
