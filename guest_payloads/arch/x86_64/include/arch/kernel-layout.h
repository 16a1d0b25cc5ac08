// x86-64 address-space constants (include/kernel/physmap.h, include/kernel/vm.h, README
// "Address-space map"); C, assembly and (copied, checked by an ASSERT) kernel.ld.
//
// The kernel half is one PML4 entry, 511, shared by every address space (Zircon's layout):
//   0xffff_ff80_0000_0000  physmap: physical [0, 4 GiB), 2 MiB pages       (PDPT 0..3)
//   0xffff_ff82_0000_0000  kernel stacks (<kernel/kstack.h>): 1 GiB of 32 KiB slots, each a
//                          16 KiB unmapped guard below a 16 KiB stack of 4 KiB pmm pages
//                          (PDPT 8; its page directory is static, so every table under it
//                          is shared by every address space through PML4 entry 511)
//   0xffff_ffff_8000_0000  kernel image window: physical [0, 2 GiB) (PDPT 510..511), so the
//                          image (loaded at 1 MiB) runs at 0xffff_ffff_8010_0040, in the
//                          top 2 GiB that -mcmodel=kernel asks for
// The user range is Zircon's [16 MiB, 2^47 - 4 KiB) in PML4 entries 0..255.
#pragma once

#include <kernel/u64-const.h>

#define ARCH_PHYSMAP_BASE U64_CONST(0xffffff8000000000)
#define ARCH_PHYSMAP_SIZE U64_CONST(0x0000000100000000)  // 4 GiB
#define ARCH_KERNEL_IMAGE_BASE U64_CONST(0xffffffff80000000)
#define ARCH_KSTACK_BASE U64_CONST(0xffffff8200000000)
#define ARCH_KSTACK_REGION_SIZE U64_CONST(0x0000000040000000)  // 1 GiB: PDPT entry 8
#define ARCH_USER_ASPACE_BASE U64_CONST(0x0000000001000000)  // 16 MiB
