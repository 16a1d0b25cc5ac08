// The physical page allocator (kernel/pmm.c): 4 KiB pages of RAM, tracked in one bitmap.
//
// Built once from the MEM_CONFIG RAM ranges of the data ZBI, minus everything in use at boot:
// the kernel image and its reserve (bss, boot stack, page tables), the data ZBI, every
// RESERVED or PERIPHERAL range, the low 1 MiB (firmware data on PCs; no RAM there on arm64),
// page 0, and RAM at or above arch_phys_limit(). Pages are handed out as kernel addresses in
// the physmap (<kernel/physmap.h>: vaddr_to_paddr gives the physical address a page table
// entry needs), so a page is usable as a pointer at once.
// All functions may be called with interrupts enabled or masked (they mask internally).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <kernel/bootinfo.h>

#define PAGE_SIZE 4096u
#define PAGE_SHIFT 12
#define PAGE_ALIGN_UP(x) (((x) + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1))
#define PAGE_ALIGN_DOWN(x) ((x) & ~(uint64_t)(PAGE_SIZE - 1))

struct pmm_stats {
    size_t total_pages;  // RAM pages the allocator manages (free or allocated)
    size_t free_pages;   // pages available now
    size_t ranges;       // RAM ranges that contributed pages
};

// Builds the allocator from `bi` (see the map above). Called once by kernel_main, before any
// other pmm_* call. Panics if the memory map leaves no page at all.
void pmm_init(const struct boot_info *bi);

// Returns the physmap address of a free page (contents undefined), or 0 if none is left.
uintptr_t pmm_alloc_page(void);
// Like pmm_alloc_page, but the page is filled with zeros.
uintptr_t pmm_alloc_zeroed_page(void);
// Returns `count` physically contiguous free pages (lowest address first fit), or 0.
uintptr_t pmm_alloc_pages(size_t count);
// Gives back a page from pmm_alloc_*; panics on a page the allocator does not own or a page
// that is already free.
void pmm_free_page(uintptr_t page);
// Gives back `count` contiguous pages starting at `page` (each as pmm_free_page).
void pmm_free_pages(uintptr_t page, size_t count);
// Fills the page at `page` with zeros.
void pmm_zero_page(uintptr_t page);

// Current counts.
struct pmm_stats pmm_stats(void);
