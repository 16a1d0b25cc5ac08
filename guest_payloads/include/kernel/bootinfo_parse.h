// Filling struct boot_info from the data ZBI (kernel/bootinfo.c); called once by kernel_main.
#pragma once

#include <stdint.h>

#include <kernel/bootinfo.h>

// Checks the data ZBI at `zbi_paddr` (zbi_check, no kernel item expected) and records its
// CMDLINE, MEM_CONFIG and KERNEL_DRIVER items in *bi. Returns 0, or -1 with *why set to a
// static message naming the fault; *bi then holds whatever was recorded before the fault.
int bootinfo_parse(struct boot_info *bi, uintptr_t zbi_paddr, const char **why);
