// The kernel image's sections as the kernel maps them (README "Address-space map", W^X).
//
// Both arch/<arch>/kernel.ld define these page-aligned boundaries (link addresses, which
// are the running addresses: x86-64 links at its image window, the arm64 PIE relocates):
//
//   __kernel_text_start  .. __kernel_text_end     code (and the ZBI headers before it): R X
//   __kernel_text_end    .. __kernel_rodata_end   read-only data, relocated data: R
//   __kernel_rodata_end  .. _end                  data, bss (boot stack, page tables): R W
//
// Nothing else of the kernel's address space is executable.
#pragma once

#include <stdint.h>

#include <kernel/vm.h>

extern const char __kernel_text_start[], __kernel_text_end[], __kernel_rodata_end[], _end[];

// ARCH_MMU_FLAG_* the kernel maps the image page at `vaddr` with (one of the three above;
// `vaddr` must be inside [__kernel_text_start, _end)).
static inline uint32_t kernel_image_page_flags(uintptr_t vaddr) {
    if (vaddr < (uintptr_t)__kernel_text_end) {
        return ARCH_MMU_FLAG_READ | ARCH_MMU_FLAG_EXECUTE;
    }
    if (vaddr < (uintptr_t)__kernel_rodata_end) {
        return ARCH_MMU_FLAG_READ;
    }
    return ARCH_MMU_FLAG_READ | ARCH_MMU_FLAG_WRITE;
}
