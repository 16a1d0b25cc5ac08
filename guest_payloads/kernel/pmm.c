// Physical page allocator (include/kernel/pmm.h): one bitmap, one bit per 4 KiB page.
//
//   arenas[i]:  base ........................................... base + pages * PAGE_SIZE
//   bitmap:     [first_bit ................. first_bit + pages)   1 = in use, 0 = free
//
// Each RAM range of the memory map (page-aligned inwards, clipped to [PMM_LOW_LIMIT,
// arch_phys_limit())) becomes an arena with a slice of the static bitmap. Every page starts
// free; then everything the boot protocol says is in use is marked used: the kernel image
// and reserve, the data ZBI, and every non-RAM range of the memory map. Allocation is first
// fit from the lowest address, so a page just freed is the next one handed out again.
// Arenas and the bitmap are physical; the pages handed out and taken back are their physmap
// addresses (<kernel/physmap.h>).
//
// Lock rule: all state below is guarded by pmm_lock, a leaf spinlock (interrupts masked).
#include <kernel/pmm.h>

#include <stdbool.h>

#include <kernel/arch.h>
#include <kernel/lock.h>
#include <kernel/panic.h>
#include <kernel/physmap.h>
#include <lib/string.h>
#include <lib/zbiutil.h>

// RAM below this is never used: BIOS data and EBDA on PCs; no RAM there on arm64 virt.
#define PMM_LOW_LIMIT 0x100000u
// Pages the bitmap can track: 4 GiB of RAM; the rest of a larger machine is ignored.
#define PMM_MAX_PAGES (1u << 20)
#define BITS_PER_WORD 64u

// The kernel as loaded: zbi_kernel_t comes right after the container and kernel item
// headers (boot protocol), and the reserve ends at _end (both from arch/<arch>/kernel.ld).
extern const char __zbi_kernel[];
extern const char _end[];

struct pmm_arena {
    uintptr_t base;    // first page
    size_t pages;      // pages in the arena
    size_t first_bit;  // its first bit in `bitmap`
};

// Guarded by pmm_lock.
// The one lock of this file: a leaf spinlock (include/kernel/lock.h).
static spinlock_t pmm_lock = SPINLOCK_INITIALIZER("pmm");

static uint64_t bitmap[PMM_MAX_PAGES / BITS_PER_WORD];
static struct pmm_arena arenas[BOOT_MAX_MEM_RANGES];
static size_t arena_count;
static size_t bits_used;  // bits of `bitmap` handed to arenas
static size_t total_pages;
static size_t free_pages;
static size_t free_hint;  // word of `bitmap`: every bit below it is in use (pmm_lock)

static bool bit_test(size_t bit) {
    return (bitmap[bit / BITS_PER_WORD] >> (bit % BITS_PER_WORD)) & 1;
}

static void bit_set(size_t bit) {
    bitmap[bit / BITS_PER_WORD] |= 1ull << (bit % BITS_PER_WORD);
}

static void bit_clear(size_t bit) {
    bitmap[bit / BITS_PER_WORD] &= ~(1ull << (bit % BITS_PER_WORD));
}

// Marks every managed page overlapping [start, end) as in use (it stays so for good).
static void pmm_mark_used(uint64_t start, uint64_t end) {
    start = PAGE_ALIGN_DOWN(start);
    end = PAGE_ALIGN_UP(end);
    for (size_t i = 0; i < arena_count; i++) {
        struct pmm_arena *a = &arenas[i];
        uint64_t lo = start > a->base ? start : a->base;
        uint64_t a_end = a->base + (uint64_t)a->pages * PAGE_SIZE;
        uint64_t hi = end < a_end ? end : a_end;
        for (uint64_t p = lo; p < hi; p += PAGE_SIZE) {
            size_t bit = a->first_bit + (size_t)((p - a->base) >> PAGE_SHIFT);
            if (!bit_test(bit)) {
                bit_set(bit);
                free_pages--;
            }
        }
    }
}

// Adds the RAM range [start, end) as an arena, clipped to what the kernel can use.
static void pmm_add_arena(uint64_t start, uint64_t end) {
    uint64_t limit = arch_phys_limit();
    start = PAGE_ALIGN_UP(start < PMM_LOW_LIMIT ? PMM_LOW_LIMIT : start);
    end = PAGE_ALIGN_DOWN(end > limit ? limit : end);
    if (end <= start || arena_count == BOOT_MAX_MEM_RANGES) {
        return;
    }
    size_t pages = (size_t)((end - start) >> PAGE_SHIFT);
    if (pages > PMM_MAX_PAGES - bits_used) {
        pages = PMM_MAX_PAGES - bits_used;
    }
    if (pages == 0) {
        return;
    }
    arenas[arena_count++] =
        (struct pmm_arena){.base = start, .pages = pages, .first_bit = bits_used};
    bits_used += pages;
    total_pages += pages;
    free_pages += pages;
}

