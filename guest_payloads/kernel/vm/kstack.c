// Kernel stacks with guard pages (include/kernel/kstack.h).
//
//   slots [0, high_water)   ever handed out; a record each (struct slot_rec, in pages from
//                           the pmm, SLOT_RECS_PER_PAGE per page, made as high_water grows)
//     live                  owner != NULL, pages mapped
//     cached                on `cached` (LIFO, at most KSTACK_CACHE_MAX), pages still mapped
//     free                  on `free_slots` (LIFO), nothing mapped
//   slots [high_water, KSTACK_SLOTS)  never used, nothing mapped
//
// Allocation takes a cached stack (no page-table work), else a free or new slot whose pages
// it maps one by one from the pmm. Lock rule: the lists, records and high_water are guarded
// by kstack_lock, a leaf spinlock; mapping a new slot's pages happens after the slot is taken,
// outside it (kernel_vm_map_page masks around its own walk). kstack_guard_owner, which the
// fault path calls on the way to a panic, reads without the lock.
#include <kernel/kstack.h>

#include <kernel/arch.h>
#include <kernel/lock.h>
#include <kernel/panic.h>
#include <kernel/physmap.h>
#include <kernel/pmm.h>
#include <kernel/thread.h>
#include <kernel/vm.h>

_Static_assert(KSTACK_SIZE == THREAD_STACK_SIZE, "thread stacks are kernel stacks");
_Static_assert(KSTACK_GUARD_SIZE == 1u << KSTACK_GUARD_BIT, "guard: the slot's lower half");
_Static_assert(KSTACK_SIZE == 1u << KSTACK_GUARD_BIT, "stack: the slot's upper half");
_Static_assert(KSTACK_SLOT_SIZE == KSTACK_GUARD_SIZE + KSTACK_SIZE, "slot: guard, then stack");
_Static_assert(ARCH_KSTACK_BASE % KSTACK_SLOT_SIZE == 0, "slots are 32 KiB aligned");

#define KSTACK_PAGES (KSTACK_SIZE / PAGE_SIZE)
#define KSTACK_SLOTS (ARCH_KSTACK_REGION_SIZE / KSTACK_SLOT_SIZE)
#define NO_SLOT UINT32_MAX

struct slot_rec {
    const char *owner;  // live: the thread's name; else NULL
    uint32_t next;      // cached or free: the next slot on that list (NO_SLOT ends it)
    uint32_t pad;
};
#define SLOT_RECS_PER_PAGE (PAGE_SIZE / sizeof(struct slot_rec))

// Guarded by masking interrupts.
static struct slot_rec *rec_pages[(KSTACK_SLOTS + SLOT_RECS_PER_PAGE - 1) / SLOT_RECS_PER_PAGE];
static uint32_t high_water;
static uint32_t cached = NO_SLOT, free_slots = NO_SLOT;
static struct kstack_stats stats;

static uintptr_t slot_stack(uint32_t slot) {
    return ARCH_KSTACK_BASE + (uintptr_t)slot * KSTACK_SLOT_SIZE + KSTACK_GUARD_SIZE;
}

static struct slot_rec *rec(uint32_t slot) {
    return &rec_pages[slot / SLOT_RECS_PER_PAGE][slot % SLOT_RECS_PER_PAGE];
}

static uint32_t pop(uint32_t *list) {
    uint32_t slot = *list;
    if (slot != NO_SLOT) {
        *list = rec(slot)->next;
    }
    return slot;
}

static void push(uint32_t *list, uint32_t slot) {
    rec(slot)->next = *list;
    *list = slot;
}

// Unmaps the first `pages` pages of the stack at `base` and frees them.
static void unmap_stack(uintptr_t base, size_t pages) {
    for (size_t i = 0; i < pages; i++) {
        uintptr_t paddr = kernel_vm_unmap_page(base + i * PAGE_SIZE);
        if (paddr != 0) {
            pmm_free_page((uintptr_t)paddr_to_physmap(paddr));
        }
    }
}

static bool map_stack(uintptr_t base) {
    for (size_t i = 0; i < KSTACK_PAGES; i++) {
        uintptr_t page = pmm_alloc_page();
        if (page == 0 || kernel_vm_map_page(base + i * PAGE_SIZE, vaddr_to_paddr((void *)page),
                                            ARCH_MMU_FLAG_READ | ARCH_MMU_FLAG_WRITE) != ZX_OK) {
            if (page != 0) {
                pmm_free_page(page);
            }
            unmap_stack(base, i);
            return false;
        }
    }
    return true;
}

// Guards the slot lists, records and counters: a leaf spinlock (pmm_lock nests inside).
static spinlock_t kstack_lock = SPINLOCK_INITIALIZER("kstack");

