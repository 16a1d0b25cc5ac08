// Virtual memory objects (include/kernel/vm.h): a size and a sparse two-level page table.
//
//   dir[i / VMO_LEAF] -> leaf[VMO_LEAF]   a leaf (one 4 KiB heap block) exists only once a
//                                         page in its range is committed
//   slot i == 0      not committed: reads as zeros; the first write or a mapping
//                    commits a zeroed page from the pmm
//   slot i, bit 0 clear   a page of this VMO alone: its physmap address (<kernel/physmap.h>)
//   slot i, bit 0 set     a struct shared_page (page + reference count) that snapshot
//                         children share copy-on-write (see "Children" below)
//
// So creating a VMO costs only its directory (8 bytes per 2 MiB of size): a 4 GiB VMO that
// is never touched holds 16 KiB, as Zircon's VMOs commit nothing up front.
//
// A VMO_FLAG_VDSO VMO is immutable: every write path refuses it with ZX_ERR_ACCESS_DENIED
// (README "vDSO rules"). Sizes are whole pages; the largest VMO is VMO_MAX_SIZE.
// Lock rule: each VMO has a mutex (LOCK_RANK_VMO, the innermost mutex) over its size, page directory
// and mapping count. A copy between a VMO and user memory never holds it while touching user
// memory: it moves at most VMO_BOUNCE bytes at a time through a kernel buffer, taking the lock
// only for the VMO side. So a page can never be freed (by a shrink) while bytes are being copied
// into or out of it, and the user side (which takes the aspace lock, and may one day fault
// pages in) never nests inside a VMO lock. No path holds two VMO locks at once.
//
// Children (zx_vmo_create_child). A snapshot child gets, under its parent's lock, every
// committed page of the parent's range: the slot of both becomes one shared_page with a count
// of sharers, when no mapping of the parent can write those pages (it is unmapped, or mapped
// in one address space only, whose mappings are first made read-only over the range: see
// "Mapped sharing"); a parent mapped in several address spaces has its pages copied at once.
// The invariant: a shared page's bytes never change while it has two sharers. Whoever writes
// a shared page first owns it (slot_own): the last sharer takes the page over, anyone else
// copies it, unmaps the shared page from its own mappings, and drops its reference. A read
// fault may map a shared page read-only ("Mapped sharing"). The last reference frees the
// page, whichever sharer goes last. Snapshots of snapshots share the same way, so chains
// need no parent links, and a child's pages never depend on its parent staying alive. A
// slice holds no pages: it forwards every page operation to its root VMO (slices of slices
// point at the same root), which is never resizable, so the slice's range stays inside it.
#include <kernel/vm.h>

#include <kernel/arch.h>
#include <kernel/heap.h>
#include <kernel/lock.h>
#include <kernel/physmap.h>
#include <kernel/pmm.h>
#include <kernel/usercopy.h>
#include <lib/string.h>
#include <zircon/errors.h>
#include <zircon/rights.h>
#include <zircon/syscalls/object.h>

#define VMO_MAX_SIZE (1ull << 32)  // 4 GiB: the directory stays within a few pages
#define VMO_LEAF (PAGE_SIZE / sizeof(uintptr_t))  // pages per leaf: 512 (2 MiB)
#define VMO_OPTIONS_ALLOWED ZX_VMO_RESIZABLE
#define VMO_BOUNCE 512u  // bytes a user copy moves per VMO-lock hold (on the kernel stack)

static struct vmo *vmo_from(struct kobject *obj) {
    return (struct vmo *)obj;
}

#define SLOT_SHARED ((uintptr_t)1)  // bit 0 of a slot: a struct shared_page, not a page

struct shared_page {
    uintptr_t page;  // physmap address; its bytes never change while refs > 1
    uint32_t refs;   // slots pointing here (atomic: the sharers hold different VMO locks)
};

// Child tree. A VMO counts its live direct children (snapshots and slices alike, as Zircon
// does) for ZX_INFO_VMO num_children and ZX_VMO_ZERO_CHILDREN: set while it has none, cleared
// when the first is created, raised again when the last one is destroyed. A child links to its
// parent weakly (the parent may go first: it then unlinks its children). The links and counts
// are under this leaf spinlock; the signal changes are made under it too (the thread lock
// nests inside), so a clear and a raise can never land out of order.
static spinlock_t tree_lock = SPINLOCK_INITIALIZER("vmo-tree");

static void tree_link(struct vmo *parent, struct vmo *child) {
    arch_irq_state_t st = spin_lock_irqsave(&tree_lock);
    child->parent = parent;
    child->sibling_prev = NULL;
    child->sibling_next = parent->children;
    if (parent->children != NULL) {
        parent->children->sibling_prev = child;
    }
    parent->children = child;
    if (parent->num_children++ == 0) {
        kobject_signal(&parent->obj, ZX_VMO_ZERO_CHILDREN, 0);
    }
    spin_unlock_irqrestore(&tree_lock, st);
}

// Takes a dying VMO out of the tree: off its parent's list (raising the parent's
// ZX_VMO_ZERO_CHILDREN with its last child), and its children lose their parent link.
static void tree_unlink(struct vmo *vmo) {
    arch_irq_state_t st = spin_lock_irqsave(&tree_lock);
    struct vmo *parent = vmo->parent;
    if (parent != NULL) {
        if (vmo->sibling_prev != NULL) {
            vmo->sibling_prev->sibling_next = vmo->sibling_next;
        } else {
            parent->children = vmo->sibling_next;
        }
        if (vmo->sibling_next != NULL) {
            vmo->sibling_next->sibling_prev = vmo->sibling_prev;
        }
        if (--parent->num_children == 0) {
            kobject_signal(&parent->obj, 0, ZX_VMO_ZERO_CHILDREN);
        }
    }
    for (struct vmo *c = vmo->children; c != NULL; c = c->sibling_next) {
        c->parent = NULL;
    }
    vmo->children = NULL;
    spin_unlock_irqrestore(&tree_lock, st);
}

