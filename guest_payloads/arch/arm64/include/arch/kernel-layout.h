// arm64 address-space constants (include/kernel/physmap.h, include/kernel/vm.h, README
// "Address-space map"); C and assembly.
//
// TTBR1_EL1 (T1SZ 16) covers [0xffff_0000_0000_0000, 2^64): its level-0 entry 0 is the
// physmap, 512 GiB of 1 GiB blocks; the kernel image runs inside it (physmap + its load
// address), where start.S moves it by applying its relocations with that base. Level-0
// entry 1 holds the kernel stacks (<kernel/kstack.h>): 1 GiB of 32 KiB slots at
// 0xffff_0080_0000_0000, each a 16 KiB unmapped guard below a 16 KiB stack of 4 KiB pmm
// pages (static level-1 and level-2 tables, level-3 tables from the pmm). TTBR0_EL1
// holds only the user range, Zircon's [16 MiB, 2^47 - 4 KiB).
#pragma once

#include <kernel/u64-const.h>

#define ARCH_PHYSMAP_BASE U64_CONST(0xffff000000000000)
#define ARCH_PHYSMAP_SIZE U64_CONST(0x0000008000000000)  // 512 GiB
#define ARCH_KERNEL_IMAGE_BASE ARCH_PHYSMAP_BASE
#define ARCH_KSTACK_BASE U64_CONST(0xffff008000000000)
#define ARCH_KSTACK_REGION_SIZE U64_CONST(0x0000000040000000)  // 1 GiB: kernel_l0[1], l1[0]
#define ARCH_USER_ASPACE_BASE U64_CONST(0x0000000001000000)  // 16 MiB
