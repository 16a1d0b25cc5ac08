// The kernel heap (include/kernel/heap.h).
//
//   small block (<= HEAP_MAX_SMALL):  inside a class page:
//                                     [page header 64 B][block][block]...  each block is
//                                     [header 16 B][payload ...], all of the class's size
//   large block:                      [header 16 B][payload ...]  at the start of its own run
//                                     of contiguous pages (pmm_alloc_pages)
//
// A class page keeps its own free list and a count of blocks in use. The pages of a class
// that have a free block sit on the class's `partial` list; allocation takes the first of
// them (or a fresh page). When a free empties a page, the page goes back to the page
// allocator unless it is the class's only partial page (one empty page per class is kept
// against alloc/free ping-pong), so memory that the kernel used for small objects, even in
// huge numbers (a full handle table, thousands of mappings), is RAM again once they are gone.
// Large blocks go back to the page allocator on kfree. A block's header holds HEAP_MAGIC
// while allocated and HEAP_FREE_MAGIC once freed, so kfree catches double frees and foreign
// pointers; a small block's page header is checked too.
//
// Lock rule: everything here is guarded by heap_lock, a leaf spinlock (interrupts masked)
// taken before pmm_lock when the heap grows or shrinks.
#include <kernel/heap.h>

#include <stdbool.h>
#include <stdint.h>

#include <kernel/arch.h>
#include <kernel/lock.h>
#include <kernel/panic.h>
#include <kernel/pmm.h>
#include <lib/string.h>

#define HEAP_MAGIC 0x70616568u       // "heap"
#define HEAP_FREE_MAGIC 0x65657266u  // "free"
#define HEAP_PAGE_MAGIC 0x67617068u  // "hpag"
#define HEAP_CLASSES 7
#define HEAP_LARGE_CLASS 0xffu  // `cls` of a large block
#define HEAP_PAGE_HEADER 64u

struct heap_header {
    uint32_t magic;  // HEAP_MAGIC while allocated, HEAP_FREE_MAGIC once freed
    uint8_t cls;     // size class index, or HEAP_LARGE_CLASS
    uint8_t reserved[3];
    uint64_t size;  // bytes requested (large blocks: their page count is derived from it)
};
_Static_assert(sizeof(struct heap_header) == 16, "payloads stay 16-byte aligned");

struct heap_free {
    struct heap_free *next;
};

// The first HEAP_PAGE_HEADER bytes of every class page.
struct heap_page {
    uint32_t magic;  // HEAP_PAGE_MAGIC
    uint16_t cls;
    uint16_t in_use;         // allocated blocks in this page
    struct heap_free *free;  // this page's free blocks
    struct heap_page *prev, *next;  // on the class's partial list while `free` != NULL
};
_Static_assert(sizeof(struct heap_page) <= HEAP_PAGE_HEADER, "page header fits");

// Block sizes (header included): multiples of 16 that use the 4,032 bytes after the page
// header well; the largest holds two blocks a page.
static const uint16_t class_size[HEAP_CLASSES] = {32, 64, 128, 256, 496, 1008, 2016};
_Static_assert(HEAP_MAX_SMALL + sizeof(struct heap_header) == 2016, "HEAP_MAX_SMALL fills the "
                                                                    "largest class");
_Static_assert(2 * 2016 + HEAP_PAGE_HEADER <= PAGE_SIZE, "two of the largest blocks a page");

// The one lock of this file: a leaf spinlock (include/kernel/lock.h).
static spinlock_t heap_lock = SPINLOCK_INITIALIZER("heap");

// Guarded by heap_lock.
static struct heap_page *partial[HEAP_CLASSES];
static struct heap_stats stats;

// The smallest class whose blocks hold `size` bytes of payload.
static unsigned heap_class(size_t size) {
    unsigned cls = 0;
    while (class_size[cls] < size + sizeof(struct heap_header)) {
        cls++;
    }
    return cls;
}

static void partial_push(struct heap_page *page) {
    page->prev = NULL;
    page->next = partial[page->cls];
    if (page->next != NULL) {
        page->next->prev = page;
    }
    partial[page->cls] = page;
}

static void partial_remove(struct heap_page *page) {
    if (page->prev != NULL) {
        page->prev->next = page->next;
    } else {
        partial[page->cls] = page->next;
    }
    if (page->next != NULL) {
        page->next->prev = page->prev;
    }
    page->prev = page->next = NULL;
}

