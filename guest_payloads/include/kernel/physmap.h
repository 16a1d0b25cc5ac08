// The kernel's window on physical memory (README "Address-space map").
//
// Every physical address the kernel touches (RAM pages from the pmm, page tables, the data
// ZBI, ACPI tables, device registers) is reached through the physmap: a linear map of
// physical memory at ARCH_PHYSMAP_BASE in the upper half, present in every address space and
// never user-accessible. The kernel image itself runs at ARCH_KERNEL_IMAGE_BASE + its
// physical address (arm64: inside the physmap; x86-64: the top 2 GiB, for -mcmodel=kernel).
// Both constants come from <arch/kernel-layout.h>.
#pragma once

#include <stdint.h>

#include <arch/kernel-layout.h>

// The kernel address of physical address `paddr` (below arch_phys_limit()).
static inline void *paddr_to_physmap(uintptr_t paddr) {
    return (void *)(paddr + ARCH_PHYSMAP_BASE);
}

// The physical address behind a kernel address: a physmap address or one of the image.
static inline uintptr_t vaddr_to_paddr(const void *vaddr) {
    uintptr_t v = (uintptr_t)vaddr;
    return v >= ARCH_KERNEL_IMAGE_BASE ? v - ARCH_KERNEL_IMAGE_BASE : v - ARCH_PHYSMAP_BASE;
}
