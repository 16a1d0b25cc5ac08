// Per-process handle tables (kernel/object/handle.c).
//
// A handle is (object, rights) in one process's table. Its user-visible value is not the table
// index: value = ((generation << HANDLE_INDEX_BITS | index) ^ salt) << 2 | 0x3, where `salt`
// is a per-table random number and `generation` counts reuses of the slot, so a closed
// handle's value goes stale instead of naming the next object put in its slot. Every valid
// value has the two low bits set (ZX_HANDLE_FIXED_BITS_MASK) and is never ZX_HANDLE_INVALID.
//
//   entries[capacity]:  { obj, rights, generation }   obj == NULL: free, on the free list
//
// References: every handle holds one kobject reference and counts in obj->handle_count. A
// handle taken out of a table for a channel message (handle_table_take) stays a handle "in
// transit": it keeps both until handle_table_install puts it in a table or handle_drop ends it.
// When an object's handle_count reaches 0, its ops->on_last_handle runs.
//
// Rights only shrink: duplicate/replace take a subset of the handle's rights or
// ZX_RIGHT_SAME_RIGHTS; asking for more is ZX_ERR_INVALID_ARGS, as in Zircon.
//
// Bad handles: a lookup of a value that names no live handle returns ZX_ERR_BAD_HANDLE and
// applies the table's job ZX_POL_BAD_HANDLE policy (include/kernel/job.h): ALLOW and DENY just
// return the error; KILL (and the *_EXCEPTION actions, since no exception handler exists)
// also call the table's on_policy_kill hook.
//
// Lock rule: every operation holds the table's mutex (include/kernel/lock.h), so each is atomic
// against the process's other threads; never call these with an aspace or VMO lock held.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <kernel/lock.h>
#include <kernel/object.h>
#include <zircon/types.h>

#define HANDLE_INDEX_BITS 12u
#define HANDLE_TABLE_MAX (1u << HANDLE_INDEX_BITS)  // handles per process

struct job;
struct handle_entry;  // private to handle.c

// A handle out of any table (in a channel message, or being moved): it holds one reference
// and one handle_count on `obj`.
struct msg_handle {
    struct kobject *obj;
    zx_rights_t rights;
};

struct handle_table {
    struct mutex lock;             // every operation holds it (LOCK_RANK_HANDLE_TABLE)
    struct handle_entry *entries;  // capacity slots, grown by doubling (kmalloc)
    uint32_t capacity;
    uint32_t count;      // live handles
    uint32_t free_head;  // first free slot index, or capacity when none
    uint32_t salt;       // mixed into every value (30 bits)
    bool dead;           // handle_table_destroy ran: adds fail with ZX_ERR_BAD_STATE
    struct job *job;     // whose ZX_POL_BAD_HANDLE applies; may be NULL (allow); not owned
    // Called (syscall context, interrupts on) when the bad-handle policy says KILL; the
    // owner kills its process with ZX_TASK_RETCODE_POLICY_KILL. NULL: behave as DENY.
    void (*on_policy_kill)(struct handle_table *ht);
};

// An empty table whose bad-handle policy comes from `job` (may be NULL).
void handle_table_init(struct handle_table *ht, struct job *job);

// Closes every handle still in the table and frees its storage; every later add or install
// fails with ZX_ERR_BAD_STATE.
void handle_table_destroy(struct handle_table *ht);

// Adds a new handle to `obj` with `rights`: takes its own reference (the caller keeps its
// one) and counts a handle. ZX_ERR_NO_RESOURCES when the table is full, ZX_ERR_NO_MEMORY.
zx_status_t handle_table_add(struct handle_table *ht, struct kobject *obj, zx_rights_t rights,
                             zx_handle_t *out);

// Looks up `h`: a new reference to its object in *out (release with kobject_unref).
// ZX_ERR_BAD_HANDLE (and the bad-handle policy) if `h` is not a live handle of this table,
// ZX_ERR_WRONG_TYPE if `type` is not ZX_OBJ_TYPE_NONE and differs from the object's,
// ZX_ERR_ACCESS_DENIED if the handle lacks any of the `need` rights.
zx_status_t handle_table_get(struct handle_table *ht, zx_handle_t h, zx_obj_type_t type,
                             zx_rights_t need, struct kobject **out);

// handle_table_get that also returns the handle's rights (rights may be NULL).
zx_status_t handle_table_get_rights(struct handle_table *ht, zx_handle_t h, zx_obj_type_t type,
                                    zx_rights_t need, struct kobject **out, zx_rights_t *rights);

