// Virtual memory address regions and address spaces (include/kernel/vm.h).
//
//   vm_aspace ── arch page tables
//      └─ root vmar [USER_ASPACE_BASE, USER_ASPACE_TOP)
//           children (sorted, non-overlapping struct vm_region):
//             ├─ mapping: [base, base+size) of vmo from vmo_offset, mmu_flags
//             └─ sub-vmar: a struct vmar of its own, with its own children
//
// Demand paging: vmar_map commits nothing and enters nothing in the page tables. The first
// access to a page of a mapping faults (or, from a user copy, misses in the tables), and
// vm_fault_locked commits the VMO page (making it the VMO's own, see vmo.c "Children") and
// maps it with the mapping's flags; an access the mapping does not allow, or outside every
// mapping, is a user fault. A page in a page table is its VMO's own page, or a page it
// shares copy-on-write mapped read-only (vmo.c "Mapped sharing"), and stays there until
// unmapped under the aspace lock, so a user copy holding that lock has it pinned.
// unmap/protect split a mapping where the range cuts it; protect reaches into sub-VMARs in
// the range; every check runs before anything changes (a split alone changes nothing
// visible).
//
// vDSO rules (README "vDSO rules"), for a VMO with VMO_FLAG_VDSO:
//   1. no mapping may ask for ZX_VM_PERM_WRITE;
//   2. a mapping asking for ZX_VM_PERM_EXECUTE must be exactly [code_start, size) of the VMO,
//      and only one such mapping per address space: it is recorded as aspace->vdso_code;
//   3. vmar_unmap, vmar_protect or vmar_destroy touching the recorded code mapping (whole or
//      part) fail with ZX_ERR_ACCESS_DENIED; only the aspace's destruction removes it.
// All three fail with ZX_ERR_ACCESS_DENIED.
//
// Placement without ZX_VM_SPECIFIC: a random page-aligned spot (ASLR) tried a few times,
// then the lowest gap that fits; ZX_VM_COMPACT asks for the lowest gap directly.
// Lock rule: every public function holds the aspace mutex for its whole run (VMO locks nest
// inside). Teardown and the protect walk are iterative (parent links, no recursion), so a
// VMAR tree of any depth cannot overflow the kernel stack.
#include <kernel/vm.h>

#include <kernel/arch.h>
#include <kernel/heap.h>
#include <kernel/lock.h>
#include <kernel/pmm.h>
#include <kernel/random.h>
#include <lib/string.h>
#include <zircon/errors.h>
#include <zircon/rights.h>
#include <zircon/syscalls/object.h>

#define VM_PERMS (ZX_VM_PERM_READ | ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE)
#define VM_CAN_MAP_PERMS (ZX_VM_CAN_MAP_READ | ZX_VM_CAN_MAP_WRITE | ZX_VM_CAN_MAP_EXECUTE)
#define VM_CAN_MAP_ALL (VM_CAN_MAP_PERMS | ZX_VM_CAN_MAP_SPECIFIC)
#define VM_ALIGN_MASK (31u << ZX_VM_ALIGN_BASE)
#define RANDOM_PLACEMENT_TRIES 8

// ZX_VM_CAN_MAP_READ/WRITE/EXECUTE sit 7 bits above ZX_VM_PERM_READ/WRITE/EXECUTE.
#define CAN_MAP_SHIFT 7

static struct vmar *vmar_from(struct kobject *obj) {
    return (struct vmar *)obj;
}

// Every VMAR holds a reference on its aspace struct, so a VMAR handle that outlives its
// process can still take the (now idle) aspace lock and find itself destroyed.
static void aspace_release(struct vm_aspace *as) {
    if (__atomic_sub_fetch(&as->refs, 1u, __ATOMIC_ACQ_REL) == 0) {
        kfree(as);
    }
}

void vm_aspace_ref(struct vm_aspace *as) {
    __atomic_add_fetch(&as->refs, 1u, __ATOMIC_ACQ_REL);
}

void vm_aspace_unref(struct vm_aspace *as) {
    aspace_release(as);
}

static void vmar_kobj_destroy(struct kobject *obj) {
    struct vmar *v = vmar_from(obj);
    aspace_release(v->aspace);
    kfree(v);
}

static zx_status_t vmar_get_info(struct kobject *obj, uint32_t topic, void *kbuf, size_t len,
                                 size_t *actual) {
    if (topic != ZX_INFO_VMAR) {
        return ZX_ERR_WRONG_TYPE;
    }
    if (len < sizeof(zx_info_vmar_t)) {
        return ZX_ERR_BUFFER_TOO_SMALL;
    }
    struct vmar *v = vmar_from(obj);
    zx_info_vmar_t info = {.base = v->base, .len = v->size};
    memcpy(kbuf, &info, sizeof(info));
    *actual = sizeof(info);
    return ZX_OK;
}

static const struct kobject_ops vmar_ops = {
    .type_name = "vmar",
    .default_rights = ZX_DEFAULT_VMAR_RIGHTS,
    .destroy = vmar_kobj_destroy,
    .get_info = vmar_get_info,
};

static struct vmar *vmar_new(struct vm_aspace *as, struct vmar *parent, uintptr_t base,
                             size_t size, zx_vm_option_t flags) {
    struct vmar *v = kzalloc(sizeof(*v));
    if (v == NULL) {
        return NULL;
    }
    v->aspace = as;
    __atomic_add_fetch(&as->refs, 1u, __ATOMIC_ACQ_REL);
    v->parent = parent;
    v->base = base;
    v->size = size;
    v->flags = flags;
    kobject_init(&v->obj, ZX_OBJ_TYPE_VMAR, &vmar_ops);
    return v;
}

