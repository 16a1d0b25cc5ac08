// Page tables of one address space: the arch_aspace_* functions of <kernel/vm.h>, as one
// generic walk over the 4-level tree of <kernel/arch_mmu.h>.
//
// Tables are pages from the pmm, reached through the physmap (<kernel/physmap.h>); entries
// hold physical addresses. The root's kernel part (arch_mmu_user_root_init) lies outside the
// user range and is never walked or freed here: the walker only touches root entries that
// cover the user range.
// Unmapping frees the tables it leaves empty, bottom up (never the root), so mapping and
// unmapping at random addresses cannot pile up page-table pages for the life of a process.
#include <kernel/vm.h>

#include <kernel/arch.h>
#include <kernel/arch_mmu.h>
#include <kernel/heap.h>
#include <kernel/kstack.h>
#include <kernel/lock.h>
#include <kernel/panic.h>
#include <kernel/physmap.h>
#include <kernel/pmm.h>
#include <kernel/thread.h>
#include <lib/string.h>
#include <zircon/errors.h>

struct arch_aspace {
    uintptr_t root;  // physical address of the level-0 table
};

static uint64_t *table_ptr(uintptr_t paddr) {
    return paddr_to_physmap(paddr);
}

// A zeroed page for a table: its physical address, or 0.
static uintptr_t table_alloc(void) {
    uintptr_t page = pmm_alloc_zeroed_page();
    return page != 0 ? vaddr_to_paddr((const void *)page) : 0;
}

static unsigned index_at(uintptr_t vaddr, int level) {
    return (unsigned)(vaddr >> (39 - 9 * level)) & (MMU_ENTRIES - 1);
}

_Static_assert(USER_ASPACE_TOP <= 1ull << 47, "the user range is in the lower half");

static bool user_page_ok(uintptr_t vaddr) {
    return (vaddr & (PAGE_SIZE - 1)) == 0 && vaddr >= USER_ASPACE_BASE &&
           vaddr < USER_ASPACE_TOP;
}

struct arch_aspace *arch_aspace_create(void) {
    struct arch_aspace *as = kzalloc(sizeof(*as));
    if (as == NULL) {
        return NULL;
    }
    as->root = table_alloc();
    if (as->root == 0) {
        kfree(as);
        return NULL;
    }
    arch_mmu_user_root_init(table_ptr(as->root));
    return as;
}

// The index of the first present entry of t[i..last], or last + 1 (absent entries are 0).
static unsigned next_present(const uint64_t *t, unsigned i, unsigned last) {
    i = (unsigned)words_next_nonzero(t, i, last + 1u);
    while (i <= last && !mmu_pte_present(t[i])) {
        i = (unsigned)words_next_nonzero(t, i + 1, last + 1u);
    }
    return i;
}

static void free_table(uintptr_t paddr, int level) {
    uint64_t *t = table_ptr(paddr);
    if (level < MMU_LEVELS - 1) {
        // The root's entries outside the user range are the kernel's (arch_mmu_user_root_init).
        unsigned first = level == 0 ? index_at(USER_ASPACE_BASE, 0) : 0;
        unsigned last = level == 0 ? index_at(USER_ASPACE_TOP - 1, 0) : MMU_ENTRIES - 1;
        for (unsigned i = next_present(t, first, last); i <= last;
             i = next_present(t, i + 1, last)) {
            free_table(t[i] & MMU_PTE_ADDR_MASK, level + 1);
        }
    }
    pmm_free_page((uintptr_t)t);
}

void arch_aspace_destroy(struct arch_aspace *as) {
    if (as == NULL) {
        return;
    }
    free_table(as->root, 0);
    kfree(as);
}

// The level-3 entry for `vaddr`, creating missing tables when `create`; NULL if absent (or
// out of memory while creating).
static uint64_t *leaf_entry(struct arch_aspace *as, uintptr_t vaddr, bool create) {
    uint64_t *t = table_ptr(as->root);
    for (int level = 0; level < MMU_LEVELS - 1; level++) {
        uint64_t *e = &t[index_at(vaddr, level)];
        if (!mmu_pte_present(*e)) {
            if (!create) {
                return NULL;
            }
            uintptr_t page = table_alloc();
            if (page == 0) {
                return NULL;
            }
            *e = arch_mmu_pte_table(page);
        }
        t = table_ptr(*e & MMU_PTE_ADDR_MASK);
    }
    return &t[index_at(vaddr, MMU_LEVELS - 1)];
}

static bool flags_ok(uint32_t flags) {
    bool wx = (flags & ARCH_MMU_FLAG_WRITE) && (flags & ARCH_MMU_FLAG_EXECUTE);
    return !wx && (flags & ARCH_MMU_FLAG_READ);
}

