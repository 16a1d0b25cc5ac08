// Virtual memory (kernel/vm/, kernel/object/vmo.c, kernel/object/vmar.c): address spaces,
// VMOs and VMARs. Owner: K3.
//
// Address-space split (README "Address-space map"): the kernel lives in the upper half (its
// image and the physmap, <kernel/physmap.h>; arm64 through TTBR1, x86-64 in PML4 entry 511
// shared by every address space), and each process owns Zircon's user range:
//
//     [USER_ASPACE_BASE, USER_ASPACE_TOP) = [16 MiB, 2^47 - 4 KiB)   the root VMAR
//
// Layers, bottom up:
//   arch_aspace_*   page tables of one address space (arch/<arch>/mmu.c): map/unmap/protect
//                   4 KiB pages with ARCH_MMU_FLAG_* and query a translation.
//   struct vm_aspace  one per process: the arch tables, the root VMAR, the vDSO record.
//   struct vmo      pages from the pmm, committed on first write or when mapped; snapshot
//                   children share pages copy-on-write, slices are windows on their root.
//   struct vmar     a range of an aspace; children are sub-VMARs and mappings of VMOs.
//
// Locking (docs/architecture.md "Locking model"): every VMAR operation holds its address
// space's mutex (struct vm_aspace.lock, LOCK_RANK_ASPACE) from its first check to its last
// change, so it is atomic against the process's other threads; a VMO's own mutex
// (LOCK_RANK_VMO) nests inside it. Callers need no lock. Every function validates all
// arguments before changing anything, and changes nothing when it fails.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zircon/types.h>

#include <arch/kernel-layout.h>
#include <kernel/lock.h>
#include <kernel/object.h>
#include <kernel/pmm.h>  // PAGE_SIZE

#define USER_ASPACE_BASE ARCH_USER_ASPACE_BASE  // <arch/kernel-layout.h>
#define USER_ASPACE_TOP 0x00007ffffffff000ull   // exclusive; the last page below 2^47 stays out
#define USER_ASPACE_SIZE (USER_ASPACE_TOP - USER_ASPACE_BASE)

// ---- Page tables (arch/<arch>/mmu.c) ------------------------------------------------------
#define ARCH_MMU_FLAG_READ 0x1u
#define ARCH_MMU_FLAG_WRITE 0x2u
#define ARCH_MMU_FLAG_EXECUTE 0x4u
#define ARCH_MMU_FLAG_USER 0x8u  // user-accessible (else kernel-only)

struct arch_aspace;  // opaque per-arch page-table root
struct zx_info_maps;  // <zircon/syscalls/object.h>
struct zx_info_vmo;
struct vm_region;
struct vm_aspace;

// Creates an address space whose tables share the kernel's half; NULL when out of memory.
struct arch_aspace *arch_aspace_create(void);
// Frees every page-table page (not the mapped pages). The aspace must not be active.
void arch_aspace_destroy(struct arch_aspace *as);
// Maps the page `paddr` at `vaddr` (both page-aligned, vaddr in the user range) with
// ARCH_MMU_FLAG_*; WRITE together with EXECUTE is refused (W^X). Replaces any old mapping.
zx_status_t arch_aspace_map(struct arch_aspace *as, uintptr_t vaddr, uintptr_t paddr,
                            uint32_t flags);
// Removes the mapping of `count` pages from `vaddr` (absent pages are skipped).
void arch_aspace_unmap(struct arch_aspace *as, uintptr_t vaddr, size_t count);
// Changes the flags of the mapped pages in [vaddr, vaddr + count pages).
zx_status_t arch_aspace_protect(struct arch_aspace *as, uintptr_t vaddr, size_t count,
                                uint32_t flags);
// Looks up `vaddr`: ZX_OK with *paddr (of the byte) and *flags, or ZX_ERR_NOT_FOUND.
zx_status_t arch_aspace_query(struct arch_aspace *as, uintptr_t vaddr, uintptr_t *paddr,
                              uint32_t *flags);
// Makes `as` the user half of the running CPU (NULL: the kernel-only tables).
void arch_aspace_activate(struct arch_aspace *as);

// ---- VMOs ---------------------------------------------------------------------------------
#define VMO_FLAG_VDSO 0x1u  // the vDSO image: never writable; its code mapping is policed
#define VMO_FLAG_COW_CLONE 0x2u  // a snapshot child (ZX_INFO_VMO_IS_COW_CLONE)

