// Virtual memory objects (include/kernel/vm.h): a size and a sparse two-level page table.
//
//   dir[i / VMO_LEAF] -> leaf[VMO_LEAF]   a leaf (one 4 KiB heap block) exists only once a
//                                         page in its range is committed
//   page i == 0      not committed: reads as zeros; the first write or a mapping
//                    commits a zeroed page from the pmm
//   page i != 0      the page from the pmm: its physmap address (<kernel/physmap.h>)
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
// pages in) never nests inside a VMO lock.
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

static size_t dir_len_for(size_t pages) {
    return (pages + VMO_LEAF - 1) / VMO_LEAF;
}

// Page i (0: not committed). VMO locked.
static uintptr_t page_get(const struct vmo *vmo, size_t i) {
    const uintptr_t *leaf = i / VMO_LEAF < vmo->dir_len ? vmo->dir[i / VMO_LEAF] : NULL;
    return leaf != NULL ? leaf[i % VMO_LEAF] : 0;
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
    for (size_t d = from / VMO_LEAF; d < vmo->dir_len; d++) {
        uintptr_t *leaf = vmo->dir[d];
        if (leaf == NULL) {
            continue;
        }
        size_t first = d == from / VMO_LEAF ? from % VMO_LEAF : 0;
        for (size_t k = first; k < VMO_LEAF; k++) {
            if (leaf[k] != 0) {
                pmm_free_page(leaf[k]);
                leaf[k] = 0;
            }
        }
        if (first == 0) {
            kfree(leaf);
            vmo->dir[d] = NULL;
        }
    }
}

static void vmo_destroy(struct kobject *obj) {
    struct vmo *vmo = vmo_from(obj);
    vmo_free_pages(vmo, 0);
    kfree(vmo->dir);
    kfree(vmo);
}

static size_t vmo_committed_pages(const struct vmo *vmo) {
    size_t n = 0;
    for (size_t d = 0; d < vmo->dir_len; d++) {
        for (size_t k = 0; vmo->dir[d] != NULL && k < VMO_LEAF; k++) {
            n += vmo->dir[d][k] != 0;
        }
    }
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
    struct vmo *vmo = vmo_from(obj);
    mutex_lock(&vmo->lock);
    zx_info_vmo_t info = {
        .koid = obj->koid,
        .size_bytes = vmo->size,
        .num_mappings = vmo->mapping_count,
        .share_count = 1,
        .flags = ZX_INFO_VMO_TYPE_PAGED | ZX_INFO_VMO_VIA_HANDLE |
                 ((vmo->options & ZX_VMO_RESIZABLE) ? ZX_INFO_VMO_RESIZABLE : 0) |
                 ((vmo->flags & VMO_FLAG_VDSO) ? ZX_INFO_VMO_IMMUTABLE : 0),
        .committed_bytes = (uint64_t)vmo_committed_pages(vmo) * PAGE_SIZE,
    };
    mutex_unlock(&vmo->lock);
    kobject_get_name(obj, info.name);
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

zx_status_t vmo_create(uint64_t size, uint32_t options, struct vmo **out) {
    if ((options & ~VMO_OPTIONS_ALLOWED) != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    if (size > VMO_MAX_SIZE) {
        return ZX_ERR_OUT_OF_RANGE;
    }
    uint64_t rounded = PAGE_ALIGN_UP(size);
    struct vmo *vmo = kzalloc(sizeof(*vmo));
    if (vmo == NULL) {
        return ZX_ERR_NO_MEMORY;
    }
    vmo->dir_len = dir_len_for((size_t)(rounded / PAGE_SIZE));
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
    *out = vmo;
    return ZX_OK;
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

// The page at `offset` as a kernel (physmap) address, committing a zeroed one; 0 when out
// of memory or range. VMO locked.
static uintptr_t commit_kpage(struct vmo *vmo, uint64_t offset) {
    if (offset >= vmo->size) {
        return 0;
    }
    uintptr_t *slot = page_slot(vmo, (size_t)(offset / PAGE_SIZE));
    if (slot == NULL) {
        return 0;
    }
    if (*slot == 0) {
        *slot = pmm_alloc_zeroed_page();
    }
    return *slot;
}

uintptr_t vmo_commit_page(struct vmo *vmo, uint64_t offset) {
    mutex_lock(&vmo->lock);
    uintptr_t page = commit_kpage(vmo, offset);
    mutex_unlock(&vmo->lock);
    return page != 0 ? vaddr_to_paddr((const void *)page) : 0;
}

static bool range_ok(const struct vmo *vmo, uint64_t offset, size_t len) {
    return offset <= vmo->size && len <= vmo->size - offset;
}

zx_status_t vmo_mapping_add(struct vmo *vmo, uint64_t offset, size_t len, bool non_resizable) {
    mutex_lock(&vmo->lock);
    zx_status_t st = ZX_OK;
    if (non_resizable && (vmo->options & ZX_VMO_RESIZABLE)) {
        st = ZX_ERR_NOT_SUPPORTED;
    } else if (!range_ok(vmo, offset, len)) {
        st = ZX_ERR_OUT_OF_RANGE;
    } else {
        vmo->mapping_count++;
    }
    mutex_unlock(&vmo->lock);
    return st;
}

void vmo_mapping_remove(struct vmo *vmo) {
    mutex_lock(&vmo->lock);
    vmo->mapping_count--;
    mutex_unlock(&vmo->lock);
}

// Moves bytes between [offset, offset+len) of the VMO and kernel memory `kbuf`, with the VMO
// locked; a write commits pages, a read of an uncommitted page gives zeros. Checks the range
// against the size as it is now (the size may have changed since an earlier chunk).
static zx_status_t vmo_copy_locked(struct vmo *vmo, uint64_t offset, size_t len, void *kbuf,
                                   bool write) {
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
            uintptr_t page = commit_kpage(vmo, at);
            if (page == 0) {
                return ZX_ERR_NO_MEMORY;
            }
            memcpy((char *)page + in_page, k + done, chunk);
        } else {
            uintptr_t page = page_get(vmo, (size_t)(at / PAGE_SIZE));
            if (page != 0) {
                memcpy(k + done, (const char *)page + in_page, chunk);
            } else {
                memset(k + done, 0, chunk);
            }
        }
        done += chunk;
    }
    return ZX_OK;
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
    if (write && (vmo->flags & VMO_FLAG_VDSO)) {
        return ZX_ERR_ACCESS_DENIED;
    }
    mutex_lock(&vmo->lock);
    zx_status_t st = vmo_copy_locked(vmo, offset, len, kbuf, write);
    mutex_unlock(&vmo->lock);
    return st;
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
    zx_status_t st = vmo_rw_check(vmo, offset, len, write);
    char bounce[VMO_BOUNCE];
    for (size_t done = 0; st == ZX_OK && done < len; done += VMO_BOUNCE) {
        size_t chunk = len - done < VMO_BOUNCE ? len - done : VMO_BOUNCE;
        if (write && copy_from_user(bounce, (const void *)(ubuf + done), chunk) != ZX_OK) {
            return ZX_ERR_INVALID_ARGS;
        }
        mutex_lock(&vmo->lock);
        st = vmo_copy_locked(vmo, offset + done, chunk, bounce, write);
        mutex_unlock(&vmo->lock);
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