// Looks up `h` (any type, `need` rights; errors as handle_table_get) and runs fn(arg, obj)
// with the table still locked, so `h` stays live throughout (zx_object_wait_async attaches
// its observer to the handle this way). Returns fn's status. fn must not take this table's
// lock or release handles or references.
zx_status_t handle_table_with(struct handle_table *ht, zx_handle_t h, zx_rights_t need,
                              zx_status_t (*fn)(void *arg, struct kobject *obj), void *arg);

// ZX_INFO_PROCESS_HANDLE_STATS: counts[type] = the table's live handles to objects of `type`.
void handle_table_count_types(struct handle_table *ht, uint32_t counts[ZX_OBJ_TYPE_UPPER_BOUND]);

// Removes `h` from the table for transfer: the handle (its reference and handle count) moves
// to the caller in *obj / *rights. Errors as handle_table_get; nothing changes on error.
// Calls fn(ctx, obj, rights) for every handle to an object of `type`, with the table locked
// (fn may take locks ranked after it, and must not release anything); returns how many.
size_t handle_table_for_each(struct handle_table *ht, zx_obj_type_t type,
                             void (*fn)(void *ctx, struct kobject *obj, zx_rights_t rights),
                             void *ctx);
zx_status_t handle_table_take(struct handle_table *ht, zx_handle_t h, zx_rights_t need,
                              struct kobject **obj, zx_rights_t *rights);

// Puts a handle in transit (from handle_table_take) into the table, consuming it.
// On error the handle is still the caller's (drop it with handle_drop).
zx_status_t handle_table_install(struct handle_table *ht, struct kobject *obj, zx_rights_t rights,
                                 zx_handle_t *out);

// Installs n handles in transit all at once, or none: ZX_ERR_NO_RESOURCES / ZX_ERR_NO_MEMORY
// leave them all the caller's. out[i] gets the value of mh[i].
zx_status_t handle_table_install_many(struct handle_table *ht, const struct msg_handle *mh,
                                      uint32_t n, zx_handle_t *out);

// Takes every handle of hv[0..n) out for transfer in one atomic step: each must be live, have
// `need` rights, not refer to `exclude` (ZX_ERR_NOT_SUPPORTED) and appear once
// (ZX_ERR_BAD_HANDLE). On success mh[0..n) holds them. On failure every value of hv[] that
// was live is closed all the same (Zircon's channel_write consumes its handles).
zx_status_t handle_table_take_many(struct handle_table *ht, const zx_handle_t *hv, uint32_t n,
                                   zx_rights_t need, const struct kobject *exclude,
                                   struct msg_handle *mh);

// Ends a handle in transit: uncounts it (maybe running on_last_handle) and drops its reference.
void handle_drop(struct kobject *obj);

// Closes `h`. ZX_ERR_BAD_HANDLE (with the policy) if it is not a live handle.
zx_status_t handle_table_close(struct handle_table *ht, zx_handle_t h);

// A new handle to the same object with `rights` (a subset of h's, or ZX_RIGHT_SAME_RIGHTS).
// Needs ZX_RIGHT_DUPLICATE on `h`: ZX_ERR_ACCESS_DENIED; more rights: ZX_ERR_INVALID_ARGS.
zx_status_t handle_table_duplicate(struct handle_table *ht, zx_handle_t h, zx_rights_t rights,
                                   zx_handle_t *out);

// Replaces `h` by a new handle with `rights` (subset or ZX_RIGHT_SAME_RIGHTS); `h` is
// invalidated on success and also on ZX_ERR_INVALID_ARGS (more rights), as Zircon does.
zx_status_t handle_table_replace(struct handle_table *ht, zx_handle_t h, zx_rights_t rights,
                                 zx_handle_t *out);

// Live handles in the table.
uint32_t handle_table_count(const struct handle_table *ht);

// The running process's table (include/kernel/process.h), or NULL on a kernel-only thread.
struct handle_table *handle_table_current(void);

// For syscalls: copies the new handle value `h` to user address `uout` (copy_to_user of
// include/kernel/usercopy.h); if that fails, closes `h` again: ZX_ERR_INVALID_ARGS.
zx_status_t handle_table_copy_out(struct handle_table *ht, zx_handle_t h, uintptr_t uout);

// For syscalls: handle_table_add, then handle_table_copy_out.
zx_status_t handle_table_add_user(struct handle_table *ht, struct kobject *obj, zx_rights_t rights,
                                  uintptr_t uout);

// For syscalls creating two peers: handles to `a` and `b` (both with `rights`) whose values go
// to `uout0` / `uout1`; all or nothing (ZX_ERR_INVALID_ARGS for a bad out pointer).
zx_status_t handle_table_add_pair_user(struct handle_table *ht, struct kobject *a,
                                       struct kobject *b, zx_rights_t rights, uintptr_t uout0,
                                       uintptr_t uout1);
