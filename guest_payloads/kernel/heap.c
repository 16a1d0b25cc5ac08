// The kernel heap (include/kernel/heap.h).
//
//   small block (<= HEAP_MAX_SMALL):  [header 16 B][payload ...]  inside a page split into
//                                     blocks of one size class (32, 64, ..., 2048 bytes)
//   large block:                      [header 16 B][payload ...]  at the start of its own run
//                                     of contiguous pages (pmm_alloc_pages)
//
// Free small blocks sit on a per-class free list threaded through their payload; pages given
// to a class stay with it. Large blocks go back to the page allocator on kfree. A block's
// header holds HEAP_MAGIC while allocated and HEAP_FREE_MAGIC once freed, so kfree catches
// double frees and foreign pointers.
//
// Lock rule: the free lists and counters are guarded by heap_lock, a spinlock (interrupts
// masked) taken before pmm_lock when the heap grows.
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
#define HEAP_MIN_SHIFT 5             // smallest class: 32 bytes
#define HEAP_CLASSES 7               // 32 .. 2048
#define HEAP_LARGE_CLASS 0xffu       // `cls` of a large block

struct heap_header {
    uint32_t magic;  // HEAP_MAGIC while allocated, HEAP_FREE_MAGIC once freed
    uint8_t cls;     // size class index, or HEAP_LARGE_CLASS
    uint8_t reserved[3];
    uint64_t size;  // bytes requested (large blocks: their page count is derived from it)
};
_Static_assert(sizeof(struct heap_header) == 16, "payloads stay 16-byte aligned");
_Static_assert(HEAP_MAX_SMALL + sizeof(struct heap_header) ==
                   (1u << (HEAP_MIN_SHIFT + HEAP_CLASSES - 1)),
               "HEAP_MAX_SMALL fills the largest class");

struct heap_free {
    struct heap_free *next;
};

// Guarded by heap_lock.
// The one lock of this file: a leaf spinlock (include/kernel/lock.h).
static spinlock_t heap_lock = SPINLOCK_INITIALIZER("heap");

static struct heap_free *free_lists[HEAP_CLASSES];
static struct heap_stats stats;

// The smallest class whose blocks hold `size` bytes of payload.
static unsigned heap_class(size_t size) {
    unsigned cls = 0;
    while ((1u << (HEAP_MIN_SHIFT + cls)) < size + sizeof(struct heap_header)) {
        cls++;
    }
    return cls;
}

// Splits a fresh page into free blocks of class `cls`; false if no page is left.
static bool heap_grow(unsigned cls) {
    uintptr_t page = pmm_alloc_page();
    if (page == 0) {
        return false;
    }
    size_t block = 1u << (HEAP_MIN_SHIFT + cls);
    for (size_t off = PAGE_SIZE; off >= block; off -= block) {
        struct heap_header *h = (struct heap_header *)(page + off - block);
        h->magic = HEAP_FREE_MAGIC;
        struct heap_free *f = (struct heap_free *)(h + 1);
        f->next = free_lists[cls];
        free_lists[cls] = f;
    }
    stats.pages++;
    return true;
}

static struct heap_header *heap_alloc_small(size_t size) {
    unsigned cls = heap_class(size);
    if (free_lists[cls] == NULL && !heap_grow(cls)) {
        return NULL;
    }
    struct heap_free *f = free_lists[cls];
    free_lists[cls] = f->next;
    struct heap_header *h = (struct heap_header *)f - 1;
    h->cls = (uint8_t)cls;
    return h;
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
    if (h->magic != HEAP_MAGIC || (h->cls >= HEAP_CLASSES && h->cls != HEAP_LARGE_CLASS)) {
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
        struct heap_free *f = ptr;
        f->next = free_lists[h->cls];
        free_lists[h->cls] = f;
    }
    spin_unlock_irqrestore(&heap_lock, irq);
}

struct heap_stats heap_stats(void) {
    arch_irq_state_t irq = spin_lock_irqsave(&heap_lock);
    struct heap_stats s = stats;
    spin_unlock_irqrestore(&heap_lock, irq);
    return s;
}