// A fresh page split into free blocks of class `cls`, on the partial list; NULL if no page
// is left.
static struct heap_page *heap_grow(unsigned cls) {
    struct heap_page *page = (struct heap_page *)pmm_alloc_page();
    if (page == NULL) {
        return NULL;
    }
    page->magic = HEAP_PAGE_MAGIC;
    page->cls = (uint16_t)cls;
    page->in_use = 0;
    page->free = NULL;
    size_t block = class_size[cls];
    size_t count = (PAGE_SIZE - HEAP_PAGE_HEADER) / block;
    // Pushed last to first, so the lowest block is handed out first.
    for (size_t i = count; i-- > 0;) {
        struct heap_header *h =
            (struct heap_header *)((uintptr_t)page + HEAP_PAGE_HEADER + i * block);
        h->magic = HEAP_FREE_MAGIC;
        h->cls = (uint8_t)cls;
        struct heap_free *f = (struct heap_free *)(h + 1);
        f->next = page->free;
        page->free = f;
    }
    partial_push(page);
    stats.pages++;
    return page;
}

static struct heap_header *heap_alloc_small(size_t size) {
    unsigned cls = heap_class(size);
    struct heap_page *page = partial[cls];
    if (page == NULL && (page = heap_grow(cls)) == NULL) {
        return NULL;
    }
    struct heap_free *f = page->free;
    page->free = f->next;
    page->in_use++;
    if (page->free == NULL) {
        partial_remove(page);  // full
    }
    struct heap_header *h = (struct heap_header *)f - 1;
    h->cls = (uint8_t)cls;
    return h;
}

static void heap_free_small(struct heap_header *h) {
    struct heap_page *page = (struct heap_page *)PAGE_ALIGN_DOWN((uintptr_t)h);
    if (page->magic != HEAP_PAGE_MAGIC || page->cls != h->cls || page->in_use == 0 ||
        ((uintptr_t)h - (uintptr_t)page - HEAP_PAGE_HEADER) % class_size[h->cls] != 0) {
        panic("kfree: %p is not a heap block (page header)", (void *)(h + 1));
    }
    bool was_full = page->free == NULL;
    struct heap_free *f = (struct heap_free *)(h + 1);
    f->next = page->free;
    page->free = f;
    page->in_use--;
    if (was_full) {
        partial_push(page);
    }
    if (page->in_use == 0 && (page->prev != NULL || page->next != NULL)) {
        // Empty, and the class has another page with room: give it back.
        partial_remove(page);
        page->magic = 0;
        stats.pages--;
        pmm_free_page((uintptr_t)page);
    }
}

static size_t heap_large_pages(size_t size) {
    return (size_t)(PAGE_ALIGN_UP(size + sizeof(struct heap_header)) >> PAGE_SHIFT);
}

void *kmalloc(size_t size) {
    if (size == 0 || size > ((size_t)1 << 40)) {
        return NULL;
    }
    arch_irq_state_t irq = spin_lock_irqsave(&heap_lock);
    struct heap_header *h;
    if (size <= HEAP_MAX_SMALL) {
        h = heap_alloc_small(size);
    } else {
        size_t pages = heap_large_pages(size);
        h = (struct heap_header *)pmm_alloc_pages(pages);
        if (h != NULL) {
            h->cls = HEAP_LARGE_CLASS;
            stats.pages += pages;
        }
    }
    if (h != NULL) {
        h->magic = HEAP_MAGIC;
        h->size = size;
        stats.allocated_blocks++;
        stats.allocated_bytes += size;
    }
    spin_unlock_irqrestore(&heap_lock, irq);
    return h != NULL ? h + 1 : NULL;
}

void *kzalloc(size_t size) {
    void *p = kmalloc(size);
    if (p != NULL) {
        memset(p, 0, size);
    }
    return p;
}

void kfree(void *ptr) {
    if (ptr == NULL) {
        return;
    }
    struct heap_header *h = (struct heap_header *)ptr - 1;
    arch_irq_state_t irq = spin_lock_irqsave(&heap_lock);
    if (h->magic == HEAP_FREE_MAGIC) {
        panic("kfree: double free of %p", ptr);
    }
    if (h->magic != HEAP_MAGIC || (h->cls >= HEAP_CLASSES && h->cls != HEAP_LARGE_CLASS) ||
        (h->cls == HEAP_LARGE_CLASS) != ((uintptr_t)h % PAGE_SIZE == 0)) {
        panic("kfree: %p is not a heap block", ptr);
    }
    h->magic = HEAP_FREE_MAGIC;
    stats.allocated_blocks--;
    stats.allocated_bytes -= h->size;
    if (h->cls == HEAP_LARGE_CLASS) {
        size_t pages = heap_large_pages(h->size);
        stats.pages -= pages;
        pmm_free_pages((uintptr_t)h, pages);
    } else {
        heap_free_small(h);
    }
    spin_unlock_irqrestore(&heap_lock, irq);
}

struct heap_stats heap_stats(void) {
    arch_irq_state_t irq = spin_lock_irqsave(&heap_lock);
    struct heap_stats s = stats;
    spin_unlock_irqrestore(&heap_lock, irq);
    return s;
}
