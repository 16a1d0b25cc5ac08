// The kernel heap (kernel/heap.c): variable-size allocations for kernel objects and stacks.
//
// Requests up to HEAP_MAX_SMALL bytes come from size classes (32 to 2,016-byte blocks) carved
// out of whole pages, which go back to the page allocator once empty; larger ones get their
// own run of contiguous pages from the page allocator. Every
// block carries a header with a magic, checked (and cleared) by kfree. Callable with
// interrupts enabled or masked; not from an interrupt handler that interrupted kmalloc
// itself (the heap holds a spinlock with interrupts masked while it works).
#pragma once

#include <stddef.h>

// Largest request served from a size class; anything bigger takes whole pages.
#define HEAP_MAX_SMALL 2000u

// Returns `size` bytes aligned to 16, contents undefined, or NULL when memory is exhausted
// (or size is 0).
void *kmalloc(size_t size);
// Like kmalloc, zero-filled.
void *kzalloc(size_t size);
// Frees a block from kmalloc/kzalloc; NULL does nothing. Panics on a pointer the heap did
// not hand out or a double free.
void kfree(void *ptr);

struct heap_stats {
    size_t allocated_blocks;  // live blocks
    size_t allocated_bytes;   // bytes requested by the live blocks
    size_t pages;             // pages the heap holds from the page allocator
};
struct heap_stats heap_stats(void);