zx_status_t arch_aspace_map(struct arch_aspace *as, uintptr_t vaddr, uintptr_t paddr,
                            uint32_t flags) {
    if (!user_page_ok(vaddr) || (paddr & (PAGE_SIZE - 1)) != 0 || !flags_ok(flags)) {
        return ZX_ERR_INVALID_ARGS;
    }
    arch_irq_state_t s = thread_lock_irqsave();
    uint64_t *e = leaf_entry(as, vaddr, true);
    zx_status_t st = ZX_ERR_NO_MEMORY;
    if (e != NULL) {
        bool was = mmu_pte_present(*e);
        *e = arch_mmu_pte_page(paddr, flags);
        if (was) {
            arch_mmu_invalidate_page(vaddr);
        }
        st = ZX_OK;
    }
    thread_unlock_irqrestore(s);
    return st;
}

static bool table_empty(const uint64_t *t) {
    return next_present(t, 0, MMU_ENTRIES - 1) == MMU_ENTRIES;
}

// What rewrite_range does to each present leaf entry: clear it (`unmap`, which also unlinks
// the tables it leaves empty) or give it `flags`. Unlinked tables wait on `freed` (linked
// through their first word) until the shootdown is over: another CPU may still walk them.
struct rewrite {
    bool unmap;
    uint32_t flags;
    uint64_t *freed;
};

// Rewrites the present leaves of [start, end) under `t`, a level-`level` table, descending
// only into present entries: absent subtrees cost one entry each, however large the range.
static void rewrite_range(uint64_t *t, int level, uintptr_t start, uintptr_t end,
                          struct rewrite *w) {
    uintptr_t span = (uintptr_t)1 << (39 - 9 * level);
    uintptr_t table_base = start & ~((span << 9) - 1);
    unsigned last = index_at(end - 1, level);
    for (unsigned i = next_present(t, index_at(start, level), last); i <= last;
         i = next_present(t, i + 1, last)) {
        uintptr_t va = table_base + (uintptr_t)i * span;
        uintptr_t lo = va < start ? start : va;
        uintptr_t hi = va + span > end ? end : va + span;
        uint64_t *e = &t[i];
        if (level == MMU_LEVELS - 1) {
            *e = w->unmap ? 0 : arch_mmu_pte_page(*e & MMU_PTE_ADDR_MASK, w->flags);
            arch_mmu_invalidate_page(lo);
            continue;
        }
        uint64_t *child = table_ptr(*e & MMU_PTE_ADDR_MASK);
        rewrite_range(child, level + 1, lo, hi, w);
        if (w->unmap && table_empty(child)) {
            *e = 0;
            arch_mmu_invalidate_page(lo);  // drops cached walks through it too
            *(uint64_t **)child = w->freed;
            w->freed = child;
        }
    }
}

// Rewrites the present leaf entries of [vaddr, vaddr + count pages) (clipped to the user
// range) as `w` says, with one shootdown for the whole range; then frees the unlinked tables.
static void rewrite_leaves(struct arch_aspace *as, uintptr_t vaddr, size_t count,
                           struct rewrite *w) {
    vaddr &= ~(uintptr_t)(PAGE_SIZE - 1);
    if (vaddr >= USER_ASPACE_TOP) {
        return;
    }
    uintptr_t end = count > (USER_ASPACE_TOP - vaddr) / PAGE_SIZE ? USER_ASPACE_TOP
                                                                  : vaddr + count * PAGE_SIZE;
    if (vaddr < USER_ASPACE_BASE) {
        vaddr = USER_ASPACE_BASE;
    }
    if (vaddr >= end) {
        return;
    }
    w->freed = NULL;
    arch_irq_state_t s = thread_lock_irqsave();
    arch_mmu_batch_begin();
    rewrite_range(table_ptr(as->root), 0, vaddr, end, w);
    arch_mmu_batch_end();
    thread_unlock_irqrestore(s);
    while (w->freed != NULL) {
        uint64_t *t = w->freed;
        w->freed = *(uint64_t **)t;
        *(uint64_t **)t = NULL;
        pmm_free_page((uintptr_t)t);
    }
}

void arch_aspace_unmap(struct arch_aspace *as, uintptr_t vaddr, size_t count) {
    struct rewrite w = {.unmap = true};
    rewrite_leaves(as, vaddr, count, &w);
}

zx_status_t arch_aspace_protect(struct arch_aspace *as, uintptr_t vaddr, size_t count,
                                uint32_t flags) {
    if (!flags_ok(flags)) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct rewrite w = {.unmap = false, .flags = flags};
    rewrite_leaves(as, vaddr, count, &w);
    return ZX_OK;
}

