// U64_CONST(x): a 64-bit constant written once for C (with its ull suffix) and for assembly
// (which has none), e.g. the address-space constants of <arch/kernel-layout.h>.
#pragma once

#ifdef __ASSEMBLER__
#define U64_CONST(x) x
#else
#define U64_CONST(x) x##ull
#endif