struct vmo {
    struct kobject obj;  // ZX_OBJ_TYPE_VMO
    struct mutex lock;   // size, the page directory, mapping_count (LOCK_RANK_VMO)
    uint64_t size;       // bytes, a multiple of PAGE_SIZE
    size_t dir_len;      // entries of dir[]: leaves of 512 pages (kernel/object/vmo.c)
    uintptr_t **dir;     // leaf per 2 MiB, NULL until a page in it is committed; a leaf
                         // holds the page per index, 0 = not committed yet (reads as zeros)
    uint32_t options;    // ZX_VMO_RESIZABLE ...
    uint32_t flags;      // VMO_FLAG_*
    uint32_t mapping_count;
    // zx_vmo_create_child (kernel/object/vmo.c "Children"): a slice forwards every page
    // operation to `slice_root` (never itself a slice; the slice holds a reference) at
    // `slice_offset`; `parent_koid` is the VMO it was created from (0 for a root VMO).
    struct vmo *slice_root;
    uint64_t slice_offset;
    zx_koid_t parent_koid;
    // Where it is mapped (vmo_mapping_add): the address space of its mappings while they are
    // all in one, and how many go through slices of it (a root only).
    const struct vm_aspace *sole_aspace;
    bool multi_aspace;
    uint32_t slice_mappings;
    // Every mapping region of this VMO (struct vm_region.vmo_next/vmo_prev), under the VMO
    // lock: ZX_INFO_VMO share_count and the write-protection of a snapshot walk it.
    struct vm_region *mappings;
    // Some page-table entry of a mapping of this VMO maps a page it shares copy-on-write
    // (read-only). Only while every mapping of it is in sole_aspace, none through a slice:
    // that aspace's lock lets a writer unmap those entries before it drops the shared page
    // (kernel/object/vmo.c "Mapped sharing"). `map_pending` counts mappings being made in
    // another aspace (vmo_map_prepare), which keep it clear.
    bool ro_shared;
    uint32_t map_pending;
    // The child tree (kernel/object/vmo.c "Child tree", under its vmo-tree spinlock): the
    // live VMO this one was created from (NULL for a root, or once the parent is gone), its
    // live direct children (snapshots and slices) as a sibling list, and their count, which
    // drives ZX_VMO_ZERO_CHILDREN and ZX_INFO_VMO num_children.
    struct vmo *parent;
    struct vmo *children;
    struct vmo *sibling_next, *sibling_prev;
    size_t num_children;
    // VMO_FLAG_VDSO only: the image's executable segment [code_start, size): the one
    // mapping with ZX_VM_PERM_EXECUTE a process may make of it.
    uint64_t vdso_code_start;
    // VMO_FLAG_VDSO only: ZX_SYS_COUNT offsets from the image start of each syscall's
    // CODE_SYSRET label (0: no stub); the syscall PC check (kernel/syscall.c) uses them.
    const uintptr_t *vdso_sysret;
};

// Creates a VMO of `size` bytes rounded up to pages (ZX_ERR_OUT_OF_RANGE past the limit,
// ZX_ERR_INVALID_ARGS for unknown options). The caller holds the one reference.
zx_status_t vmo_create(uint64_t size, uint32_t options, struct vmo **out);
// Creates a VMO holding a copy of kernel data (vDSO, userboot, the ZBI) with VMO_FLAG_*.
zx_status_t vmo_create_from_kernel(const void *data, size_t len, uint32_t flags,
                                   struct vmo **out);
// Copies between the VMO and a kernel buffer. ZX_ERR_OUT_OF_RANGE past the size;
// ZX_ERR_ACCESS_DENIED for writes to a VMO_FLAG_VDSO VMO.
zx_status_t vmo_read(struct vmo *vmo, void *kbuf, uint64_t offset, size_t len);
zx_status_t vmo_write(struct vmo *vmo, const void *kbuf, uint64_t offset, size_t len);
// The same with a user buffer (through copy_from_user/copy_to_user).
zx_status_t vmo_read_user(struct vmo *vmo, uintptr_t ubuf, uint64_t offset, size_t len);
zx_status_t vmo_write_user(struct vmo *vmo, uintptr_t ubuf, uint64_t offset, size_t len);
uint64_t vmo_get_size(struct vmo *vmo);
// Bytes of the pages the VMO holds alone (ZX_INFO_VMO committed_bytes).
uint64_t vmo_committed_bytes(struct vmo *vmo);
// The ZX_INFO_VMO record of `vmo` (flags without VIA_HANDLE / VIA_MAPPING, no handle rights).
void vmo_fill_info(struct vmo *vmo, struct zx_info_vmo *out);
// Pages of [offset, offset + len) backed by memory, shared ones included.
size_t vmo_backed_pages(struct vmo *vmo, uint64_t offset, size_t len);
// ZX_ERR_UNAVAILABLE unless ZX_VMO_RESIZABLE; ZX_ERR_BAD_STATE while mapped past the new size.
zx_status_t vmo_set_size(struct vmo *vmo, uint64_t size);
// A mapping of [offset, offset + len) is being made: checks the range (ZX_ERR_OUT_OF_RANGE)
// and, with `non_resizable`, that the VMO is not resizable (ZX_ERR_NOT_SUPPORTED), and counts
// the mapping, all under the VMO lock, so no shrink can slip in before the pages are mapped.
zx_status_t vmo_mapping_add(struct vmo *vmo, const struct vm_aspace *as, uint64_t offset,
                            size_t len, bool non_resizable);