static size_t tree_num_children(const struct vmo *vmo) {
    arch_irq_state_t st = spin_lock_irqsave(&tree_lock);
    size_t n = vmo->num_children;
    spin_unlock_irqrestore(&tree_lock, st);
    return n;
}

static bool slot_is_shared(uintptr_t v) {
    return (v & SLOT_SHARED) != 0;
}

static struct shared_page *slot_shared(uintptr_t v) {
    return (struct shared_page *)(v & ~SLOT_SHARED);
}

// The physmap address of the page behind slot value v (shared or not; v != 0).
static uintptr_t slot_page(uintptr_t v) {
    return slot_is_shared(v) ? slot_shared(v)->page : v;
}

// True if slot value v is a page other VMOs share too (copy-on-write).
static bool slot_cow(uintptr_t v) {
    return slot_is_shared(v) && __atomic_load_n(&slot_shared(v)->refs, __ATOMIC_ACQUIRE) > 1;
}

// Drops one slot's hold on its page: frees a private page, or the shared page with its last
// reference. Its VMO locked.
static void slot_release(uintptr_t v) {
    if (v == 0) {
        return;
    }
    if (!slot_is_shared(v)) {
        pmm_free_page(v);
        return;
    }
    struct shared_page *sp = slot_shared(v);
    if (__atomic_sub_fetch(&sp->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        pmm_free_page(sp->page);
        kfree(sp);
    }
}

// Makes *slot a page of its VMO alone: commits a zeroed page, takes over a shared one whose
// last sharer it is (the same physical page), or copies it. False when out of memory (the
// slot is unchanged). After a copy *old is the shared slot value the caller still has to
// release, once no mapping of its VMO maps that page any more; else 0. VMO locked.
static bool slot_own(uintptr_t *slot, uintptr_t *old) {
    uintptr_t v = *slot;
    *old = 0;
    if (v == 0) {
        *slot = pmm_alloc_zeroed_page();
        return *slot != 0;
    }
    if (!slot_is_shared(v)) {
        return true;
    }
    struct shared_page *sp = slot_shared(v);
    // The count only grows through a sharer's lock (a snapshot of it): with ours held and a
    // count of 1, nobody else can reach this page (the others dropped it after their last
    // read of it, ordered by the count's release/acquire).
    if (__atomic_load_n(&sp->refs, __ATOMIC_ACQUIRE) == 1) {
        *slot = sp->page;
        kfree(sp);
        return true;
    }
    uintptr_t copy = pmm_alloc_page();
    if (copy == 0) {
        return false;
    }
    memcpy((void *)copy, (const void *)sp->page, PAGE_SIZE);
    *slot = copy;
    *old = v;
    return true;
}

// How a snapshot takes its source's private pages: shares them (a source none of whose
// mappings can write them: unmapped, or write-protected first) or copies them.
enum snap_mode { SNAP_SHARE, SNAP_COPY };

// The value a snapshot child's slot takes for its source's *slot (0: nothing committed).
// False when out of memory. Source locked.
static bool slot_snapshot(uintptr_t *slot, enum snap_mode mode, uintptr_t *out) {
    uintptr_t v = *slot;
    if (v == 0) {
        *out = 0;
    } else if (slot_is_shared(v)) {
        __atomic_add_fetch(&slot_shared(v)->refs, 1, __ATOMIC_ACQ_REL);
        *out = v;
    } else if (mode == SNAP_COPY) {
        *out = pmm_alloc_page();
        if (*out == 0) {
            return false;
        }
        memcpy((void *)*out, (const void *)v, PAGE_SIZE);
    } else {
        struct shared_page *sp = kzalloc(sizeof(*sp));
        if (sp == NULL) {
            return false;
        }
        sp->page = v;
        sp->refs = 2;
        *slot = (uintptr_t)sp | SLOT_SHARED;
        *out = *slot;
    }
    return true;
}

static size_t dir_len_for(size_t pages) {
    return (pages + VMO_LEAF - 1) / VMO_LEAF;
}

// Slot i, NULL when its leaf does not exist (nothing committed there). VMO locked.
static uintptr_t *slot_at(const struct vmo *vmo, size_t i) {
    uintptr_t *leaf = i / VMO_LEAF < vmo->dir_len ? vmo->dir[i / VMO_LEAF] : NULL;
    return leaf != NULL ? &leaf[i % VMO_LEAF] : NULL;
}

// The slot of page i, making its leaf if needed (NULL when out of memory). VMO locked.
static uintptr_t *page_slot(struct vmo *vmo, size_t i) {
    uintptr_t **leaf = &vmo->dir[i / VMO_LEAF];
    if (*leaf == NULL) {
        *leaf = kzalloc(VMO_LEAF * sizeof(uintptr_t));
        if (*leaf == NULL) {
            return NULL;
        }
    }
    return &(*leaf)[i % VMO_LEAF];
}

// Frees every committed page from index `from` on, and the leaves left empty. VMO locked.
static void vmo_free_pages(struct vmo *vmo, size_t from) {
    size_t pages = (size_t)(vmo->size / PAGE_SIZE);  // slots past the size are always empty
    for (size_t d = from / VMO_LEAF; d < vmo->dir_len; d++) {
        uintptr_t *leaf = vmo->dir[d];
        if (leaf == NULL) {
            continue;
        }
        size_t first = d == from / VMO_LEAF ? from % VMO_LEAF : 0;
        size_t left = pages > d * VMO_LEAF ? pages - d * VMO_LEAF : 0;
        size_t end = left < VMO_LEAF ? left : VMO_LEAF;
        // A small VMO's leaf is mostly empty: skip the empty slots in blocks.
        for (size_t k = words_next_nonzero(leaf, first, end); k < end;
             k = words_next_nonzero(leaf, k + 1, end)) {
            slot_release(leaf[k]);
            leaf[k] = 0;
        }
        if (first == 0) {
            kfree(leaf);
            vmo->dir[d] = NULL;
        }
    }
}

static void vmo_destroy(struct kobject *obj) {
    struct vmo *vmo = vmo_from(obj);
    tree_unlink(vmo);
    vmo_free_pages(vmo, 0);
    kfree(vmo->dir);
    if (vmo->slice_root != NULL) {
        kobject_unref(&vmo->slice_root->obj);
    }
    kfree(vmo);
}

// Committed pages this VMO holds alone (a shared page counts for none of its sharers until
// one of them is the last). VMO locked.
static size_t vmo_committed_pages(const struct vmo *vmo) {
    size_t n = 0;
    for (size_t d = 0; d < vmo->dir_len; d++) {
        for (size_t k = 0; vmo->dir[d] != NULL && k < VMO_LEAF; k++) {
            uintptr_t v = vmo->dir[d][k];
            n += v != 0 && (!slot_is_shared(v) ||
                            __atomic_load_n(&slot_shared(v)->refs, __ATOMIC_ACQUIRE) == 1);
        }
    }
    return n;
}

uint64_t vmo_committed_bytes(struct vmo *vmo) {
    mutex_lock(&vmo->lock);
    uint64_t bytes = (uint64_t)vmo_committed_pages(vmo) * PAGE_SIZE;
    mutex_unlock(&vmo->lock);
    return bytes;
}

// Zircon's share_count: the address spaces the VMO is mapped into, at least 1. VMO locked.
static size_t vmo_share_count(const struct vmo *vmo) {
    size_t n = 0;
    for (const struct vm_region *r = vmo->mappings; r != NULL; r = r->vmo_next) {
        const struct vm_region *seen = vmo->mappings;
        while (seen != r && seen->aspace != r->aspace) {
            seen = seen->vmo_next;
        }
        n += seen == r;
    }
    return n > 1 ? n : 1;
}

void vmo_fill_info(struct vmo *vmo, zx_info_vmo_t *out) {
    size_t children = tree_num_children(vmo);
    mutex_lock(&vmo->lock);
    zx_info_vmo_t info = {
        .koid = vmo->obj.koid,
        .size_bytes = vmo->size,
        .parent_koid = vmo->parent_koid,
        .num_children = children,
        .num_mappings = vmo->mapping_count,
        .share_count = vmo_share_count(vmo),
        .flags = ZX_INFO_VMO_TYPE_PAGED |
                 ((vmo->options & ZX_VMO_RESIZABLE) ? ZX_INFO_VMO_RESIZABLE : 0) |
                 ((vmo->flags & VMO_FLAG_VDSO) ? ZX_INFO_VMO_IMMUTABLE : 0) |
                 ((vmo->flags & VMO_FLAG_COW_CLONE) ? ZX_INFO_VMO_IS_COW_CLONE : 0),
        .committed_bytes = (uint64_t)vmo_committed_pages(vmo) * PAGE_SIZE,
    };
    mutex_unlock(&vmo->lock);
    kobject_get_name(&vmo->obj, info.name);
    *out = info;
}

size_t vmo_backed_pages(struct vmo *vmo, uint64_t offset, size_t len) {
    if (vmo->slice_root != NULL) {
        return offset < vmo->size ? vmo_backed_pages(vmo->slice_root, offset + vmo->slice_offset,
                                                     len < vmo->size - offset ? len
                                                                              : vmo->size - offset)
                                  : 0;
    }
    size_t n = 0;
    mutex_lock(&vmo->lock);
    size_t end = (size_t)((offset + len) / PAGE_SIZE);
    for (size_t i = (size_t)(offset / PAGE_SIZE); i < end; i++) {
        const uintptr_t *slot = slot_at(vmo, i);
        if (slot == NULL) {  // no leaf: skip to the next one
            i += VMO_LEAF - 1 - i % VMO_LEAF;
            continue;
        }
        n += *slot != 0;
    }
    mutex_unlock(&vmo->lock);
    return n;
}

static zx_status_t vmo_get_info(struct kobject *obj, uint32_t topic, void *kbuf, size_t len,
                                size_t *actual) {
    if (topic != ZX_INFO_VMO) {
        return ZX_ERR_WRONG_TYPE;
    }
    if (len < sizeof(zx_info_vmo_t)) {
        return ZX_ERR_BUFFER_TOO_SMALL;
    }
    zx_info_vmo_t info;
    vmo_fill_info(vmo_from(obj), &info);
    info.flags |= ZX_INFO_VMO_VIA_HANDLE;
    memcpy(kbuf, &info, sizeof(info));
    *actual = sizeof(info);
    return ZX_OK;
}

static const struct kobject_ops vmo_ops = {
    .type_name = "vmo",
    .default_rights = ZX_DEFAULT_VMO_RIGHTS,
    .destroy = vmo_destroy,
    .get_info = vmo_get_info,
};

// A new VMO of `rounded` bytes; a slice (`with_dir` false) gets no page directory.
static zx_status_t vmo_new(uint64_t rounded, uint32_t options, bool with_dir, struct vmo **out) {
    struct vmo *vmo = kzalloc(sizeof(*vmo));
    if (vmo == NULL) {
        return ZX_ERR_NO_MEMORY;
    }
    vmo->dir_len = with_dir ? dir_len_for((size_t)(rounded / PAGE_SIZE)) : 0;
    if (vmo->dir_len > 0) {
        vmo->dir = kzalloc(vmo->dir_len * sizeof(uintptr_t *));
        if (vmo->dir == NULL) {
            kfree(vmo);
            return ZX_ERR_NO_MEMORY;
        }
    }
    vmo->size = rounded;
    vmo->options = options;
    mutex_init(&vmo->lock, "vmo", LOCK_RANK_VMO);
    kobject_init(&vmo->obj, ZX_OBJ_TYPE_VMO, &vmo_ops);
    vmo->obj.signals = ZX_VMO_ZERO_CHILDREN;  // nobody can wait on it yet
    *out = vmo;
    return ZX_OK;
}

zx_status_t vmo_create(uint64_t size, uint32_t options, struct vmo **out) {
    if ((options & ~VMO_OPTIONS_ALLOWED) != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    if (size > VMO_MAX_SIZE) {
        return ZX_ERR_OUT_OF_RANGE;
    }
    return vmo_new(PAGE_ALIGN_UP(size), options, true, out);
}

zx_status_t vmo_create_from_kernel(const void *data, size_t len, uint32_t flags,
                                   struct vmo **out) {
    struct vmo *vmo;
    zx_status_t st = vmo_create(len, 0, &vmo);
    if (st != ZX_OK) {
        return st;
    }
    st = vmo_write(vmo, data, 0, len);
    if (st != ZX_OK) {
        kobject_unref(&vmo->obj);
        return st;
    }
    vmo->flags = flags;
    *out = vmo;
    return ZX_OK;
}

// ---- Mapped sharing -------------------------------------------------------------------------
// A mapping may map a page its VMO shares copy-on-write, read-only: a read fault on it
// (vmo_fault_page) maps the shared page itself instead of copying it, and a snapshot of a
// mapped VMO write-protects the VMO's mappings (its list of regions) instead of copying its
// pages. That is allowed only while every mapping of the VMO is in one address space and
// none goes through a slice; `ro_shared` then records that such entries may exist. Whoever
// makes the VMO's slot stop pointing at such a page (a write: copy_out) unmaps it from every
// mapping of the VMO first, under that address space's lock (the fault path holds it; a
// zx_vmo_write takes it, vmo_lock_mapped), then drops its reference: so no entry ever maps
// a page that another sharer may since have taken over and written. A mapping made in
// another address space first clears every mapping of the VMO out of the page tables
// (vmo_map_prepare), so `ro_shared` never holds for two address spaces. Lock order: the
// address space (rank 50) is always taken before the VMO (60).

// True while read faults may map shared pages of `vmo` in `as` and a snapshot may
// write-protect its mappings there. VMO locked.
static bool mapped_sharing_ok(const struct vmo *vmo, const struct vm_aspace *as) {
    return vmo->mapping_count > 0 && !vmo->multi_aspace && vmo->sole_aspace == as &&
           vmo->slice_mappings == 0 && vmo->map_pending == 0;
}

// Unmaps page `index` of `vmo` from every mapping of it (but the address `skip`, which the
// caller is about to map again). VMO and its sole aspace locked.
static void unmap_page(struct vmo *vmo, size_t index, uintptr_t skip) {
    uint64_t off = (uint64_t)index * PAGE_SIZE;
    for (struct vm_region *r = vmo->mappings; r != NULL; r = r->vmo_next) {
        if (off >= r->vmo_offset && off - r->vmo_offset < r->size &&
            r->base + (off - r->vmo_offset) != skip) {
            arch_aspace_unmap(r->aspace->arch, r->base + (uintptr_t)(off - r->vmo_offset), 1);
        }
    }
}

// Makes page `index` (its slot `slot`) the VMO's own (slot_own), taking a mapped shared page
// out of the VMO's page tables before dropping it. False when out of memory. VMO locked, and
// its sole aspace too while ro_shared.
static bool copy_out(struct vmo *vmo, size_t index, uintptr_t *slot, uintptr_t skip) {
    uintptr_t old;
    if (!slot_own(slot, &old)) {
        return false;
    }
    if (old != 0) {
        if (vmo->ro_shared) {
            unmap_page(vmo, index, skip);
        }
        slot_release(old);
    }
    return true;
}

// The page at `offset` as a kernel (physmap) address, owned by the VMO (committed, taken over
// or copied); 0 when out of memory or range; COMMIT_NEED_ASPACE when a copy would need the
// VMO's sole aspace locked (`aspace_held` false). VMO locked.
#define COMMIT_NEED_ASPACE ((uintptr_t)1)
static uintptr_t commit_kpage(struct vmo *vmo, uint64_t offset, bool aspace_held) {
    if (offset >= vmo->size) {
        return 0;
    }
    size_t index = (size_t)(offset / PAGE_SIZE);
    uintptr_t *slot = page_slot(vmo, index);
    if (slot == NULL) {
        return 0;
    }
    if (vmo->ro_shared && !aspace_held && slot_cow(*slot)) {
        return COMMIT_NEED_ASPACE;
    }
    return copy_out(vmo, index, slot, 0) ? *slot : 0;
}

uintptr_t vmo_fault_page(struct vmo *vmo, const struct vm_aspace *as, uint64_t offset,
                         uintptr_t vaddr, bool write, bool *read_only) {
    *read_only = false;
    if (vmo->slice_root != NULL) {  // slices never map shared pages: always the root's own
        return offset < vmo->size ? vmo_fault_page(vmo->slice_root, as,
                                                   offset + vmo->slice_offset, 0, true,
                                                   read_only)
                                  : 0;
    }
    mutex_lock(&vmo->lock);
    uintptr_t page = 0;
    size_t index = (size_t)(offset / PAGE_SIZE);
    uintptr_t *slot = offset < vmo->size ? page_slot(vmo, index) : NULL;
    if (slot != NULL && !write && slot_cow(*slot) && mapped_sharing_ok(vmo, as)) {
        vmo->ro_shared = true;  // a read maps the shared page itself
        *read_only = true;
        page = slot_page(*slot);
    } else if (slot != NULL && copy_out(vmo, index, slot, vaddr)) {
        page = *slot;
    }
    mutex_unlock(&vmo->lock);
    return page != 0 ? vaddr_to_paddr((const void *)page) : 0;
}

void vmo_for_each_owned(struct vmo *vmo, uint64_t offset, size_t len,
                        void (*fn)(void *ctx, uint64_t offset, uintptr_t paddr), void *ctx) {
    if (vmo->slice_root != NULL) {
        return;  // its pages are the root's: they fault in
    }
    mutex_lock(&vmo->lock);
    uint64_t end = offset + len < vmo->size ? offset + len : vmo->size;
    for (uint64_t off = offset; off < end; off += PAGE_SIZE) {
        size_t i = (size_t)(off / PAGE_SIZE);
        if (i / VMO_LEAF >= vmo->dir_len || vmo->dir[i / VMO_LEAF] == NULL) {
            off = ((uint64_t)(i / VMO_LEAF) + 1) * VMO_LEAF * PAGE_SIZE - PAGE_SIZE;
            continue;  // a whole leaf with nothing committed
        }
        uintptr_t v = vmo->dir[i / VMO_LEAF][i % VMO_LEAF];
        if (v != 0 && !slot_is_shared(v)) {
            fn(ctx, off - offset, vaddr_to_paddr((const void *)v));
        }
    }
    mutex_unlock(&vmo->lock);
}

// Locks `vmo` and, while it may have shared pages mapped, its sole aspace before it (the
// address space is returned, referenced; NULL: none taken).
static struct vm_aspace *vmo_lock_mapped(struct vmo *vmo) {
    for (;;) {
        mutex_lock(&vmo->lock);
        if (!vmo->ro_shared) {
            return NULL;
        }
        struct vm_aspace *as = (struct vm_aspace *)vmo->sole_aspace;
        vm_aspace_ref(as);  // alive: it still holds a mapping of ours
        mutex_unlock(&vmo->lock);
        mutex_lock(&as->lock);
        mutex_lock(&vmo->lock);
        if (!vmo->ro_shared || vmo->sole_aspace == as) {
            return as;
        }
        mutex_unlock(&vmo->lock);
        mutex_unlock(&as->lock);
        vm_aspace_unref(as);
    }
}

static void vmo_unlock_mapped(struct vmo *vmo, struct vm_aspace *as) {
    mutex_unlock(&vmo->lock);
    if (as != NULL) {
        mutex_unlock(&as->lock);
        vm_aspace_unref(as);
    }
}

void vmo_map_prepare(struct vmo *vmo, const struct vm_aspace *as) {
    struct vmo *root = vmo->slice_root != NULL ? vmo->slice_root : vmo;
    mutex_lock(&root->lock);
    root->map_pending++;
    bool clear = root->ro_shared && root->sole_aspace != as;
    mutex_unlock(&root->lock);
    if (!clear) {
        return;
    }
    struct vm_aspace *held = vmo_lock_mapped(root);
    if (root->ro_shared && held != as) {
        for (struct vm_region *r = root->mappings; r != NULL; r = r->vmo_next) {
            arch_aspace_unmap(r->aspace->arch, r->base, r->size / PAGE_SIZE);
        }
        root->ro_shared = false;
    }
    vmo_unlock_mapped(root, held);
}

void vmo_map_finish(struct vmo *vmo) {
    struct vmo *root = vmo->slice_root != NULL ? vmo->slice_root : vmo;
    mutex_lock(&root->lock);
    root->map_pending--;
    mutex_unlock(&root->lock);
}

bool vmo_maps_shared(struct vmo *vmo) {
    struct vmo *root = vmo->slice_root != NULL ? vmo->slice_root : vmo;
    mutex_lock(&root->lock);
    bool shared = root->ro_shared;
    mutex_unlock(&root->lock);
    return shared;
}

static bool range_ok(const struct vmo *vmo, uint64_t offset, size_t len) {
    return offset <= vmo->size && len <= vmo->size - offset;
}

// Counts one more mapping of `vmo` in `as` (VMO locked): notes whether they are all in one
// address space (see vmo_create_child_in).
static void mapping_count_add(struct vmo *vmo, const struct vm_aspace *as) {
    if (vmo->mapping_count++ == 0) {
        vmo->sole_aspace = as;
        vmo->multi_aspace = false;
    } else if (vmo->sole_aspace != as) {
        vmo->multi_aspace = true;
    }
}

zx_status_t vmo_mapping_add(struct vmo *vmo, const struct vm_aspace *as, uint64_t offset,
                            size_t len, bool non_resizable) {
    mutex_lock(&vmo->lock);
    zx_status_t st = ZX_OK;
    if (non_resizable && (vmo->options & ZX_VMO_RESIZABLE)) {
        st = ZX_ERR_NOT_SUPPORTED;
    } else if (!range_ok(vmo, offset, len)) {
        st = ZX_ERR_OUT_OF_RANGE;
    } else {
        mapping_count_add(vmo, as);
    }
    mutex_unlock(&vmo->lock);
    if (st == ZX_OK && vmo->slice_root != NULL) {
        // The root's pages are now in page tables: it must not share them (see "Children").
        mutex_lock(&vmo->slice_root->lock);
        mapping_count_add(vmo->slice_root, as);
        vmo->slice_root->slice_mappings++;
        mutex_unlock(&vmo->slice_root->lock);
    }
    return st;
}

static void mapping_count_remove(struct vmo *vmo, bool via_slice) {
    mutex_lock(&vmo->lock);
    vmo->mapping_count--;
    vmo->slice_mappings -= via_slice ? 1 : 0;
    if (vmo->mapping_count == 0) {
        vmo->ro_shared = false;  // no page-table entry maps its pages any more
    }
    mutex_unlock(&vmo->lock);
}

void vmo_region_link(struct vmo *vmo, struct vm_region *r) {
    mutex_lock(&vmo->lock);
    r->vmo_prev = NULL;
    r->vmo_next = vmo->mappings;
    if (vmo->mappings != NULL) {
        vmo->mappings->vmo_prev = r;
    }
    vmo->mappings = r;
    mutex_unlock(&vmo->lock);
}

void vmo_region_unlink(struct vmo *vmo, struct vm_region *r) {
    mutex_lock(&vmo->lock);
    if (r->vmo_prev != NULL) {
        r->vmo_prev->vmo_next = r->vmo_next;
    } else {
        vmo->mappings = r->vmo_next;
    }
    if (r->vmo_next != NULL) {
        r->vmo_next->vmo_prev = r->vmo_prev;
    }
    mutex_unlock(&vmo->lock);
}

void vmo_mapping_remove(struct vmo *vmo) {
    mapping_count_remove(vmo, false);
    if (vmo->slice_root != NULL) {
        mapping_count_remove(vmo->slice_root, true);
    }
}

// Moves bytes between [offset, offset+len) of the VMO and kernel memory `kbuf`, with the VMO
// locked; a write commits pages, a read of an uncommitted page gives zeros. Checks the range
// against the size as it is now (the size may have changed since an earlier chunk).
static zx_status_t vmo_copy_locked(struct vmo *vmo, uint64_t offset, size_t len, void *kbuf,
                                   bool write, bool aspace_held) {
    if (!range_ok(vmo, offset, len)) {
        return ZX_ERR_OUT_OF_RANGE;
    }
    char *k = kbuf;
    size_t done = 0;
    while (done < len) {
        uint64_t at = offset + done;
        size_t in_page = (size_t)(at & (PAGE_SIZE - 1));
        size_t chunk = PAGE_SIZE - in_page;
        if (chunk > len - done) {
            chunk = len - done;
        }
        if (write) {
            uintptr_t page = commit_kpage(vmo, at, aspace_held);
            if (page == COMMIT_NEED_ASPACE) {
                return ZX_ERR_SHOULD_WAIT;
            }
            if (page == 0) {
                return ZX_ERR_NO_MEMORY;
            }
            memcpy((char *)page + in_page, k + done, chunk);
        } else {
            const uintptr_t *slot = slot_at(vmo, (size_t)(at / PAGE_SIZE));
            if (slot != NULL && *slot != 0) {
                memcpy(k + done, (const char *)slot_page(*slot) + in_page, chunk);
            } else {
                memset(k + done, 0, chunk);
            }
        }
        done += chunk;
    }
    return ZX_OK;
}

// vmo_copy_locked with the VMO locked, and again with its sole aspace locked too when a
// write must take a mapped shared page out of the page tables (ZX_ERR_SHOULD_WAIT: what was
// written before is written again, the same bytes).
static zx_status_t vmo_copy(struct vmo *vmo, uint64_t offset, size_t len, void *kbuf,
                            bool write) {
    mutex_lock(&vmo->lock);
    zx_status_t st = vmo_copy_locked(vmo, offset, len, kbuf, write, false);
    mutex_unlock(&vmo->lock);
    if (st == ZX_ERR_SHOULD_WAIT) {
        struct vm_aspace *as = vmo_lock_mapped(vmo);
        st = vmo_copy_locked(vmo, offset, len, kbuf, write, true);
        vmo_unlock_mapped(vmo, as);
    }
    return st;
}

// The whole-range checks of a read or write, before anything moves.
static zx_status_t vmo_rw_check(struct vmo *vmo, uint64_t offset, size_t len, bool write) {
    if (write && (vmo->flags & VMO_FLAG_VDSO)) {
        return ZX_ERR_ACCESS_DENIED;
    }
    mutex_lock(&vmo->lock);
    bool ok = range_ok(vmo, offset, len);
    mutex_unlock(&vmo->lock);
    return ok ? ZX_OK : ZX_ERR_OUT_OF_RANGE;
}

static zx_status_t vmo_rw_kernel(struct vmo *vmo, void *kbuf, uint64_t offset, size_t len,
                                 bool write) {
    if (vmo->slice_root != NULL) {  // the slice's size never changes: no lock needed
        return range_ok(vmo, offset, len) ? vmo_rw_kernel(vmo->slice_root, kbuf,
                                                          offset + vmo->slice_offset, len, write)
                                          : ZX_ERR_OUT_OF_RANGE;
    }
    if (write && (vmo->flags & VMO_FLAG_VDSO)) {
        return ZX_ERR_ACCESS_DENIED;
    }
    return vmo_copy(vmo, offset, len, kbuf, write);
}

zx_status_t vmo_read(struct vmo *vmo, void *kbuf, uint64_t offset, size_t len) {
    return vmo_rw_kernel(vmo, kbuf, offset, len, false);
}

zx_status_t vmo_write(struct vmo *vmo, const void *kbuf, uint64_t offset, size_t len) {
    return vmo_rw_kernel(vmo, (void *)kbuf, offset, len, true);
}

// A user copy, VMO_BOUNCE bytes at a time through a kernel buffer (see the lock rule above).
// A shrink racing the copy ends it with ZX_ERR_OUT_OF_RANGE at the first chunk past the new
// size; what was copied before stays copied, as with any concurrent writer.
static zx_status_t vmo_rw_user(struct vmo *vmo, uintptr_t ubuf, uint64_t offset, size_t len,
                               bool write) {
    if (vmo->slice_root != NULL) {
        return range_ok(vmo, offset, len) ? vmo_rw_user(vmo->slice_root, ubuf,
                                                        offset + vmo->slice_offset, len, write)
                                          : ZX_ERR_OUT_OF_RANGE;
    }
    zx_status_t st = vmo_rw_check(vmo, offset, len, write);
    char bounce[VMO_BOUNCE];
    for (size_t done = 0; st == ZX_OK && done < len; done += VMO_BOUNCE) {
        size_t chunk = len - done < VMO_BOUNCE ? len - done : VMO_BOUNCE;
        if (write && copy_from_user(bounce, (const void *)(ubuf + done), chunk) != ZX_OK) {
            return ZX_ERR_INVALID_ARGS;
        }
        st = vmo_copy(vmo, offset + done, chunk, bounce, write);
        if (st == ZX_OK && !write && copy_to_user((void *)(ubuf + done), bounce, chunk) != ZX_OK) {
            return ZX_ERR_INVALID_ARGS;
        }
    }
    return st;
}

zx_status_t vmo_read_user(struct vmo *vmo, uintptr_t ubuf, uint64_t offset, size_t len) {
    return vmo_rw_user(vmo, ubuf, offset, len, false);
}

zx_status_t vmo_write_user(struct vmo *vmo, uintptr_t ubuf, uint64_t offset, size_t len) {
    return vmo_rw_user(vmo, ubuf, offset, len, true);
}

uint64_t vmo_get_size(struct vmo *vmo) {
    mutex_lock(&vmo->lock);
    uint64_t size = vmo->size;
    mutex_unlock(&vmo->lock);
    return size;
}

zx_status_t vmo_set_size(struct vmo *vmo, uint64_t size) {
    if (!(vmo->options & ZX_VMO_RESIZABLE) || (vmo->flags & VMO_FLAG_VDSO)) {
        return ZX_ERR_UNAVAILABLE;
    }
    if (size > VMO_MAX_SIZE) {
        return ZX_ERR_OUT_OF_RANGE;
    }
    uint64_t rounded = PAGE_ALIGN_UP(size);
    size_t count = (size_t)(rounded / PAGE_SIZE);
    uintptr_t **old = NULL;
    zx_status_t st = ZX_OK;
    // Everything under the lock: the new array is sized and filled from the page count as it
    // is now, not as another thread left it.
    mutex_lock(&vmo->lock);
    if (rounded < vmo->size && vmo->mapping_count > 0) {
        st = ZX_ERR_BAD_STATE;
    } else if (dir_len_for(count) > vmo->dir_len) {
        uintptr_t **dir = kzalloc(dir_len_for(count) * sizeof(uintptr_t *));
        if (dir == NULL) {
            st = ZX_ERR_NO_MEMORY;
        } else {
            if (vmo->dir_len > 0) {
                memcpy(dir, vmo->dir, vmo->dir_len * sizeof(uintptr_t *));
            }
            old = vmo->dir;
            vmo->dir = dir;
            vmo->dir_len = dir_len_for(count);
        }
    } else {
        vmo_free_pages(vmo, count);  // the directory keeps its length; the tail stays empty
    }
    if (st == ZX_OK) {
        vmo->size = rounded;
    }
    mutex_unlock(&vmo->lock);
    kfree(old);
    return st;
}

// ---- Children ------------------------------------------------------------------------------

#define VMO_CHILD_TYPES \
    (ZX_VMO_CHILD_SNAPSHOT | ZX_VMO_CHILD_SNAPSHOT_AT_LEAST_ON_WRITE | ZX_VMO_CHILD_SLICE)

// Zircon's slice rules: the range inside the parent, never of a resizable VMO. zhb also
// refuses slices of the vDSO (ZX_ERR_ACCESS_DENIED): a window on it could be mapped apart
// from the one vDSO code mapping the VMAR rules police.
static zx_status_t create_slice(struct vmo *parent, uint64_t offset, uint64_t size,
                                struct vmo **out) {
    uint64_t parent_size = vmo_get_size(parent);
    if (offset > parent_size || size > parent_size - offset) {
        return ZX_ERR_INVALID_ARGS;
    }
    if (parent->options & ZX_VMO_RESIZABLE) {
        return ZX_ERR_NOT_SUPPORTED;
    }
    struct vmo *root = parent->slice_root != NULL ? parent->slice_root : parent;
    if (root->flags & VMO_FLAG_VDSO) {
        return ZX_ERR_ACCESS_DENIED;
    }
    struct vmo *slice;
    zx_status_t st = vmo_new(size, 0, false, &slice);
    if (st != ZX_OK) {
        return st;
    }
    kobject_ref(&root->obj);
    slice->slice_root = root;
    slice->slice_offset = offset + (root != parent ? parent->slice_offset : 0);
    *out = slice;
    return ZX_OK;
}

// Gives `child` the pages of [first, first + count) of `src` (see "Children"). Src locked;
// the child is not reachable by anyone else yet.
static zx_status_t snapshot_pages(struct vmo *src, size_t first, size_t count,
                                  enum snap_mode mode, struct vmo *child) {
    for (size_t i = 0; i < count; i++) {
        uintptr_t *from = slot_at(src, first + i);
        if (from == NULL) {  // a leaf never made: skip to the next one
            i += VMO_LEAF - 1 - (first + i) % VMO_LEAF;
            continue;
        }
        if (*from == 0) {
            continue;
        }
        uintptr_t *to = page_slot(child, i);
        if (to == NULL || !slot_snapshot(from, mode, to)) {
            return ZX_ERR_NO_MEMORY;
        }
    }
    return ZX_OK;
}

// Makes every writable mapping of `src` read-only over [offset, offset + len) of it (only
// the entries present change), so its pages there can be shared: the next write faults and
// copies. Src and its sole aspace locked.
static void write_protect(struct vmo *src, uint64_t offset, uint64_t len) {
    for (struct vm_region *r = src->mappings; r != NULL; r = r->vmo_next) {
        uint64_t from = offset > r->vmo_offset ? offset : r->vmo_offset;
        uint64_t to = offset + len < r->vmo_offset + r->size ? offset + len
                                                             : r->vmo_offset + r->size;
        if ((r->mmu_flags & ARCH_MMU_FLAG_WRITE) && from < to) {
            (void)arch_aspace_protect(r->aspace->arch, r->base + (uintptr_t)(from - r->vmo_offset),
                                      (size_t)((to - from) / PAGE_SIZE),
                                      r->mmu_flags & ~ARCH_MMU_FLAG_WRITE);
        }
    }
}

// Locks `src` for a snapshot taken with the aspace `held` locked (NULL: none). Without one,
// when src is mapped in one address space only, that one is locked first (returned,
// referenced) so its mappings can be write-protected instead of the pages copied.
static struct vm_aspace *lock_for_snapshot(struct vmo *src, const struct vm_aspace *held) {
    mutex_lock(&src->lock);
    if (held != NULL || !mapped_sharing_ok(src, src->sole_aspace)) {
        return NULL;
    }
    struct vm_aspace *as = (struct vm_aspace *)src->sole_aspace;
    vm_aspace_ref(as);  // alive: it still holds a mapping of src
    mutex_unlock(&src->lock);
    mutex_lock(&as->lock);
    mutex_lock(&src->lock);  // what changed meanwhile is checked again (snapshot_mode)
    return as;
}

// How a snapshot of [offset, offset + len) of root VMO `src` (locked, and `as` if not NULL)
// takes its pages: an unmapped source shares them; a source mapped only in `as` has its
// mappings write-protected over the range and shares them too; any other copies them.
static enum snap_mode snapshot_mode(struct vmo *src, const struct vm_aspace *as,
                                    uint64_t offset, uint64_t len) {
    if (src->mapping_count == 0) {
        return SNAP_SHARE;
    }
    if (as == NULL || !mapped_sharing_ok(src, as)) {
        return SNAP_COPY;
    }
    write_protect(src, offset, len);
    src->ro_shared = true;  // those entries now map shared pages
    return SNAP_SHARE;
}

static zx_status_t create_snapshot(struct vmo *parent, uint32_t options, uint64_t offset,
                                   uint64_t size, const struct vm_aspace *held,
                                   struct vmo **out) {
    struct vmo *child;
    zx_status_t st = vmo_new(size, (options & ZX_VMO_CHILD_RESIZABLE) ? ZX_VMO_RESIZABLE : 0,
                             true, &child);
    if (st != ZX_OK) {
        return st;
    }
    child->flags = VMO_FLAG_COW_CLONE;
    // A slice's window is fixed; its root holds the pages (copied if it is mapped at all).
    bool of_slice = parent->slice_root != NULL;
    struct vmo *src = of_slice ? parent->slice_root : parent;
    uint64_t base = of_slice ? parent->slice_offset : 0;
    struct vm_aspace *taken = of_slice ? (mutex_lock(&src->lock), NULL)
                                       : lock_for_snapshot(src, held);
    uint64_t view = of_slice ? parent->size : src->size;
    uint64_t avail = offset < view ? view - offset : 0;
    size_t count = (size_t)((avail < size ? avail : size) / PAGE_SIZE);
    enum snap_mode mode = of_slice ? (src->mapping_count > 0 ? SNAP_COPY : SNAP_SHARE)
                                   : snapshot_mode(src, held != NULL ? held : taken, offset,
                                                   (uint64_t)count * PAGE_SIZE);
    st = snapshot_pages(src, (size_t)((base + offset) / PAGE_SIZE), count, mode, child);
    vmo_unlock_mapped(src, taken);
    if (st != ZX_OK) {
        kobject_unref(&child->obj);  // releases what it took
        return st;
    }
    *out = child;
    return ZX_OK;
}

zx_status_t vmo_create_child(struct vmo *parent, uint32_t options, uint64_t offset,
                             uint64_t size, struct vmo **out) {
    return vmo_create_child_in(parent, options, offset, size, NULL, out);
}

zx_status_t vmo_create_child_in(struct vmo *parent, uint32_t options, uint64_t offset,
                                uint64_t size, const struct vm_aspace *as, struct vmo **out) {
    uint32_t type = options & VMO_CHILD_TYPES;
    if ((options & ~(VMO_CHILD_TYPES | ZX_VMO_CHILD_RESIZABLE)) != 0 || type == 0 ||
        (type & (type - 1)) != 0 ||
        (type == ZX_VMO_CHILD_SLICE && (options & ZX_VMO_CHILD_RESIZABLE))) {
        return ZX_ERR_INVALID_ARGS;
    }
    if ((offset & (PAGE_SIZE - 1)) != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    if (size > VMO_MAX_SIZE) {
        return ZX_ERR_OUT_OF_RANGE;
    }
    uint64_t rounded = PAGE_ALIGN_UP(size);
    if (offset + rounded < offset) {
        return ZX_ERR_OUT_OF_RANGE;
    }
    struct vmo *child;
    zx_status_t st = type == ZX_VMO_CHILD_SLICE
                         ? create_slice(parent, offset, rounded, &child)
                         : create_snapshot(parent, options, offset, rounded, as, &child);
    if (st == ZX_OK) {
        child->parent_koid = parent->obj.koid;
        tree_link(parent, child);
        *out = child;
    }
    return st;
}
