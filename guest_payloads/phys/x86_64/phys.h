// Shared by the PVH boot programs (shim.elf, poweroff.elf): the PVH start-of-day structures
// QEMU's pvh.bin option ROM hands over (Xen's arch/x86/hvm/start_info.h layout), and the
// hooks between start.S and each program's C code.
#pragma once

#include <stdint.h>

#define HVM_START_MAGIC 0x336ec578u  // "xEn3" with bit 7 of the 'E' set

// Pointed to by %ebx at the PVH entry. All addresses are physical.
struct hvm_start_info {
    uint32_t magic;    // HVM_START_MAGIC
    uint32_t version;  // 0, or >= 1 when the memmap fields are present
    uint32_t flags;
    uint32_t nr_modules;     // entries at modlist_paddr (QEMU: 1 with -initrd)
    uint64_t modlist_paddr;  // struct hvm_modlist_entry[nr_modules]
    uint64_t cmdline_paddr;  // NUL-terminated -append string, or 0
    uint64_t rsdp_paddr;     // ACPI RSDP, or 0
    uint64_t memmap_paddr;   // version >= 1: struct hvm_memmap_entry[memmap_entries]
    uint32_t memmap_entries;
    uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info is 56 bytes");

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry is 32 bytes");

// One E820-style range.
struct hvm_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;  // HVM_MEMMAP_TYPE_*
    uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_memmap_entry) == 24, "hvm_memmap_entry is 24 bytes");

#define HVM_MEMMAP_TYPE_RAM 1u  // every other type is some kind of reserved memory

// First and one-past-last byte of the program image, bss included (phys.ld).
extern char __phys_start[], __phys_end[];

// The page-directory-pointer table of start.S's 1:1 map of the low 4 GiB (4 entries used).
extern uint64_t phys_identity_pdpt[512];

// The program's C entry, called by start.S in 64-bit mode on an identity map of the low
// 4 GiB, with a stack and a zeroed bss. `start_info` is the PVH %ebx value.
__attribute__((noreturn)) void phys_main(uint32_t start_info);

// Jumps to a ZBI kernel's physical `entry` with %rsi = `data_zbi`, %rsp = %rbp = 0, IF and
// DF clear, as the boot protocol requires.
__attribute__((noreturn)) void phys_enter_kernel(uint64_t entry, uint64_t data_zbi);

// Loads the shim's GDT (start.S's descriptors plus a TSS), TSS and IDT (exceptions.c): every
// CPU exception then calls phys_exception (exception_stubs.S) on a stack of its own (IST1),
// whatever %rsp is.
void phys_install_exception_handlers(void);

// Called by exception_stubs.S with the vector, the error code (0 where the CPU pushes none) and the
// CPU's frame: RIP, CS, RFLAGS, RSP, SS.
__attribute__((noreturn)) void phys_exception(uint64_t vector, uint64_t error_code,
                                              const uint64_t *frame);
