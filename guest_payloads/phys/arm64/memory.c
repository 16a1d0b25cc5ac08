// First-fit physical allocation for the arm64 boot shim (see memory.h). Tables are tiny
// (a few RAM ranges, a few dozen used ranges), so every search is a plain rescan.

#include "memory.h"

static uint64_t align_up(uint64_t value, uint64_t align) {
    return (value + align - 1) & ~(align - 1);
}

void memory_init(struct memory *mem, const struct board *board) {
    mem->ram = board->ram;
    mem->ram_count = board->ram_count;
    mem->used_count = 0;
}

int memory_reserve(struct memory *mem, uint64_t base, uint64_t size) {
    if (mem->used_count == MEMORY_MAX_USED) {
        return -1;
    }
    if (size == 0) {
        return 0;
    }
    mem->used[mem->used_count].base = base;
    mem->used[mem->used_count].size = size;
    mem->used_count++;
    return 0;
}

uint64_t memory_room(const struct memory *mem, uint64_t base) {
    for (size_t i = 0; i < mem->ram_count; i++) {
        const struct board_range *r = &mem->ram[i];
        if (base >= r->base && base - r->base < r->size) {
            return r->size - (base - r->base);
        }
    }
    return 0;
}

// The end of the first used range that overlaps [base, base + size), or 0 if none does.
static uint64_t overlap_end(const struct memory *mem, uint64_t base, uint64_t size) {
    for (size_t i = 0; i < mem->used_count; i++) {
        const struct board_range *u = &mem->used[i];
        if (base < u->base + u->size && u->base < base + size) {
            return u->base + u->size;
        }
    }
    return 0;
}

uint64_t memory_alloc(struct memory *mem, uint64_t size, uint64_t align, uint64_t min) {
    if (size == 0 || mem->used_count == MEMORY_MAX_USED) {
        return 0;
    }
    min = min < align ? align : min;
    for (size_t i = 0; i < mem->ram_count; i++) {
        const struct board_range *r = &mem->ram[i];
        uint64_t end = r->base + r->size;
        uint64_t candidate = align_up(r->base > min ? r->base : min, align);
        while (candidate >= r->base && candidate < end && size <= end - candidate) {
            uint64_t blocker_end = overlap_end(mem, candidate, size);
            if (blocker_end == 0) {
                memory_reserve(mem, candidate, size);
                return candidate;
            }
            candidate = align_up(blocker_end, align);
        }
    }
    return 0;
}
