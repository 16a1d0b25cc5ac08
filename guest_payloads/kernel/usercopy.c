// Checked user copies (include/kernel/usercopy.h).
//
// Two ways to reach user memory:
//
// - The running process's (copy_from_user / copy_to_user, and copy_*_aspace given that
//   process's aspace): the arch routine (arch_copy_from_user / arch_copy_to_user) loads and
//   stores through the live page tables with the user's own rights, after the range check
//   below. A page fault it takes comes back to usercopy_fault, which resolves it the way a user
//   access would be resolved (vm_fault: demand paging, copy-on-write) and retries, or ends
//   the copy with ZX_ERR_INVALID_ARGS. Nothing is pinned: a page leaves the address space only
//   through an unmap or protect, which invalidates every CPU's translation (the TLB
//   shootdown) before it returns and before the memory behind it can be freed, so a copy
//   reaches a page only while it is still mapped there, and faults after.
//
// - Another address space (process set-up, self-tests): each page of the range is translated
//   through that address space's tables (arch_aspace_query) and must be present with
//   ARCH_MMU_FLAG_USER (and ARCH_MMU_FLAG_WRITE for a copy out), faulted in first if need be
//   (vm_fault_locked); the bytes move through the kernel's physmap view of the page. The
//   aspace lock is held per page from the lookup to the end of the copy, so no other thread
//   can unmap the page (and drop the last reference to the memory behind it) in between.
#include <kernel/usercopy.h>

#include <stdbool.h>
#include <stdint.h>

#include <kernel/arch.h>
#include <kernel/lock.h>
#include <kernel/physmap.h>
#include <kernel/pmm.h>
#include <kernel/process.h>
#include <kernel/syscall.h>
#include <kernel/thread.h>
#include <kernel/vm.h>
#include <lib/string.h>
#include <zircon/errors.h>

static bool user_range_ok(uintptr_t addr, size_t n) {
    return addr >= USER_ASPACE_BASE && addr < USER_ASPACE_TOP && n <= USER_ASPACE_TOP - addr;
}

// Copies n bytes between user `uaddr` in `as` (not the running one) and kernel `kbuf`; `out`
// is the direction.
static zx_status_t copy_user_walk(struct vm_aspace *as, uintptr_t uaddr, void *kbuf, size_t n,
                                  bool out) {
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

// The address space the running thread's user memory lives in, or NULL (a kernel thread).
static struct vm_aspace *running_aspace(void) {
    struct process *p = process_current();
    return p != NULL ? p->aspace : NULL;
}

// `running`: `as` is the running process's address space (the caller looked it up).
static zx_status_t copy_user(struct vm_aspace *as, bool running, uintptr_t uaddr, void *kbuf,
                             size_t n, bool out) {
    if (n == 0) {
        return ZX_OK;
    }
    if (as == NULL || !user_range_ok(uaddr, n)) {
        return ZX_ERR_INVALID_ARGS;
    }
    if (!running) {
        return copy_user_walk(as, uaddr, kbuf, n, out);
    }
    uintptr_t *resume = thread_user_copy_resume(thread_current());
    uint64_t failed = out ? arch_copy_to_user((void *)uaddr, kbuf, n, resume)
                          : arch_copy_from_user(kbuf, (const void *)uaddr, n, resume);
    return failed ? ZX_ERR_INVALID_ARGS : ZX_OK;
}

bool usercopy_fault(uintptr_t addr, uint32_t access, bool can_block, uintptr_t *pc) {
    struct thread *t = thread_current();
    uintptr_t *resume = t != NULL ? thread_user_copy_resume(t) : NULL;
    if (resume == NULL || *resume == 0 || addr < USER_ASPACE_BASE || addr >= USER_ASPACE_TOP) {
        return false;
    }
    bool resolved = false;
    if (access != 0 && can_block) {
        arch_irq_enable();  // vm_fault takes mutexes
        resolved = user_page_fault(addr, access);
        arch_irq_disable();
    }
    if (!resolved) {
        *pc = *resume;
    }
    return true;
}

zx_status_t copy_from_aspace(struct vm_aspace *as, void *dst, uintptr_t usrc, size_t n) {
    return copy_user(as, as == running_aspace(), usrc, dst, n, false);
}

zx_status_t copy_to_aspace(struct vm_aspace *as, uintptr_t udst, const void *src, size_t n) {
    return copy_user(as, as == running_aspace(), udst, (void *)src, n, true);
}

zx_status_t copy_from_user(void *dst, const void *usrc, size_t n) {
    return copy_user(running_aspace(), true, (uintptr_t)usrc, dst, n, false);
}

zx_status_t copy_to_user(void *udst, const void *src, size_t n) {
    return copy_user(running_aspace(), true, (uintptr_t)udst, (void *)src, n, true);
}