zx_status_t arch_aspace_query(struct arch_aspace *as, uintptr_t vaddr, uintptr_t *paddr,
                              uint32_t *flags) {
    uintptr_t page = vaddr & ~(uintptr_t)(PAGE_SIZE - 1);
    if (!user_page_ok(page)) {
        return ZX_ERR_NOT_FOUND;
    }
    arch_irq_state_t s = thread_lock_irqsave();
    uint64_t *e = leaf_entry(as, page, false);
    zx_status_t st = ZX_ERR_NOT_FOUND;
    if (e != NULL && mmu_pte_present(*e)) {
        if (paddr != NULL) {
            *paddr = (uintptr_t)(*e & MMU_PTE_ADDR_MASK) + (vaddr - page);
        }
        if (flags != NULL) {
            *flags = arch_mmu_pte_flags(*e);
        }
        st = ZX_OK;
    }
    thread_unlock_irqrestore(s);
    return st;
}

void arch_aspace_activate(struct arch_aspace *as) {
    arch_mmu_set_root(as != NULL ? as->root : arch_mmu_kernel_root());
}

// ---- The kernel half: the kernel-stack region (<kernel/kstack.h>) ----------------------------
// The arch made every table above the leaf tables at boot (x86-64: a static page directory
// under PDPT entry 8 of the PML4 entry all address spaces share; arm64: static level-1 and
// level-2 tables under TTBR1), so a leaf table made here is at once visible everywhere.

// The kernel-stack region's page tables: a leaf spinlock of their own (kstack.c takes it
// under its own spinlock; it only ever takes the pmm's).
static spinlock_t kernel_pt_lock = SPINLOCK_INITIALIZER("kernel-pt");

static bool kstack_page_ok(uintptr_t vaddr) {
    return (vaddr & (PAGE_SIZE - 1)) == 0 && vaddr >= ARCH_KSTACK_BASE &&
           vaddr - ARCH_KSTACK_BASE < ARCH_KSTACK_REGION_SIZE;
}

// The leaf entry for kernel `vaddr`, making its leaf table when `create`; NULL if absent.
static uint64_t *kernel_leaf_entry(uintptr_t vaddr, bool create) {
    uint64_t *t = table_ptr(arch_mmu_kernel_half_root());
    for (int level = 0; level < MMU_LEVELS - 1; level++) {
        uint64_t *e = &t[index_at(vaddr, level)];
        if (!mmu_pte_present(*e)) {
            if (level < MMU_LEVELS - 2) {
                panic("kernel_vm: no level-%d table for 0x%lx (the arch makes them at boot)",
                      level + 1, (unsigned long)vaddr);
            }
            uintptr_t page = create ? table_alloc() : 0;
            if (page == 0) {
                return NULL;
            }
            *e = arch_mmu_pte_table(page);
        }
        t = table_ptr(*e & MMU_PTE_ADDR_MASK);
    }
    return &t[index_at(vaddr, MMU_LEVELS - 1)];
}

zx_status_t kernel_vm_map_page(uintptr_t vaddr, uintptr_t paddr, uint32_t flags) {
    if (!kstack_page_ok(vaddr) || (paddr & (PAGE_SIZE - 1)) != 0 ||
        (flags & (ARCH_MMU_FLAG_EXECUTE | ARCH_MMU_FLAG_USER)) != 0) {
        panic("kernel_vm_map_page: bad arguments 0x%lx 0x%lx 0x%x", (unsigned long)vaddr,
              (unsigned long)paddr, flags);
    }
    arch_irq_state_t s = spin_lock_irqsave(&kernel_pt_lock);
    uint64_t *e = kernel_leaf_entry(vaddr, true);
    if (e != NULL) {
        *e = arch_mmu_pte_page(paddr, flags);
        arch_mmu_invalidate_page(vaddr);  // also orders the table writes before any use (arm64)
    }
    spin_unlock_irqrestore(&kernel_pt_lock, s);
    return e != NULL ? ZX_OK : ZX_ERR_NO_MEMORY;
}

uintptr_t kernel_vm_unmap_page(uintptr_t vaddr) {
    if (!kstack_page_ok(vaddr)) {
        panic("kernel_vm_unmap_page: 0x%lx is outside the kernel-stack region",
              (unsigned long)vaddr);
    }
    arch_irq_state_t s = spin_lock_irqsave(&kernel_pt_lock);
    uint64_t *e = kernel_leaf_entry(vaddr, false);
    uintptr_t paddr = 0;
    if (e != NULL && mmu_pte_present(*e)) {
        paddr = (uintptr_t)(*e & MMU_PTE_ADDR_MASK);
        *e = 0;
        arch_mmu_invalidate_page(vaddr);
    }
    spin_unlock_irqrestore(&kernel_pt_lock, s);
    return paddr;
}
