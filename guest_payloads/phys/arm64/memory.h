// Physical memory bookkeeping of the arm64 boot shim (memory.c): the RAM ranges the DT lists,
// the ranges already in use (the shim and its appended ZBI, the DTB, the initrd, the DTB's
// reservations) and first-fit allocation of new blocks (the kernel, the data ZBI) from the
// rest. Blocks are never freed: the shim allocates twice and then leaves.
#pragma once

#include <stdint.h>

#include "board.h"

#define MEMORY_MAX_USED 24

struct memory {
    const struct board_range *ram;
    size_t ram_count;
    struct board_range used[MEMORY_MAX_USED];
    size_t used_count;
};

// Starts with the board's RAM and nothing in use.
void memory_init(struct memory *mem, const struct board *board);

// Marks [base, base + size) as in use. Returns 0, or -1 if the table is full.
int memory_reserve(struct memory *mem, uint64_t base, uint64_t size);

// Finds the lowest `align`-aligned block of `size` bytes at or above `min` that lies inside one
// RAM range and overlaps nothing in use, marks it in use and returns its address; 0 if there
// is none (address 0 itself is never handed out). `align` is a power of two.
uint64_t memory_alloc(struct memory *mem, uint64_t size, uint64_t align, uint64_t min);

// Bytes from `base` to the end of the RAM range holding it; 0 if `base` is not in RAM.
uint64_t memory_room(const struct memory *mem, uint64_t base);
