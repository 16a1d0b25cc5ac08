// Helpers the test programs share (programs/common/child.c): children that run a few bytes
// of machine code (arch/<arch>/machine-code.h), the vDSO's layout, and small object queries.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zircon/syscalls.h>

#include <zhb/elf.h>

#define CHILD_PAGE_SIZE 4096u

struct child {
    zx_handle_t proc;
    zx_handle_t vmar;
    zx_handle_t thread;
    zx_vaddr_t code;       // where the code page is mapped in the child
    zx_vaddr_t vdso_base;  // where the vDSO is mapped in the child (0: not mapped)
};

// The vDSO VMO (from the startup handles) and its ELF layout, read from our own mapping.
struct vdso_layout {
    zx_handle_t vmo;
    uint64_t size;
    struct elf_info elf;
};
bool vdso_layout(struct vdso_layout *layout);

// Maps the vDSO with its exact layout (a sub-VMAR holding its read-only segment, then its
// code) into `vmar`; *base is where it starts.
zx_status_t vdso_map(zx_handle_t vmar, const struct vdso_layout *layout, zx_vaddr_t *base);

// Creates a process in `job` running `code` (one page, R+X) on one thread with a one-page
// stack; maps the vDSO into it first when map_vdso. Not started.
zx_status_t child_create(zx_handle_t job, const char *name, const uint8_t *code, size_t len,
                         bool map_vdso, struct child *child);

// Starts the child's thread at its code with arg2 (arg1: a channel end, as Zircon requires).
zx_status_t child_start(struct child *child, uintptr_t arg2);

// Starts the BOOTFS file `path` (from the PA_VMO_BOOTFS startup handle) in `job` with args
// {path, arg}, our environ and the standard handles, as userboot does (with ulib's process
// builder).
zx_status_t spawn_from_bootfs(zx_handle_t job, const char *path, const char *arg,
                              zx_handle_t *proc);

// The same with args {path, args[0..nargs)} and `resource` (if valid) handed to the child
// as its PA_RESOURCE startup handle (duplicated).
zx_status_t spawn_from_bootfs_with(zx_handle_t job, const char *path, const char *const *args,
                                   uint32_t nargs, zx_handle_t resource, zx_handle_t *proc);

// The executable VMO of BOOTFS file `path` (a copy, executable-capable), from our
// PA_VMO_BOOTFS startup handle.
zx_status_t bootfs_file_vmo(const char *path, zx_handle_t *vmo);
// Unmaps the BOOTFS mapping bootfs_file_vmo and the spawn helpers keep (the next use maps it
// again).
void bootfs_close(void);

// Kills (if still running) and closes everything.
void child_destroy(struct child *child);

// Waits up to `ms` milliseconds for `signals` on `handle`.
zx_status_t wait_ms(zx_handle_t handle, zx_signals_t signals, int64_t ms);

zx_koid_t koid_of(zx_handle_t handle);
zx_rights_t rights_of(zx_handle_t handle);
zx_thread_state_t thread_state(zx_handle_t thread);
int64_t return_code(zx_handle_t proc);
// Handles this process holds, of every type (ZX_INFO_PROCESS_HANDLE_STATS).
uint32_t handle_total(void);
