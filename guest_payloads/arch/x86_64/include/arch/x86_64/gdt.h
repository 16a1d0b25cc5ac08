// Segment selectors of the kernel's GDT (built in arch/x86_64/start.S; the TSS descriptor is
// filled in by arch_init), shared with C and asm code that names them.
//
// The order is fixed by syscall/sysret (MSR_STAR): syscall loads CS = STAR[47:32] (kernel
// code) and SS = that + 8; 64-bit sysret loads CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8,
// so the user 32-bit code slot (never used) is followed by user data, then user 64-bit code.
#pragma once

#define X86_KERNEL_CS 0x08    // 64-bit code, DPL 0
#define X86_KERNEL_DS 0x10    // data, DPL 0
#define X86_USER_CS32 0x18    // 32-bit code, DPL 3 (only as sysret's base)
#define X86_USER_DS 0x20      // data, DPL 3
#define X86_USER_CS 0x28      // 64-bit code, DPL 3
#define X86_TSS_SEL 0x30      // 16-byte 64-bit TSS descriptor
#define X86_GDT_ENTRIES 8     // 8-byte slots, the TSS taking two

#define X86_RPL_USER 3