void pmm_init(const struct boot_info *bi) {
    for (size_t i = 0; i < bi->mem_count; i++) {
        const zbi_mem_range_t *r = &bi->mem[i];
        if (r->type == ZBI_MEM_TYPE_RAM && r->length != 0 && r->paddr + r->length > r->paddr) {
            pmm_add_arena(r->paddr, r->paddr + r->length);
        }
    }
    for (size_t i = 0; i < bi->mem_count; i++) {
        const zbi_mem_range_t *r = &bi->mem[i];
        if (r->type != ZBI_MEM_TYPE_RAM) {
            pmm_mark_used(r->paddr, r->paddr + r->length);
        }
    }
    uintptr_t kernel_start = vaddr_to_paddr(__zbi_kernel) - 2 * sizeof(zbi_header_t);
    pmm_mark_used(kernel_start, vaddr_to_paddr(_end));
    pmm_mark_used(bi->zbi_paddr, bi->zbi_paddr + zbi_size(paddr_to_physmap(bi->zbi_paddr)));
    if (free_pages == 0) {
        panic("pmm_init: the memory map leaves no free page");
    }
}

// Finds the arena holding `paddr` and its bit; panics if no arena does.
static size_t pmm_bit_of(uintptr_t paddr, const char *who) {
    if (paddr % PAGE_SIZE == 0) {
        for (size_t i = 0; i < arena_count; i++) {
            const struct pmm_arena *a = &arenas[i];
            if (paddr >= a->base && (paddr - a->base) >> PAGE_SHIFT < a->pages) {
                return a->first_bit + ((paddr - a->base) >> PAGE_SHIFT);
            }
        }
    }
    panic("%s: 0x%lx is not a managed page", who, (unsigned long)paddr);
}

// The lowest free page, taken (pmm_lock held): one word test per 64 pages from free_hint.
static uintptr_t alloc_one_locked(void) {
    size_t words = (bits_used + BITS_PER_WORD - 1) / BITS_PER_WORD;
    for (size_t w = free_hint; w < words; w++) {
        uint64_t avail = ~bitmap[w];
        if (w == words - 1 && bits_used % BITS_PER_WORD != 0) {
            avail &= (1ull << (bits_used % BITS_PER_WORD)) - 1;  // past the last arena
        }
        if (avail == 0) {
            continue;
        }
        free_hint = w;
        size_t bit = w * BITS_PER_WORD + (size_t)__builtin_ctzll(avail);
        for (size_t i = 0; i < arena_count; i++) {
            const struct pmm_arena *a = &arenas[i];
            if (bit >= a->first_bit && bit - a->first_bit < a->pages) {
                bit_set(bit);
                free_pages--;
                return (uintptr_t)paddr_to_physmap(a->base +
                                                   ((uintptr_t)(bit - a->first_bit) << PAGE_SHIFT));
            }
        }
        panic("pmm: bit %lu belongs to no arena", (unsigned long)bit);
    }
    free_hint = words;
    return 0;
}

uintptr_t pmm_alloc_pages(size_t count) {
    if (count == 0) {
        return 0;
    }
    arch_irq_state_t irq = spin_lock_irqsave(&pmm_lock);
    if (count == 1) {
        uintptr_t page = alloc_one_locked();
        spin_unlock_irqrestore(&pmm_lock, irq);
        return page;
    }
    uintptr_t found = 0;
    for (size_t i = 0; i < arena_count && found == 0; i++) {
        const struct pmm_arena *a = &arenas[i];
        size_t run = 0;
        for (size_t page = 0; page < a->pages; page++) {
            size_t bit = a->first_bit + page;
            if (run == 0 && bit % BITS_PER_WORD == 0 && bitmap[bit / BITS_PER_WORD] == ~0ull &&
                page + BITS_PER_WORD <= a->pages) {
                page += BITS_PER_WORD - 1;  // a full word: skip it in one step
                continue;
            }
            run = bit_test(bit) ? 0 : run + 1;
            if (run == count) {
                size_t first = page + 1 - count;
                for (size_t p = first; p <= page; p++) {
                    bit_set(a->first_bit + p);
                }
                free_pages -= count;
                found = (uintptr_t)paddr_to_physmap(a->base + ((uintptr_t)first << PAGE_SHIFT));
                break;
            }
        }
    }
    spin_unlock_irqrestore(&pmm_lock, irq);
    return found;
}

uintptr_t pmm_alloc_page(void) {
    return pmm_alloc_pages(1);
}

void pmm_zero_page(uintptr_t page) {
    memset((void *)page, 0, PAGE_SIZE);
}

uintptr_t pmm_alloc_zeroed_page(void) {
    uintptr_t page = pmm_alloc_page();
    if (page != 0) {
        pmm_zero_page(page);
    }
    return page;
}

void pmm_free_pages(uintptr_t page, size_t count) {
    uintptr_t paddr = vaddr_to_paddr((const void *)page);
    arch_irq_state_t irq = spin_lock_irqsave(&pmm_lock);
    for (size_t i = 0; i < count; i++) {
        size_t bit = pmm_bit_of(paddr + i * PAGE_SIZE, "pmm_free_page");
        if (!bit_test(bit)) {
            panic("pmm_free_page: 0x%lx is already free", (unsigned long)(paddr + i * PAGE_SIZE));
        }
        bit_clear(bit);
        free_pages++;
        if (bit / BITS_PER_WORD < free_hint) {
            free_hint = bit / BITS_PER_WORD;
        }
    }
    spin_unlock_irqrestore(&pmm_lock, irq);
}

void pmm_free_page(uintptr_t page) {
    pmm_free_pages(page, 1);
}

struct pmm_stats pmm_stats(void) {
    arch_irq_state_t irq = spin_lock_irqsave(&pmm_lock);
    struct pmm_stats s = {
        .total_pages = total_pages, .free_pages = free_pages, .ranges = arena_count};
    spin_unlock_irqrestore(&pmm_lock, irq);
    return s;
}
