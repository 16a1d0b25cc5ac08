// The contract between start.S / vectors.S and the C part of an arm64 phys program (the
// boot shim or poweroff.bin). Each program defines phys_main and phys_exception.
#pragma once

#include <stdint.h>

// Called by start.S at EL1, MMU and caches off, interrupts masked, on the bss stack, after
// relocation. `dtb` is the devicetree address the boot loader passed in x0; `image_base` is
// where the first byte of this program's file was loaded.
__attribute__((noreturn)) void phys_main(uintptr_t dtb, uintptr_t image_base);

// Called from every exception vector with the vector index (0-15), ESR_EL1, ELR_EL1, FAR_EL1.
__attribute__((noreturn)) void phys_exception(uint64_t vector, uint64_t esr, uint64_t elr,
                                              uint64_t far);

// Enters a ZBI kernel (start.S): jumps to `entry` with x0 = `data_zbi`.
__attribute__((noreturn)) void phys_boot_kernel(uintptr_t entry, uintptr_t data_zbi);
