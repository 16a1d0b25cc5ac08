// Kernel random numbers (kernel/random.c): address-space layout randomisation and
// zx_cprng_draw.
//
// Not a cryptographic generator: SplitMix64 over a 64-bit state that is
// stirred with the monotonic clock on every call, so sequences differ from boot to boot
// (boot timing under QEMU varies) but are not secret. Good enough for placement and test
// data; zx_cprng_draw documents the same limit.
#pragma once

#include <stddef.h>
#include <stdint.h>

uint64_t random_u64(void);
// Fills buf[0..len) with random bytes.
void random_fill(void *buf, size_t len);