static uint32_t perms_to_mmu(zx_vm_option_t perms) {
    return ARCH_MMU_FLAG_USER | ((perms & ZX_VM_PERM_READ) ? ARCH_MMU_FLAG_READ : 0) |
           ((perms & ZX_VM_PERM_WRITE) ? ARCH_MMU_FLAG_WRITE : 0) |
           ((perms & ZX_VM_PERM_EXECUTE) ? ARCH_MMU_FLAG_EXECUTE : 0);
}

// Perms must be readable if anything (ZX_ERR_INVALID_ARGS), never write+execute (W^X:
// ZX_ERR_ACCESS_DENIED), and within the VMAR's CAN_MAP_* limits and `max`
// (ZX_ERR_ACCESS_DENIED).
static zx_status_t check_perms(const struct vmar *v, zx_vm_option_t perms, zx_vm_option_t max) {
    if ((perms & (ZX_VM_PERM_WRITE | ZX_VM_PERM_EXECUTE)) && !(perms & ZX_VM_PERM_READ)) {
        return ZX_ERR_INVALID_ARGS;
    }
    if ((perms & ZX_VM_PERM_WRITE) && (perms & ZX_VM_PERM_EXECUTE)) {
        return ZX_ERR_ACCESS_DENIED;
    }
    zx_vm_option_t allowed = (v->flags & VM_CAN_MAP_PERMS) >> CAN_MAP_SHIFT;
    if ((perms & ~allowed) != 0 || (perms & ~max) != 0) {
        return ZX_ERR_ACCESS_DENIED;
    }
    return ZX_OK;
}

static bool overlaps(uintptr_t a, size_t alen, uintptr_t b, size_t blen) {
    return a < b + blen && b < a + alen;
}

static bool range_free(const struct vmar *v, uintptr_t base, size_t size) {
    for (const struct vm_region *r = v->children; r != NULL; r = r->next) {
        if (overlaps(base, size, r->base, r->size)) {
            return false;
        }
    }
    return true;
}

static void insert_region(struct vmar *v, struct vm_region *n) {
    struct vm_region **link = &v->children;
    while (*link != NULL && (*link)->base < n->base) {
        link = &(*link)->next;
    }
    n->next = *link;
    *link = n;
}

static void remove_region(struct vmar *v, struct vm_region *n) {
    for (struct vm_region **link = &v->children; *link != NULL; link = &(*link)->next) {
        if (*link == n) {
            *link = n->next;
            return;
        }
    }
}

// Decodes ZX_VM_ALIGN_*: the alignment in bytes (PAGE_SIZE if none), 0 if invalid.
static size_t align_of(zx_vm_option_t options) {
    uint32_t shift = (options & VM_ALIGN_MASK) >> ZX_VM_ALIGN_BASE;
    if (shift == 0) {
        return PAGE_SIZE;
    }
    if (shift < 10 || shift > 32) {
        return 0;
    }
    return shift < PAGE_SHIFT ? PAGE_SIZE : (size_t)1 << shift;
}

