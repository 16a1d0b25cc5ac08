// What the kernel learned from its data ZBI. Filled by generic code (kernel/bootinfo.c) from
// the items the boot shim handed over; platform code reads it to find its devices.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lib/zbi-format/zbi.h>

#define BOOT_MAX_DRIVERS 16
#define BOOT_MAX_MEM_RANGES 32
#define BOOT_CMDLINE_MAX 1024

struct boot_driver {
    uint32_t kind;        // ZBI_KERNEL_DRIVER_* (the KERNEL_DRIVER item's extra)
    const void *config;   // the item's payload, in place inside the data ZBI
    uint32_t length;      // payload length in bytes
};

struct boot_info {
    uintptr_t zbi_paddr;                 // the data ZBI's container header
    char cmdline[BOOT_CMDLINE_MAX];      // all CMDLINE items joined by spaces, NUL-terminated
    size_t cmdline_dropped;              // bytes of CMDLINE text that did not fit (0: none)
    zbi_mem_range_t mem[BOOT_MAX_MEM_RANGES];
    size_t mem_count;
    struct boot_driver drivers[BOOT_MAX_DRIVERS];
    size_t driver_count;
};

// True if `word` is one of the space-separated words of `cmdline` (kernel/main.c).
bool cmdline_has_word(const char *cmdline, const char *word);

// Returns the first driver item of `kind`, or NULL.
const struct boot_driver *boot_find_driver(const struct boot_info *bi, uint32_t kind);