void vmo_mapping_remove(struct vmo *vmo);
// Puts mapping region `r` (r->vmo == vmo, r->aspace set) on / takes it off the VMO's list of
// mappings; the aspace lock of r is held.
void vmo_region_link(struct vmo *vmo, struct vm_region *r);
void vmo_region_unlink(struct vmo *vmo, struct vm_region *r);
// The fault path (vm_fault_locked, the lock of `as` held): the physical page to map at user
// address `vaddr` for page `offset` of the VMO; 0 when out of memory/range. A write, or a VMO
// not mapped in `as` alone, makes the page the VMO's own (committing a zeroed page, or taking
// over or copying a shared one); a read of a page shared copy-on-write maps the shared page
// itself, *read_only set (kernel/object/vmo.c "Mapped sharing").
uintptr_t vmo_fault_page(struct vmo *vmo, const struct vm_aspace *as, uint64_t offset,
                         uintptr_t vaddr, bool write, bool *read_only);
// Around vmar_map of `vmo` into `as` (no lock held): takes shared pages the VMO (or its
// slice root) has mapped in another address space out of the page tables first, and keeps
// read faults from mapping shared pages until vmo_map_finish.
void vmo_map_prepare(struct vmo *vmo, const struct vm_aspace *as);
void vmo_map_finish(struct vmo *vmo);
// True if mappings of the VMO (or its slice root) may map shared pages read-only: raising a
// mapping to writable must then unmap its pages rather than change their flags.
bool vmo_maps_shared(struct vmo *vmo);
// Calls fn(ctx, page offset from `offset`, physical address) for each page of
// [offset, offset + len) that `vmo` holds committed and alone (not shared with a snapshot
// relative), under the VMO lock (it may take the thread lock, nothing else). Commits nothing.
// A slice has none of its own.
void vmo_for_each_owned(struct vmo *vmo, uint64_t offset, size_t len,
                        void (*fn)(void *ctx, uint64_t offset, uintptr_t paddr), void *ctx);

// zx_vmo_create_child's object part: `options` are ZX_VMO_CHILD_* without NO_WRITE (a
// property of the handle). Zircon's argument rules; the caller holds the one reference.
zx_status_t vmo_create_child(struct vmo *parent, uint32_t options, uint64_t offset,
                             uint64_t size, struct vmo **out);
// The same from zx_vmar_create_vmo_child with the lock of `as` held. A snapshot of a VMO
// mapped in one address space only (`as`, or the one it locks itself without `as`)
// write-protects its mappings over the range and shares the pages; one mapped in several
// copies them.
zx_status_t vmo_create_child_in(struct vmo *parent, uint32_t options, uint64_t offset,
                                uint64_t size, const struct vm_aspace *as, struct vmo **out);

// ---- VMARs --------------------------------------------------------------------------------
struct vm_aspace;
struct vm_region;

struct vmar {
    struct kobject obj;      // ZX_OBJ_TYPE_VMAR
    struct vm_aspace *aspace;
    struct vmar *parent;     // NULL for the root VMAR
    uintptr_t base;
    size_t size;
    zx_vm_option_t flags;    // ZX_VM_CAN_MAP_* (and COMPACT/SPECIFIC as created)
    bool destroyed;
    struct vm_region *children;  // sorted by base, non-overlapping
};

// One child of a VMAR: a sub-VMAR or a mapping.
struct vm_region {
    struct vm_region *next;
    uintptr_t base;
    size_t size;
    struct vmar *vmar;       // set for a sub-VMAR (the region holds a reference)
    struct vmo *vmo;         // set for a mapping (the region holds a reference)
    uint64_t vmo_offset;
    uint32_t mmu_flags;      // ARCH_MMU_FLAG_* of a mapping
    uint32_t max_mmu_flags;  // what vmar_protect may raise it to (VMAR and VMO-handle limits)
    bool vdso_code;          // this is the process's one vDSO code mapping
    bool no_vmo_child;       // mapped with ZX_VM_CANNOT_CREATE_VMO_CHILD
    // A mapping's place on its VMO's list (struct vmo.mappings, VMO lock) and the address
    // space it is in.
    struct vm_region *vmo_next, *vmo_prev;
    struct vm_aspace *aspace;
};