// Picks where a child of `size` goes: at base + offset with ZX_VM_SPECIFIC, else a free spot.
static zx_status_t place(struct vmar *v, zx_vm_option_t options, size_t offset, size_t size,
                         uintptr_t *out) {
    size_t align = align_of(options);
    if (align == 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    if (options & ZX_VM_SPECIFIC) {
        if (!(v->flags & ZX_VM_CAN_MAP_SPECIFIC)) {
            return ZX_ERR_ACCESS_DENIED;
        }
        if ((offset & (PAGE_SIZE - 1)) != 0 || offset > v->size || size > v->size - offset) {
            return ZX_ERR_INVALID_ARGS;
        }
        if (((v->base + offset) & (align - 1)) != 0) {
            return ZX_ERR_INVALID_ARGS;
        }
        if (!range_free(v, v->base + offset, size)) {
            return ZX_ERR_ALREADY_EXISTS;
        }
        *out = v->base + offset;
        return ZX_OK;
    }
    if (offset != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    if (size > v->size) {
        return ZX_ERR_NO_RESOURCES;
    }
    uintptr_t first = (v->base + align - 1) & ~(uintptr_t)(align - 1);
    if (first >= v->base + v->size || v->base + v->size - first < size) {
        return ZX_ERR_NO_RESOURCES;
    }
    size_t slots = (v->base + v->size - first - size) / align + 1;
    if (!(options & ZX_VM_COMPACT)) {
        for (int i = 0; i < RANDOM_PLACEMENT_TRIES; i++) {
            uintptr_t at = first + (uintptr_t)(random_u64() % slots) * align;
            if (range_free(v, at, size)) {
                *out = at;
                return ZX_OK;
            }
        }
    }
    uintptr_t at = first;
    for (const struct vm_region *r = v->children; r != NULL; r = r->next) {
        if (r->base >= at && r->base - at >= size) {
            break;
        }
        if (r->base + r->size > at) {
            at = (r->base + r->size + align - 1) & ~(uintptr_t)(align - 1);
        }
    }
    if (at < first || at > v->base + v->size || v->base + v->size - at < size) {
        return ZX_ERR_NO_RESOURCES;
    }
    *out = at;
    return ZX_OK;
}

static bool vmar_usable(const struct vmar *v) {
    return !v->destroyed;
}

// A new child region of `size` in `v`, placed as `place` says (options, offset): base and
// size set, everything else zero, not linked yet. Errors: place's, ZX_ERR_NO_MEMORY.
static zx_status_t region_new(struct vmar *v, zx_vm_option_t options, size_t offset,
                              size_t size, struct vm_region **out) {
    uintptr_t base;
    zx_status_t st = place(v, options, offset, size, &base);
    if (st != ZX_OK) {
        return st;
    }
    struct vm_region *r = kzalloc(sizeof(*r));
    if (r == NULL) {
        return ZX_ERR_NO_MEMORY;
    }
    *r = (struct vm_region){.base = base, .size = size};
    *out = r;
    return ZX_OK;
}

zx_status_t vmar_allocate(struct vmar *parent, zx_vm_option_t options, size_t offset,
                          size_t size, struct vmar **child, zx_vaddr_t *child_addr) {
    zx_vm_option_t allowed = VM_CAN_MAP_ALL | ZX_VM_COMPACT | ZX_VM_SPECIFIC | VM_ALIGN_MASK |
                             ZX_VM_CANNOT_CREATE_VMO_CHILD;
    if ((options & ~allowed) != 0 || size == 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    size = PAGE_ALIGN_UP(size);
    if (size == 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    mutex_lock(&parent->aspace->lock);
    zx_status_t st = ZX_ERR_BAD_STATE;
    struct vm_region *r;
    struct vmar *v;
    if (!vmar_usable(parent)) {
        goto out;
    }
    st = ZX_ERR_ACCESS_DENIED;
    if ((options & VM_CAN_MAP_PERMS & ~parent->flags) != 0) {
        goto out;
    }
    st = region_new(parent, options, offset, size, &r);
    if (st != ZX_OK) {
        goto out;
    }
    v = vmar_new(parent->aspace, parent, r->base, size, options & (VM_CAN_MAP_ALL | ZX_VM_COMPACT | ZX_VM_CANNOT_CREATE_VMO_CHILD));
    if (v == NULL) {
        kfree(r);
        st = ZX_ERR_NO_MEMORY;
        goto out;
    }
    kobject_ref(&v->obj);  // the region's reference; the caller gets the creation one
    r->vmar = v;
    insert_region(parent, r);
    *child = v;
    *child_addr = r->base;
    st = ZX_OK;
out:
    mutex_unlock(&parent->aspace->lock);
    return st;
}

// Removes a mapping region's pages from the page tables and drops it (aspace locked). A dying
// address space (arch already NULL, vm_aspace_destroy) frees its tables whole instead.
static void mapping_free(struct vmar *v, struct vm_region *r) {
    if (v->aspace->arch != NULL) {
        arch_aspace_unmap(v->aspace->arch, r->base, r->size / PAGE_SIZE);
    }
    if (v->aspace->vdso_code == r) {
        v->aspace->vdso_code = NULL;
        v->aspace->vdso_base = 0;
        v->aspace->vdso_sysret = NULL;
    }
    vmo_region_unlink(r->vmo, r);
    vmo_mapping_remove(r->vmo);
    kobject_unref(&r->vmo->obj);
    kfree(r);
}

// The vDSO rules for mapping [vmo_offset, +len) of `vmo` with `perms` into v's aspace
// (aspace locked): ZX_ERR_ACCESS_DENIED, or ZX_OK with *code telling whether this is the
// one code mapping.
static zx_status_t vdso_map_check(const struct vmar *v, const struct vmo *vmo,
                                  zx_vm_option_t perms, uint64_t vmo_offset, size_t len,
                                  bool *code) {
    *code = false;
    if (!(vmo->flags & VMO_FLAG_VDSO)) {
        return ZX_OK;
    }
    if (perms & ZX_VM_PERM_WRITE) {
        return ZX_ERR_ACCESS_DENIED;
    }
    if (perms & ZX_VM_PERM_EXECUTE) {
        // A VDSO VMO's size never changes: reading it unlocked is safe.
        if (vmo_offset != vmo->vdso_code_start || len != vmo->size - vmo_offset ||
            v->aspace->vdso_code != NULL) {
            return ZX_ERR_ACCESS_DENIED;
        }
        *code = true;
    }
    return ZX_OK;
}

struct map_owned_ctx {
    struct arch_aspace *arch;
    const struct vm_region *r;
};

// vmo_for_each_owned's callback for vmar_map: maps one page of the new region (aspace locked).
// Out of memory for a table is no error: the page faults in later.
static void map_owned_page(void *ctx, uint64_t offset, uintptr_t paddr) {
    const struct map_owned_ctx *m = ctx;
    (void)arch_aspace_map(m->arch, m->r->base + offset, paddr, m->r->mmu_flags);
}

zx_status_t vmar_map(struct vmar *v, zx_vm_option_t options, size_t vmar_offset,
                     struct vmo *vmo, uint64_t vmo_offset, size_t len, zx_vm_option_t max_perms,
                     zx_vaddr_t *mapped) {
    zx_vm_option_t allowed = VM_PERMS | ZX_VM_SPECIFIC | ZX_VM_COMPACT | VM_ALIGN_MASK |
                             ZX_VM_MAP_RANGE | ZX_VM_ALLOW_FAULTS |
                             ZX_VM_REQUIRE_NON_RESIZABLE | ZX_VM_PERM_READ_IF_XOM_UNSUPPORTED |
                             ZX_VM_CANNOT_CREATE_VMO_CHILD;
    if ((options & ~allowed) != 0 || len == 0 || (vmo_offset & (PAGE_SIZE - 1)) != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    if (options & ZX_VM_PERM_READ_IF_XOM_UNSUPPORTED) {
        options |= ZX_VM_PERM_READ;
    }
    zx_vm_option_t perms = options & VM_PERMS;
    len = PAGE_ALIGN_UP(len);
    if (len == 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    vmo_map_prepare(vmo, v->aspace);
    mutex_lock(&v->aspace->lock);
    zx_status_t st = ZX_ERR_BAD_STATE;
    bool vdso_code = false;
    struct vm_region *r;
    if (!vmar_usable(v)) {
        goto out;
    }
    st = check_perms(v, perms, max_perms);
    if (st != ZX_OK) {
        goto out;
    }
    // Range and resizability are checked and the mapping counted in one VMO-locked step.
    st = vmo_mapping_add(vmo, v->aspace, vmo_offset, len,
                         (options & ZX_VM_REQUIRE_NON_RESIZABLE) != 0);
    if (st != ZX_OK) {
        goto out;
    }
    st = vdso_map_check(v, vmo, perms, vmo_offset, len, &vdso_code);
    if (st == ZX_OK) {
        st = region_new(v, options, vmar_offset, len, &r);
    }
    if (st != ZX_OK) {
        vmo_mapping_remove(vmo);
        goto out;
    }
    uintptr_t base = r->base;
    r->vmo = vmo;
    r->vmo_offset = vmo_offset;
    r->mmu_flags = perms_to_mmu(perms);
    r->max_mmu_flags = perms_to_mmu(max_perms & VM_PERMS);
    r->vdso_code = vdso_code;
    r->no_vmo_child = (options & ZX_VM_CANNOT_CREATE_VMO_CHILD) != 0;
    r->aspace = v->aspace;
    kobject_ref(&vmo->obj);
    vmo_region_link(vmo, r);
    insert_region(v, r);
    // Pages the VMO already holds alone are mapped now, as Zircon does; the rest come on first
    // touch (vm_fault_locked). A fault costs far more than a map.
    if (r->mmu_flags != 0) {
        struct map_owned_ctx m = {.arch = v->aspace->arch, .r = r};
        vmo_for_each_owned(vmo, vmo_offset, len, map_owned_page, &m);
    }
    if (vdso_code) {
        v->aspace->vdso_code = r;
        v->aspace->vdso_base = base - vmo_offset;
        v->aspace->vdso_sysret = vmo->vdso_sysret;
    }
    *mapped = base;
    st = ZX_OK;
out:
    mutex_unlock(&v->aspace->lock);
    vmo_map_finish(vmo);
    return st;
}

// True if the recorded vDSO code mapping lies (partly) in [addr, addr + len) of `v`'s tree.
static bool touches_vdso(const struct vmar *v, uintptr_t addr, size_t len) {
    const struct vm_region *code = v->aspace->vdso_code;
    return code != NULL && overlaps(addr, len, code->base, code->size);
}

// Makes sure no mapping region of `v` straddles `addr` (splits one that does).
static zx_status_t split_at(struct vmar *v, uintptr_t addr) {
    for (struct vm_region *r = v->children; r != NULL; r = r->next) {
        if (r->vmo == NULL || addr <= r->base || addr >= r->base + r->size) {
            continue;
        }
        struct vm_region *tail = kzalloc(sizeof(*tail));
        if (tail == NULL) {
            return ZX_ERR_NO_MEMORY;
        }
        *tail = *r;
        size_t head = addr - r->base;
        tail->base = addr;
        tail->size = r->size - head;
        tail->vmo_offset = r->vmo_offset + head;
        tail->vdso_code = false;  // never split: the code mapping refuses unmap/protect
        r->size = head;
        r->next = tail;
        kobject_ref(&r->vmo->obj);
        // Cannot fail: the range is inside the one already counted.
        (void)vmo_mapping_add(r->vmo, v->aspace, tail->vmo_offset, 0, false);
        vmo_region_link(r->vmo, tail);
        return ZX_OK;
    }
    return ZX_OK;
}

// Checks [addr, addr+len) of `v` for unmap: no sub-VMAR only partly inside
// (ZX_ERR_INVALID_ARGS). The vDSO rule is checked by the caller.
static bool subvmars_whole(const struct vmar *v, uintptr_t addr, size_t len) {
    for (const struct vm_region *r = v->children; r != NULL; r = r->next) {
        if (r->vmar != NULL && overlaps(addr, len, r->base, r->size) &&
            (r->base < addr || r->base + r->size > addr + len)) {
            return false;
        }
    }
    return true;
}

// Unmaps everything under `top` and marks it and every VMAR below it destroyed (each stays
// allocated until its last reference goes). Iterative: it always works on the first child of
// the VMAR it is in, going down into sub-VMARs and back up through parent links, so the depth
// of the tree costs no stack. The caller removes `top` from its parent.
static void subtree_teardown(struct vmar *top) {
    struct vmar *v = top;
    for (;;) {
        struct vm_region *r = v->children;
        if (r != NULL && r->vmar != NULL) {
            v = r->vmar;  // empty the first sub-VMAR first
            continue;
        }
        if (r != NULL) {
            v->children = r->next;
            mapping_free(v, r);
            continue;
        }
        v->destroyed = true;
        if (v == top) {
            return;
        }
        struct vmar *parent = v->parent;
        struct vm_region *pr = parent->children;  // v's region: we went down the first child
        parent->children = pr->next;
        kfree(pr);
        kobject_unref(&v->obj);
        v = parent;
    }
}

// Removes every region of `v` inside [addr, addr+len) (they were split to fit).
static void remove_range(struct vmar *v, uintptr_t addr, size_t len) {
    for (struct vm_region **link = &v->children; *link != NULL;) {
        struct vm_region *r = *link;
        if (r->base >= addr && r->base + r->size <= addr + len) {
            *link = r->next;
            if (r->vmo != NULL) {
                mapping_free(v, r);
            } else {
                subtree_teardown(r->vmar);
                kobject_unref(&r->vmar->obj);
                kfree(r);
            }
        } else {
            link = &r->next;
        }
    }
}

static bool range_in(const struct vmar *v, uintptr_t addr, size_t len) {
    return (addr & (PAGE_SIZE - 1)) == 0 && len != 0 && addr >= v->base &&
           addr - v->base <= v->size && len <= v->size - (addr - v->base);
}

// The first checks of unmap and protect: ZX_ERR_BAD_STATE for a destroyed VMAR, then
// ZX_ERR_INVALID_ARGS for a range that is not page-aligned inside it.
static zx_status_t range_check(const struct vmar *v, uintptr_t addr, size_t len) {
    if (!vmar_usable(v)) {
        return ZX_ERR_BAD_STATE;
    }
    return range_in(v, addr, len) ? ZX_OK : ZX_ERR_INVALID_ARGS;
}

zx_status_t vmar_unmap(struct vmar *v, zx_vaddr_t addr, size_t len) {
    len = PAGE_ALIGN_UP(len);
    mutex_lock(&v->aspace->lock);
    zx_status_t st = range_check(v, addr, len);
    if (st != ZX_OK) {
        goto out;
    }
    st = ZX_ERR_ACCESS_DENIED;  // the vDSO rule comes first, wherever its mapping sits
    if (touches_vdso(v, addr, len)) {
        goto out;
    }
    st = ZX_ERR_INVALID_ARGS;
    if (!subvmars_whole(v, addr, len)) {
        goto out;
    }
    st = split_at(v, addr);
    if (st == ZX_OK) {
        st = split_at(v, addr + len);
    }
    if (st == ZX_OK) {
        remove_range(v, addr, len);
    }
out:
    mutex_unlock(&v->aspace->lock);
    return st;
}

// The region of `parent` that holds sub-VMAR `child` (it is there while child is live).
static struct vm_region *region_of(struct vmar *parent, const struct vmar *child) {
    struct vm_region *r = parent->children;
    while (r->vmar != child) {
        r = r->next;
    }
    return r;
}

// fn(v, NULL, ctx) on entering VMAR v; fn(v, r, ctx) for mapping region r of v.
typedef zx_status_t (*walk_fn)(struct vmar *v, struct vm_region *r, void *ctx);

// Visits, in address order, `top` and every sub-VMAR and mapping under it that overlaps
// [addr, end). With `need_cover`, a gap not covered by mappings ends the walk with
// ZX_ERR_NOT_FOUND. A status other than ZX_OK from fn ends it with that status. Iterative
// (parent links), so the depth of the tree costs no stack. fn may split the mappings of the
// VMAR it is entering: the walk reads v->children only after that call.
static zx_status_t walk_range(struct vmar *top, uintptr_t addr, uintptr_t end, bool need_cover,
                              walk_fn fn, void *ctx) {
    struct vmar *v = top;
    zx_status_t st = fn(v, NULL, ctx);
    struct vm_region *r = v->children;
    uintptr_t at = addr;
    while (st == ZX_OK) {
        uintptr_t vend = v->base + v->size;
        uintptr_t lim = end < vend ? end : vend;
        while (r != NULL && r->base + r->size <= at) {
            r = r->next;
        }
        if (at >= lim || r == NULL || r->base >= lim) {  // done with v
            if (need_cover && at < lim) {
                return ZX_ERR_NOT_FOUND;
            }
            if (v == top) {
                return ZX_OK;
            }
            struct vmar *child = v;
            v = v->parent;
            r = region_of(v, child)->next;
            at = lim;
            continue;
        }
        if (need_cover && r->base > at) {
            return ZX_ERR_NOT_FOUND;
        }
        if (r->vmar != NULL) {
            v = r->vmar;
            st = fn(v, NULL, ctx);
            r = v->children;
            continue;
        }
        st = fn(v, r, ctx);
        uintptr_t rend = r->base + r->size;
        at = rend < lim ? rend : lim;
        r = r->next;
    }
    return st;
}

struct protect_ctx {
    zx_vm_option_t perms;
    uintptr_t addr, end;
};

// vmar_protect's check: every VMAR allows the permissions (CAN_MAP_*) and every mapping's
// limit allows them (ZX_ERR_ACCESS_DENIED).
static zx_status_t protect_check(struct vmar *v, struct vm_region *r, void *ctx) {
    const struct protect_ctx *pc = ctx;
    if (r == NULL) {
        zx_vm_option_t allowed = (v->flags & VM_CAN_MAP_PERMS) >> CAN_MAP_SHIFT;
        return (pc->perms & ~allowed) != 0 ? ZX_ERR_ACCESS_DENIED : ZX_OK;
    }
    return (perms_to_mmu(pc->perms) & ~r->max_mmu_flags) != 0 ? ZX_ERR_ACCESS_DENIED : ZX_OK;
}

// Splits the mappings of every VMAR in the range at the range's ends (invisible on its own,
// so a ZX_ERR_NO_MEMORY here changes nothing a user can see).
static zx_status_t protect_split(struct vmar *v, struct vm_region *r, void *ctx) {
    const struct protect_ctx *pc = ctx;
    if (r != NULL) {
        return ZX_OK;
    }
    zx_status_t st = split_at(v, pc->addr);
    return st == ZX_OK ? split_at(v, pc->end) : st;
}

// Gives a mapping inside the range (after protect_split) the new permissions.
static zx_status_t protect_apply(struct vmar *v, struct vm_region *r, void *ctx) {
    const struct protect_ctx *pc = ctx;
    if (r == NULL) {
        return ZX_OK;
    }
    uint32_t want = perms_to_mmu(pc->perms);
    r->mmu_flags = want;
    size_t pages = r->size / PAGE_SIZE;
    if (pc->perms == 0) {
        arch_aspace_unmap(v->aspace->arch, r->base, pages);
        return ZX_OK;
    }
    if ((want & ARCH_MMU_FLAG_WRITE) && vmo_maps_shared(r->vmo)) {
        // Some entries may map shared pages read-only: they fault back in as they must.
        arch_aspace_unmap(v->aspace->arch, r->base, pages);
        return ZX_OK;
    }
    // Only the pages already faulted in change; the others fault in with the new flags.
    return arch_aspace_protect(v->aspace->arch, r->base, pages, want);
}

zx_status_t vmar_protect(struct vmar *v, zx_vm_option_t options, zx_vaddr_t addr, size_t len) {
    if ((options & ~VM_PERMS) != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    len = PAGE_ALIGN_UP(len);
    mutex_lock(&v->aspace->lock);
    struct protect_ctx pc = {.perms = options, .addr = addr, .end = addr + len};
    zx_status_t st = range_check(v, addr, len);
    if (st != ZX_OK) {
        goto out;
    }
    st = check_perms(v, options, VM_PERMS);
    if (st != ZX_OK) {
        goto out;
    }
    st = ZX_ERR_ACCESS_DENIED;
    if (touches_vdso(v, addr, len)) {
        goto out;
    }
    st = walk_range(v, pc.addr, pc.end, true, protect_check, &pc);
    if (st == ZX_OK) {
        st = walk_range(v, pc.addr, pc.end, false, protect_split, &pc);
    }
    if (st == ZX_OK) {
        st = walk_range(v, pc.addr, pc.end, false, protect_apply, &pc);
    }
out:
    mutex_unlock(&v->aspace->lock);
    return st;
}

zx_status_t vmar_destroy(struct vmar *v) {
    mutex_lock(&v->aspace->lock);
    zx_status_t st = ZX_ERR_BAD_STATE;
    if (!vmar_usable(v)) {
        goto out;
    }
    st = ZX_ERR_ACCESS_DENIED;
    if (touches_vdso(v, v->base, v->size)) {
        goto out;
    }
    subtree_teardown(v);
    if (v->parent != NULL) {
        struct vm_region *r = region_of(v->parent, v);
        remove_region(v->parent, r);
        kfree(r);
        kobject_unref(&v->obj);
    }
    st = ZX_OK;
out:
    mutex_unlock(&v->aspace->lock);
    return st;
}

zx_status_t vm_aspace_create(const char *name, struct vm_aspace **out) {
    struct vm_aspace *as = kzalloc(sizeof(*as));
    if (as == NULL) {
        return ZX_ERR_NO_MEMORY;
    }
    mutex_init(&as->lock, "aspace", LOCK_RANK_ASPACE);
    as->refs = 1;  // the owner's (vm_aspace_destroy drops it)
    as->arch = arch_aspace_create();
    if (as->arch == NULL) {
        kfree(as);
        return ZX_ERR_NO_MEMORY;
    }
    as->root = vmar_new(as, NULL, USER_ASPACE_BASE, USER_ASPACE_SIZE, VM_CAN_MAP_ALL);
    if (as->root == NULL) {
        arch_aspace_destroy(as->arch);
        kfree(as);
        return ZX_ERR_NO_MEMORY;
    }
    kobject_set_name(&as->root->obj, name, strlen(name));
    *out = as;
    return ZX_OK;
}

void vm_aspace_destroy(struct vm_aspace *as) {
    mutex_lock(&as->lock);
    as->vdso_code = NULL;  // process exit is the one way the vDSO code mapping goes
    as->vdso_base = 0;
    as->vdso_sysret = NULL;
    // No thread runs on these tables any more (the caller's contract) and every other walker
    // takes the aspace lock and checks `arch`: the regions go without unmapping page by page,
    // and arch_aspace_destroy frees the tables whole.
    struct arch_aspace *arch = as->arch;
    as->arch = NULL;
    if (!as->root->destroyed) {
        subtree_teardown(as->root);
    }
    struct vmar *root = as->root;
    mutex_unlock(&as->lock);
    arch_aspace_destroy(arch);
    kobject_unref(&root->obj);
    aspace_release(as);
}

// The mapping region holding `addr` under `v`, descending into sub-VMARs; NULL if none.
// Aspace locked.
static struct vm_region *mapping_at(struct vmar *v, uintptr_t addr) {
    struct vm_region *r = v->children;
    while (r != NULL && addr >= r->base) {
        if (addr - r->base >= r->size) {
            r = r->next;
        } else if (r->vmo != NULL) {
            return r;
        } else {
            r = r->vmar->children;
        }
    }
    return NULL;
}

zx_status_t vm_fault_locked(struct vm_aspace *as, uintptr_t addr, uint32_t access) {
    if (as->arch == NULL || as->root == NULL || addr < USER_ASPACE_BASE ||
        addr >= USER_ASPACE_TOP) {
        return ZX_ERR_NOT_FOUND;
    }
    struct vm_region *r = mapping_at(as->root, addr);
    if (r == NULL) {
        return ZX_ERR_NOT_FOUND;
    }
    if (r->mmu_flags == 0 || (r->mmu_flags & access) != access) {
        return ZX_ERR_ACCESS_DENIED;
    }
    uintptr_t page = addr & ~(uintptr_t)(PAGE_SIZE - 1);
    uintptr_t paddr;
    uint32_t flags;
    if (arch_aspace_query(as->arch, page, &paddr, &flags) == ZX_OK &&
        ((flags & access) == access || access != ARCH_MMU_FLAG_WRITE)) {
        // Another thread faulted it in first; tables that still refuse are not retried.
        return (flags & access) == access ? ZX_OK : ZX_ERR_ACCESS_DENIED;
    }
    // Not there, or a write to a page made read-only for copy-on-write: the VMO's own page
    // (vmo_fault_page copies or takes over a shared one) replaces it, with the full flags;
    // a read of a shared page maps that page itself, read-only.
    bool read_only;
    paddr = vmo_fault_page(r->vmo, as, r->vmo_offset + (page - r->base), page,
                           (access & ARCH_MMU_FLAG_WRITE) != 0, &read_only);
    if (paddr == 0) {
        return ZX_ERR_NO_MEMORY;
    }
    return arch_aspace_map(as->arch, page, paddr,
                           read_only ? r->mmu_flags & ~ARCH_MMU_FLAG_WRITE : r->mmu_flags);
}

zx_status_t vm_fault(struct vm_aspace *as, uintptr_t addr, uint32_t access) {
    mutex_lock(&as->lock);
    zx_status_t st = vm_fault_locked(as, addr, access);
    mutex_unlock(&as->lock);
    return st;
}

// ---- ZX_INFO_PROCESS_MAPS / ZX_INFO_PROCESS_VMOS ------------------------------------------

static zx_vm_option_t mmu_to_perms(uint32_t mmu) {
    return ((mmu & ARCH_MMU_FLAG_READ) ? ZX_VM_PERM_READ : 0) |
           ((mmu & ARCH_MMU_FLAG_WRITE) ? ZX_VM_PERM_WRITE : 0) |
           ((mmu & ARCH_MMU_FLAG_EXECUTE) ? ZX_VM_PERM_EXECUTE : 0);
}

// The region after `r` in a depth-first pre-order walk under `root` (descending into
// sub-VMARs, climbing back through parent links); *v and *depth follow. Aspace locked.
static struct vm_region *walk_next(struct vmar *root, struct vmar **v, struct vm_region *r,
                                   size_t *depth) {
    if (r->vmar != NULL && r->vmar->children != NULL) {
        *v = r->vmar;
        (*depth)++;
        return r->vmar->children;
    }
    while (r->next == NULL && *v != root) {
        r = region_of((*v)->parent, *v);
        *v = (*v)->parent;
        (*depth)--;
    }
    return r->next;
}

// Calls emit(ctx, v, r, depth) for every region of the aspace in pre-order (depth 2 and on);
// returns how many there were. Aspace locked.
static size_t walk_regions(struct vm_aspace *as,
                           void (*emit)(void *ctx, size_t index, struct vm_region *r,
                                        size_t depth),
                           void *ctx, size_t first_index) {
    size_t n = first_index;
    struct vmar *v = as->root;
    size_t depth = 2;
    for (struct vm_region *r = v->children; r != NULL; r = walk_next(as->root, &v, r, &depth)) {
        emit(ctx, n++, r, depth);
    }
    return n;
}

struct maps_ctx {
    zx_info_maps_t *out;
    size_t cap;
};

static void maps_entry(zx_info_maps_t *e, const char name[ZX_MAX_NAME_LEN], uintptr_t base,
                       size_t size, size_t depth, zx_info_maps_type_t type) {
    memset(e, 0, sizeof(*e));
    memcpy(e->name, name, sizeof(e->name));
    e->base = base;
    e->size = size;
    e->depth = depth;
    e->type = type;
}

static void maps_emit(void *ctx, size_t index, struct vm_region *r, size_t depth) {
    struct maps_ctx *mc = ctx;
    if (index >= mc->cap) {
        return;
    }
    zx_info_maps_t *e = &mc->out[index];
    char name[ZX_MAX_NAME_LEN];
    kobject_get_name(r->vmar != NULL ? &r->vmar->obj : &r->vmo->obj, name);
    maps_entry(e, name, r->base, r->size, depth,
               r->vmar != NULL ? ZX_INFO_MAPS_TYPE_VMAR : ZX_INFO_MAPS_TYPE_MAPPING);
    if (r->vmo != NULL) {
        e->u.mapping.mmu_flags = mmu_to_perms(r->mmu_flags);
        e->u.mapping.vmo_koid = r->vmo->obj.koid;
        e->u.mapping.vmo_offset = r->vmo_offset;
        e->u.mapping.committed_pages = vmo_backed_pages(r->vmo, r->vmo_offset, r->size);
        e->u.mapping.populated_pages = e->u.mapping.committed_pages;
    }
}

size_t vm_aspace_maps(struct vm_aspace *as, const char name[ZX_MAX_NAME_LEN], zx_info_maps_t *out,
                      size_t cap) {
    struct maps_ctx mc = {.out = out, .cap = cap};
    mutex_lock(&as->lock);
    size_t n = 0;
    if (as->arch != NULL) {
        struct vmar *root = as->root;
        char root_name[ZX_MAX_NAME_LEN];
        kobject_get_name(&root->obj, root_name);
        if (cap > 0) {
            maps_entry(&out[0], name, root->base, root->size, 0, ZX_INFO_MAPS_TYPE_ASPACE);
        }
        if (cap > 1) {
            maps_entry(&out[1], root_name, root->base, root->size, 1, ZX_INFO_MAPS_TYPE_VMAR);
        }
        n = walk_regions(as, maps_emit, &mc, 2);
    }
    mutex_unlock(&as->lock);
    return n;
}

struct vmos_ctx {
    zx_info_vmo_t *out;
    size_t cap;
    size_t mappings;
};

static void vmos_emit(void *ctx, size_t index, struct vm_region *r, size_t depth) {
    (void)depth;
    struct vmos_ctx *vc = ctx;
    if (r->vmo == NULL) {
        return;
    }
    if (vc->mappings < vc->cap) {
        vmo_fill_info(r->vmo, &vc->out[vc->mappings]);
        vc->out[vc->mappings].flags |= ZX_INFO_VMO_VIA_MAPPING;
    }
    vc->mappings++;
    (void)index;
}

size_t vm_aspace_vmos(struct vm_aspace *as, zx_info_vmo_t *out, size_t cap) {
    struct vmos_ctx vc = {.out = out, .cap = cap};
    mutex_lock(&as->lock);
    if (as->arch != NULL) {
        (void)walk_regions(as, vmos_emit, &vc, 0);
    }
    mutex_unlock(&as->lock);
    return vc.mappings;
}

// ---- zx_vmar_create_vmo_child (RFC-0013) ----------------------------------------------------

// The mapping of `v`'s subtree holding all of [addr, addr + size), or NULL; *owner is the
// VMAR it sits in. Aspace locked.
static struct vm_region *mapping_covering(struct vmar *v, uintptr_t addr, size_t size,
                                          struct vmar **owner) {
    struct vm_region *r = v->children;
    *owner = v;
    while (r != NULL && addr >= r->base) {
        if (addr - r->base >= r->size) {
            r = r->next;
        } else if (r->vmo != NULL) {
            return size <= r->size - (addr - r->base) ? r : NULL;
        } else {
            *owner = r->vmar;
            r = r->vmar->children;
        }
    }
    return NULL;
}

bool vm_aspace_locate(struct vm_aspace *as, uintptr_t addr, struct vm_location *out) {
    mutex_lock(&as->lock);
    struct vmar *owner;
    struct vm_region *r = as->arch != NULL ? mapping_covering(as->root, addr, 1, &owner) : NULL;
    if (r != NULL) {
        kobject_get_name(&r->vmo->obj, out->vmo_name);
        out->vmo_offset = r->vmo_offset + (addr - r->base);
        out->vmar_base = owner->base;
    }
    mutex_unlock(&as->lock);
    return r != NULL;
}

// RFC-0013's security notes: ZX_VM_CANNOT_CREATE_VMO_CHILD on the mapping or on any VMAR
// holding it refuses the clone, and so does the vDSO (a copy of it could never make a
// syscall, and it must never become writable or executable elsewhere).
static bool vmo_child_allowed(const struct vm_region *r, const struct vmar *owner) {
    if (r->no_vmo_child || (r->vmo->flags & VMO_FLAG_VDSO)) {
        return false;
    }
    for (const struct vmar *v = owner; v != NULL; v = v->parent) {
        if (v->flags & ZX_VM_CANNOT_CREATE_VMO_CHILD) {
            return false;
        }
    }
    return true;
}

zx_status_t vmar_create_vmo_child(struct vmar *v, uint32_t options, zx_vaddr_t addr,
                                  size_t size, struct vmo **out, bool *executable) {
    uint32_t type = options & (ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE);
    if (type == 0 || options != type || (type & (type - 1)) != 0) {
        return ZX_ERR_INVALID_ARGS;  // exactly one snapshot type; SLICE, RESIZABLE refused
    }
    if (size == 0 || ((addr | size) & (PAGE_SIZE - 1)) != 0 || addr + size < addr) {
        return ZX_ERR_INVALID_ARGS;
    }
    mutex_lock(&v->aspace->lock);
    zx_status_t st = ZX_ERR_BAD_STATE;
    if (vmar_usable(v)) {
        struct vmar *owner;
        struct vm_region *r = mapping_covering(v, addr, size, &owner);
        if (r == NULL) {
            st = ZX_ERR_INVALID_ARGS;
        } else if (!vmo_child_allowed(r, owner)) {
            st = ZX_ERR_ACCESS_DENIED;
        } else {
            *executable = (r->mmu_flags & ARCH_MMU_FLAG_EXECUTE) != 0;
            uint64_t offset = r->vmo_offset + (addr - r->base);
            st = vmo_create_child_in(r->vmo, type, offset, size, v->aspace, out);
        }
    }
    mutex_unlock(&v->aspace->lock);
    return st;
}
