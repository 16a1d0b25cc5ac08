// Checked user copies (include/kernel/usercopy.h).
//
// The copy never dereferences a user address: each page of the user range is translated
// through the address space's own tables (arch_aspace_query) and must be present with
// ARCH_MMU_FLAG_USER (and ARCH_MMU_FLAG_WRITE for a copy out); the bytes then move through
// the kernel's physmap view of the physical page. A page not in the tables yet is faulted in
// as a user access would be (vm_fault_locked: demand paging), so "not mapped" after that means
// "not a valid user address". The aspace lock is held per page, from the lookup to the end of
// the copy, so no other thread can unmap the page (and drop the last reference to the memory
// behind it) in between: the page is pinned for the copy.
#include <kernel/usercopy.h>

#include <stdbool.h>
#include <stdint.h>

#include <kernel/arch.h>
#include <kernel/lock.h>
#include <kernel/physmap.h>
#include <kernel/pmm.h>
#include <kernel/process.h>
#include <kernel/vm.h>
#include <lib/string.h>
#include <zircon/errors.h>

static bool user_range_ok(uintptr_t addr, size_t n) {
    return addr >= USER_ASPACE_BASE && addr < USER_ASPACE_TOP && n <= USER_ASPACE_TOP - addr;
}

// Copies n bytes between user `uaddr` in `as` and kernel `kbuf`; `out` is the direction.
static zx_status_t copy_user(struct vm_aspace *as, uintptr_t uaddr, void *kbuf, size_t n,
                             bool out) {
    if (n == 0) {
        return ZX_OK;
    }
    if (as == NULL || !user_range_ok(uaddr, n)) {
        return ZX_ERR_INVALID_ARGS;
    }
    uint32_t need = ARCH_MMU_FLAG_USER | (out ? ARCH_MMU_FLAG_WRITE : 0);
    char *k = kbuf;
    while (n > 0) {
        size_t chunk = PAGE_SIZE - (uaddr & (PAGE_SIZE - 1));
        if (chunk > n) {
            chunk = n;
        }
        mutex_lock(&as->lock);
        uintptr_t paddr;
        uint32_t flags;
        zx_status_t st = as->arch != NULL ? arch_aspace_query(as->arch, uaddr, &paddr, &flags)
                                          : ZX_ERR_NOT_FOUND;  // destroyed
        if ((st != ZX_OK || (flags & need) != need) &&
            vm_fault_locked(as, uaddr, out ? ARCH_MMU_FLAG_WRITE : ARCH_MMU_FLAG_READ) == ZX_OK) {
            st = arch_aspace_query(as->arch, uaddr, &paddr, &flags);
        }
        if (st != ZX_OK || (flags & need) != need) {
            mutex_unlock(&as->lock);
            return ZX_ERR_INVALID_ARGS;
        }
        if (out) {
            memcpy(paddr_to_physmap(paddr), k, chunk);
        } else {
            memcpy(k, paddr_to_physmap(paddr), chunk);
        }
        mutex_unlock(&as->lock);
        uaddr += chunk;
        k += chunk;
        n -= chunk;
    }
    return ZX_OK;
}

zx_status_t copy_from_aspace(struct vm_aspace *as, void *dst, uintptr_t usrc, size_t n) {
    return copy_user(as, usrc, dst, n, false);
}

zx_status_t copy_to_aspace(struct vm_aspace *as, uintptr_t udst, const void *src, size_t n) {
    return copy_user(as, udst, (void *)src, n, true);
}

static struct vm_aspace *current_aspace(void) {
    struct process *p = process_current();
    return p != NULL ? p->aspace : NULL;
}

zx_status_t copy_from_user(void *dst, const void *usrc, size_t n) {
    return copy_from_aspace(current_aspace(), dst, (uintptr_t)usrc, n);
}

zx_status_t copy_to_user(void *udst, const void *src, size_t n) {
    return copy_to_aspace(current_aspace(), (uintptr_t)udst, src, n);
}