struct vm_aspace {
    struct mutex lock;       // the VMAR tree, mappings, page tables, vDSO record
    uint32_t refs;           // the owner's + one per VMAR struct (atomic); freed at 0
    struct arch_aspace *arch;  // NULL once destroyed
    struct vmar *root;       // covers [USER_ASPACE_BASE, USER_ASPACE_TOP)
    uintptr_t vdso_base;     // the vDSO image's address (code mapping - code_start); 0: none.
                             // CODE_SYSRET offsets (from the image start) add to it.
    struct vm_region *vdso_code;  // the recorded vDSO code mapping, NULL until mapped
    const uintptr_t *vdso_sysret;  // the mapped vDSO's CODE_SYSRET offsets (struct vmo)
};

// Demand paging: a user access to `addr` (ARCH_MMU_FLAG_READ/WRITE/EXECUTE in `access`)
// found no page. ZX_OK when a mapping allows the access and its page is now in the tables
// (retry the access); ZX_ERR_NOT_FOUND outside every mapping, ZX_ERR_ACCESS_DENIED against
// its permissions, ZX_ERR_NO_MEMORY: a user fault. vm_fault_locked: aspace lock held.
zx_status_t vm_fault(struct vm_aspace *as, uintptr_t addr, uint32_t access);
zx_status_t vm_fault_locked(struct vm_aspace *as, uintptr_t addr, uint32_t access);

// ZX_INFO_PROCESS_MAPS / the mapping part of ZX_INFO_PROCESS_VMOS, in one aspace-locked walk:
// writes up to `cap` records (zx_info_maps_t / zx_info_vmo_t) to `out` and returns how many
// there are. `name` names the depth-0 (aspace) entry.
size_t vm_aspace_maps(struct vm_aspace *as, const char name[ZX_MAX_NAME_LEN],
                      struct zx_info_maps *out, size_t cap);
size_t vm_aspace_vmos(struct vm_aspace *as, struct zx_info_vmo *out, size_t cap);

// Where user address `addr` is mapped (the user-fault line, kernel/syscall.c): the VMO's
// name, the offset of `addr` in that VMO and the base of the VMAR directly holding the
// mapping. false (out untouched) when no mapping covers it.
struct vm_location {
    char vmo_name[ZX_MAX_NAME_LEN];
    uint64_t vmo_offset;
    uintptr_t vmar_base;
};
bool vm_aspace_locate(struct vm_aspace *as, uintptr_t addr, struct vm_location *out);


// One more / one less reference on the aspace struct (freed with the last).
void vm_aspace_ref(struct vm_aspace *as);
void vm_aspace_unref(struct vm_aspace *as);
// Creates an aspace with its root VMAR (one reference, owned by the aspace).
zx_status_t vm_aspace_create(const char *name, struct vm_aspace **out);
// Destroys every mapping and VMAR of the aspace, then its page tables.
void vm_aspace_destroy(struct vm_aspace *as);

// The Zircon operations (argument rules as zx_vmar_*; `options` are the ZX_VM_* bits).
zx_status_t vmar_allocate(struct vmar *parent, zx_vm_option_t options, size_t offset,
                          size_t size, struct vmar **child, zx_vaddr_t *child_addr);
// `max_perms` are the ZX_VM_PERM_* the VMO handle's rights allow (READ/WRITE/EXECUTE);
// protect can never go beyond them.
zx_status_t vmar_map(struct vmar *vmar, zx_vm_option_t options, size_t vmar_offset,
                     struct vmo *vmo, uint64_t vmo_offset, size_t len, zx_vm_option_t max_perms,
                     zx_vaddr_t *mapped);
zx_status_t vmar_unmap(struct vmar *vmar, zx_vaddr_t addr, size_t len);
zx_status_t vmar_protect(struct vmar *vmar, zx_vm_option_t options, zx_vaddr_t addr,
                         size_t len);
zx_status_t vmar_destroy(struct vmar *vmar);
// RFC-0013's zx_vmar_create_vmo_child, object part: a snapshot child of the VMO mapped at
// [addr, addr + size), which must lie inside one mapping under `vmar`. `options` are the
// ZX_VMO_CHILD_* of the call without NO_WRITE; *executable says whether the mapping was.
zx_status_t vmar_create_vmo_child(struct vmar *vmar, uint32_t options, zx_vaddr_t addr,
                                  size_t size, struct vmo **out, bool *executable);