uintptr_t kstack_alloc(const char *owner) {
    arch_irq_state_t irq = spin_lock_irqsave(&kstack_lock);
    uint32_t slot = pop(&cached);
    if (slot != NO_SLOT) {
        rec(slot)->owner = owner;
        stats.cached--;
        stats.live++;
        spin_unlock_irqrestore(&kstack_lock, irq);
        return slot_stack(slot);
    }
    slot = pop(&free_slots);
    if (slot == NO_SLOT && high_water < KSTACK_SLOTS) {
        if (high_water % SLOT_RECS_PER_PAGE == 0) {
            uintptr_t page = pmm_alloc_zeroed_page();
            if (page == 0) {
                spin_unlock_irqrestore(&kstack_lock, irq);
                return 0;
            }
            rec_pages[high_water / SLOT_RECS_PER_PAGE] = (struct slot_rec *)page;
        }
        slot = high_water++;
        stats.slots = high_water;
    }
    spin_unlock_irqrestore(&kstack_lock, irq);
    if (slot == NO_SLOT) {
        return 0;
    }
    uintptr_t base = slot_stack(slot);
    bool mapped = map_stack(base);
    irq = spin_lock_irqsave(&kstack_lock);
    if (mapped) {
        rec(slot)->owner = owner;
        stats.live++;
        stats.mapped++;
    } else {
        push(&free_slots, slot);
    }
    spin_unlock_irqrestore(&kstack_lock, irq);
    return mapped ? base : 0;
}

void kstack_free(uintptr_t base) {
    uintptr_t off = base - ARCH_KSTACK_BASE - KSTACK_GUARD_SIZE;
    uint32_t slot = (uint32_t)(off / KSTACK_SLOT_SIZE);
    arch_irq_state_t irq = spin_lock_irqsave(&kstack_lock);
    if (base < ARCH_KSTACK_BASE || off % KSTACK_SLOT_SIZE != 0 || slot >= high_water ||
        rec(slot)->owner == NULL) {
        panic("kstack_free: 0x%lx is not a live kernel stack", (unsigned long)base);
    }
    rec(slot)->owner = NULL;
    stats.live--;
    if (stats.cached < KSTACK_CACHE_MAX) {
        push(&cached, slot);
        stats.cached++;
        spin_unlock_irqrestore(&kstack_lock, irq);
        return;
    }
    spin_unlock_irqrestore(&kstack_lock, irq);
    unmap_stack(base, KSTACK_PAGES);
    irq = spin_lock_irqsave(&kstack_lock);
    push(&free_slots, slot);
    spin_unlock_irqrestore(&kstack_lock, irq);
}

const char *kstack_guard_owner(uintptr_t addr) {
    if (addr - (uintptr_t)kstack_boot_guard < KSTACK_GUARD_SIZE) {
        return "bootstrap";  // the boot stack is the bootstrap thread's (kernel/thread.c)
    }
    if (addr < ARCH_KSTACK_BASE || addr - ARCH_KSTACK_BASE >= ARCH_KSTACK_REGION_SIZE) {
        return NULL;
    }
    uintptr_t off = addr - ARCH_KSTACK_BASE;
    uint32_t slot = (uint32_t)(off / KSTACK_SLOT_SIZE);
    if (off % KSTACK_SLOT_SIZE >= KSTACK_GUARD_SIZE || slot >= high_water) {
        return NULL;
    }
    return rec(slot)->owner;
}

struct kstack_stats kstack_stats(void) {
    arch_irq_state_t irq = spin_lock_irqsave(&kstack_lock);
    struct kstack_stats s = stats;
    spin_unlock_irqrestore(&kstack_lock, irq);
    return s;
}

// ---- kernel.test.stack-overflow --------------------------------------------------------------

// Never reached; being volatile, it keeps the compiler from calling the recursion infinite.
static volatile unsigned overflow_depth_limit = UINT32_MAX;

__attribute__((noinline)) static unsigned recurse(unsigned depth) {
    volatile char frame[256];  // each level uses a real frame on the stack
    frame[0] = (char)depth;
    if (depth >= overflow_depth_limit) {
        return frame[0];
    }
    return recurse(depth + 1) + frame[0];
}

static int overflow_thread(void *arg) {
    (void)arg;
    return (int)recurse(0);
}

void kstack_test_overflow(void) {
    struct thread *t = thread_create(KSTACK_TEST_THREAD_NAME, overflow_thread, NULL);
    if (t == NULL) {
        panic("kstack_test_overflow: no memory for the thread");
    }
    thread_join(t, NULL);
    panic("kstack_test_overflow: thread %s returned from its recursion", KSTACK_TEST_THREAD_NAME);
}
