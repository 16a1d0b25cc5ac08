// Checked copies between the kernel and the current process's user memory
// (kernel/usercopy.c). Owner: K1.
//
// Every syscall handler reads and writes user memory only through these. A user pointer is
// accepted when [ptr, ptr + n) lies inside the user range of the calling process's address
// space (USER_ASPACE_BASE.. in <kernel/vm.h>) and every page of it is mapped with user
// access (and writable, for copy_to_user). Anything else — NULL, a kernel address, an overflowing
// range, an unmapped page, no current process — is ZX_ERR_INVALID_ARGS, never a kernel
// fault; nothing is copied then into kernel memory beyond what was read so far (callers
// treat a failed copy_from_user's destination as garbage). n == 0 always succeeds.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zircon/types.h>

zx_status_t copy_from_user(void *dst, const void *usrc, size_t n);
zx_status_t copy_to_user(void *udst, const void *src, size_t n);

// Same for an explicit address space (struct vm_aspace of <kernel/vm.h>): the kernel's own
// self-tests and process set-up use these for a process that is not running.
struct vm_aspace;
zx_status_t copy_from_aspace(struct vm_aspace *as, void *dst, uintptr_t usrc, size_t n);
zx_status_t copy_to_aspace(struct vm_aspace *as, uintptr_t udst, const void *src, size_t n);

// A page fault the kernel took at `addr` (`access`: the ARCH_MMU_FLAG_READ or _WRITE it
// needed, 0 if paging cannot resolve it) in the arch's user copy, called by the arch fault
// handler with interrupts masked. True if it was one: the fault is then resolved as the user's
// own access would be (only when `can_block`: interrupts were on at the fault) and the copy
// retries, or `*pc` becomes the copy's failure exit. False: not a user copy's fault at a user
// address (a kernel bug: the caller panics).
bool usercopy_fault(uintptr_t addr, uint32_t access, bool can_block, uintptr_t *pc);

// Typed forms for the user_*_ptr_t arguments of <syscall-kernel.h>:
//   copy_from_user(&x, (const void *)p.addr, sizeof x)  ==  user_copy_in(&x, p.addr, sizeof x)
static inline zx_status_t user_copy_in(void *dst, uintptr_t usrc, size_t n) {
    return copy_from_user(dst, (const void *)usrc, n);
}
static inline zx_status_t user_copy_out(uintptr_t udst, const void *src, size_t n) {
    return copy_to_user((void *)udst, src, n);
}
