// Virtual memory objects (include/kernel/vm.h): a size and an array of physical pages.
//
//   pages[i] == 0    page i not committed: reads as zeros; the first write or a mapping
//                    commits a zeroed page from the pmm
//   pages[i] != 0    the page from the pmm: its physmap address (<kernel/physmap.h>)
//
// A VMO_FLAG_VDSO VMO is immutable: every write path refuses it with ZX_ERR_ACCESS_DENIED
// (README "vDSO rules"). Sizes are whole pages; the largest VMO is VMO_MAX_SIZE.
// Lock rule: one CPU, interrupts masked around every change of pages[] or the size.
#include <kernel/vm.h>

#include <kernel/arch.h>
#include <kernel/heap.h>
#include <kernel/physmap.h>
#include <kernel/pmm.h>
#include <kernel/usercopy.h>
#include <lib/string.h>
#include <zircon/errors.h>
#include <zircon/rights.h>
#include <zircon/syscalls/object.h>

#define VMO_MAX_SIZE (1ull << 32)  // 4 GiB: the pages[] array stays within one heap block run
#define VMO_OPTIONS_ALLOWED ZX_VMO_RESIZABLE

static struct vmo *vmo_from(struct kobject *obj) {
    return (struct vmo *)obj;
}

static void vmo_free_pages(struct vmo *vmo, size_t from) {
    for (size_t i = from; i < vmo->page_count; i++) {
        if (vmo->pages[i] != 0) {
            pmm_free_page(vmo->pages[i]);
            vmo->pages[i] = 0;
        }
    }
}

static void vmo_destroy(struct kobject *obj) {
    struct vmo *vmo = vmo_from(obj);
    vmo_free_pages(vmo, 0);
    kfree(vmo->pages);
    kfree(vmo);
}

static size_t vmo_committed_pages(const struct vmo *vmo) {
    size_t n = 0;
    for (size_t i = 0; i < vmo->page_count; i++) {
        n += vmo->pages[i] != 0;
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
    arch_irq_state_t s = arch_irq_save();
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
    arch_irq_restore(s);
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
    vmo->page_count = (size_t)(rounded / PAGE_SIZE);
    if (vmo->page_count > 0) {
        vmo->pages = kzalloc(vmo->page_count * sizeof(uintptr_t));
        if (vmo->pages == NULL) {
            kfree(vmo);
            return ZX_ERR_NO_MEMORY;
        }
    }
    vmo->size = rounded;
    vmo->options = options;
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
// of memory or range.
static uintptr_t commit_kpage(struct vmo *vmo, uint64_t offset) {
    arch_irq_state_t s = arch_irq_save();
    uintptr_t page = 0;
    if (offset < vmo->size) {
        size_t i = (size_t)(offset / PAGE_SIZE);
        if (vmo->pages[i] == 0) {
            vmo->pages[i] = pmm_alloc_zeroed_page();
        }
        page = vmo->pages[i];
    }
    arch_irq_restore(s);
    return page;
}

uintptr_t vmo_commit_page(struct vmo *vmo, uint64_t offset) {
    uintptr_t page = commit_kpage(vmo, offset);
    return page != 0 ? vaddr_to_paddr((const void *)page) : 0;
}

static bool range_ok(const struct vmo *vmo, uint64_t offset, size_t len) {
    return offset <= vmo->size && len <= vmo->size - offset;
}

// Moves `len` bytes between the VMO at `offset` and a buffer, one page at a time, through
// `copy(page_kaddr, buf_offset, chunk, ctx)`. A write commits pages; a read of an
// uncommitted page sees zeros (the callback gets page 0 and zero-fills).
typedef zx_status_t (*vmo_copy_fn)(void *page, size_t buf_off, size_t chunk, void *ctx);

static zx_status_t vmo_walk(struct vmo *vmo, uint64_t offset, size_t len, bool write,
                            vmo_copy_fn copy, void *ctx) {
    if (write && (vmo->flags & VMO_FLAG_VDSO)) {
        return ZX_ERR_ACCESS_DENIED;
    }
    if (!range_ok(vmo, offset, len)) {
        return ZX_ERR_OUT_OF_RANGE;
    }
    size_t done = 0;
    while (done < len) {
        uint64_t at = offset + done;
        size_t in_page = (size_t)(at & (PAGE_SIZE - 1));
        size_t chunk = PAGE_SIZE - in_page;
        if (chunk > len - done) {
            chunk = len - done;
        }
        uintptr_t page = write ? commit_kpage(vmo, at) : vmo->pages[at / PAGE_SIZE];
        if (write && page == 0) {
            return ZX_ERR_NO_MEMORY;
        }
        zx_status_t st = copy(page != 0 ? (char *)page + in_page : NULL, done, chunk, ctx);
        if (st != ZX_OK) {
            return st;
        }
        done += chunk;
    }
    return ZX_OK;
}

static const char zero_page[PAGE_SIZE];

static zx_status_t copy_to_kbuf(void *page, size_t off, size_t chunk, void *ctx) {
    memcpy((char *)ctx + off, page != NULL ? page : zero_page, chunk);
    return ZX_OK;
}

static zx_status_t copy_from_kbuf(void *page, size_t off, size_t chunk, void *ctx) {
    memcpy(page, (const char *)ctx + off, chunk);
    return ZX_OK;
}

static zx_status_t copy_to_ubuf(void *page, size_t off, size_t chunk, void *ctx) {
    return copy_to_user((char *)*(uintptr_t *)ctx + off, page != NULL ? page : zero_page, chunk);
}

static zx_status_t copy_from_ubuf(void *page, size_t off, size_t chunk, void *ctx) {
    return copy_from_user(page, (const char *)*(uintptr_t *)ctx + off, chunk);
}

zx_status_t vmo_read(struct vmo *vmo, void *kbuf, uint64_t offset, size_t len) {
    return vmo_walk(vmo, offset, len, false, copy_to_kbuf, kbuf);
}

zx_status_t vmo_write(struct vmo *vmo, const void *kbuf, uint64_t offset, size_t len) {
    return vmo_walk(vmo, offset, len, true, copy_from_kbuf, (void *)kbuf);
}

zx_status_t vmo_read_user(struct vmo *vmo, uintptr_t ubuf, uint64_t offset, size_t len) {
    return vmo_walk(vmo, offset, len, false, copy_to_ubuf, &ubuf);
}

zx_status_t vmo_write_user(struct vmo *vmo, uintptr_t ubuf, uint64_t offset, size_t len) {
    return vmo_walk(vmo, offset, len, true, copy_from_ubuf, &ubuf);
}

uint64_t vmo_get_size(const struct vmo *vmo) {
    return vmo->size;
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
    if (rounded < vmo->size && vmo->mapping_count > 0) {
        return ZX_ERR_BAD_STATE;
    }
    uintptr_t *pages = NULL;
    if (count > vmo->page_count) {
        pages = kzalloc(count * sizeof(uintptr_t));
        if (pages == NULL) {
            return ZX_ERR_NO_MEMORY;
        }
    }
    arch_irq_state_t s = arch_irq_save();
    if (pages != NULL) {
        if (vmo->page_count > 0) {
            memcpy(pages, vmo->pages, vmo->page_count * sizeof(uintptr_t));
        }
        uintptr_t *old = vmo->pages;
        vmo->pages = pages;
        pages = old;
    } else {
        vmo_free_pages(vmo, count);
    }
    vmo->page_count = count > vmo->page_count ? count : vmo->page_count;
    vmo->size = rounded;
    arch_irq_restore(s);
    kfree(pages);
    return ZX_OK;
}
