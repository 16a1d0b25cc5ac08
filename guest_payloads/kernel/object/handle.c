// Handle tables (include/kernel/handle.h).
//
//   value  = ((generation << HANDLE_INDEX_BITS | index) ^ salt) << 2 | ZX_HANDLE_FIXED_BITS_MASK
//   index  = slot in entries[], generation = entries[index].generation (18 bits, bumped on free)
//
//   entries: [ live {obj, rights, gen} | free {next_free, gen} | ... ]   grown by doubling
//
// Handle accounting: a live entry owns one reference and one handle_count on its object.
// handle_release() ends a handle (in a table or in transit): handle_count--, maybe
// on_last_handle, then the reference.
//
// Lock rule: a table and the handle counts are guarded by masking interrupts; on_last_handle
// and kobject_unref run with the caller's interrupt state (they take their own locks).
#include <kernel/handle.h>

#include <kernel/arch.h>
#include <kernel/heap.h>
#include <kernel/job.h>
#include <kernel/panic.h>
#include <kernel/process.h>
#include <kernel/random.h>
#include <kernel/usercopy.h>
#include <kernel/wait.h>
#include <lib/string.h>

// A value keeps 30 bits of (generation, index) above the two fixed low bits.
#define HANDLE_VALUE_BITS 30u
#define HANDLE_VALUE_MASK ((1u << HANDLE_VALUE_BITS) - 1)
#define HANDLE_GEN_BITS (HANDLE_VALUE_BITS - HANDLE_INDEX_BITS)
#define HANDLE_INDEX_MASK ((1u << HANDLE_INDEX_BITS) - 1)
#define HANDLE_GEN_MASK ((1u << HANDLE_GEN_BITS) - 1)
#define HANDLE_TABLE_INITIAL 16u

struct handle_entry {
    struct kobject *obj;  // NULL: free
    zx_rights_t rights;
    uint32_t generation;
    uint32_t next_free;  // free: next free index, or capacity
};

static zx_handle_t handle_value(const struct handle_table *ht, uint32_t index) {
    uint32_t gen = ht->entries[index].generation & HANDLE_GEN_MASK;
    uint32_t raw = ((gen << HANDLE_INDEX_BITS) | index) ^ ht->salt;
    return (zx_handle_t)(raw << 2) | ZX_HANDLE_FIXED_BITS_MASK;
}

// The entry `h` names, or NULL (interrupts masked).
static struct handle_entry *handle_entry_of(struct handle_table *ht, zx_handle_t h,
                                            uint32_t *index_out) {
    if ((h & ZX_HANDLE_FIXED_BITS_MASK) != ZX_HANDLE_FIXED_BITS_MASK) {
        return NULL;
    }
    uint32_t raw = (h >> 2) ^ ht->salt;
    uint32_t index = raw & HANDLE_INDEX_MASK;
    uint32_t gen = raw >> HANDLE_INDEX_BITS;
    if (index >= ht->capacity) {
        return NULL;
    }
    struct handle_entry *e = &ht->entries[index];
    if (e->obj == NULL || (e->generation & HANDLE_GEN_MASK) != gen) {
        return NULL;
    }
    *index_out = index;
    return e;
}

void handle_table_init(struct handle_table *ht, struct job *job) {
    memset(ht, 0, sizeof(*ht));
    ht->salt = (uint32_t)random_u64() & HANDLE_VALUE_MASK;
    ht->job = job;
}

// Ends a handle's life: uncounts it and drops its reference.
static void handle_release(struct kobject *obj) {
    arch_irq_state_t irq = arch_irq_save();
    if (obj->handle_count == 0) {
        panic("handle_release: %s koid %llu has no handles", obj->ops->type_name,
              (unsigned long long)obj->koid);
    }
    bool last = --obj->handle_count == 0;
    arch_irq_restore(irq);
    if (last && obj->ops->on_last_handle != NULL) {
        obj->ops->on_last_handle(obj);
    }
    kobject_unref(obj);
}

void handle_drop(struct kobject *obj) {
    handle_release(obj);
}

// Frees slot `index` (interrupts masked): waits through the handle are canceled and the
// generation moves on so old values go stale.
static void handle_slot_free(struct handle_table *ht, uint32_t index) {
    struct handle_entry *e = &ht->entries[index];
    wait_cancel_handle(e->obj, ht, handle_value(ht, index));
    e->obj = NULL;
    e->rights = 0;
    e->generation = (e->generation + 1) & HANDLE_GEN_MASK;
    e->next_free = ht->free_head;
    ht->free_head = index;
    ht->count--;
}

void handle_table_destroy(struct handle_table *ht) {
    for (;;) {
        arch_irq_state_t irq = arch_irq_save();
        struct kobject *obj = NULL;
        for (uint32_t i = 0; i < ht->capacity && obj == NULL; i++) {
            if (ht->entries[i].obj != NULL) {
                obj = ht->entries[i].obj;
                handle_slot_free(ht, i);
            }
        }
        arch_irq_restore(irq);
        if (obj == NULL) {
            break;
        }
        handle_release(obj);
    }
    kfree(ht->entries);
    ht->entries = NULL;
    ht->capacity = 0;
    ht->free_head = 0;
}

// Doubles the table (interrupts masked; the heap is safe to call so).
static zx_status_t handle_table_grow(struct handle_table *ht) {
    uint32_t cap = ht->capacity == 0 ? HANDLE_TABLE_INITIAL : ht->capacity * 2;
    if (cap > HANDLE_TABLE_MAX) {
        return ZX_ERR_NO_RESOURCES;
    }
    struct handle_entry *entries = kzalloc(cap * sizeof(*entries));
    if (entries == NULL) {
        return ZX_ERR_NO_MEMORY;
    }
    if (ht->entries != NULL) {
        memcpy(entries, ht->entries, ht->capacity * sizeof(*entries));
    }
    // New slots go on the free list in index order, before the old free list.
    uint32_t old_head = ht->free_head == ht->capacity ? cap : ht->free_head;
    for (uint32_t i = ht->capacity; i < cap; i++) {
        entries[i].next_free = i + 1 < cap ? i + 1 : old_head;
    }
    // Old free entries chain to `capacity` as "end"; rewrite that end marker to the new one.
    for (uint32_t i = 0; i < ht->capacity; i++) {
        if (entries[i].obj == NULL && entries[i].next_free == ht->capacity) {
            entries[i].next_free = cap;
        }
    }
    ht->free_head = ht->capacity;
    kfree(ht->entries);
    ht->entries = entries;
    ht->capacity = cap;
    return ZX_OK;
}

zx_status_t handle_table_reserve(struct handle_table *ht, uint32_t n) {
    arch_irq_state_t irq = arch_irq_save();
    zx_status_t status = ZX_OK;
    while (status == ZX_OK && ht->capacity - ht->count < n) {
        status = handle_table_grow(ht);
    }
    arch_irq_restore(irq);
    return status;
}

zx_status_t handle_table_install(struct handle_table *ht, struct kobject *obj, zx_rights_t rights,
                                 zx_handle_t *out) {
    arch_irq_state_t irq = arch_irq_save();
    zx_status_t status = ZX_OK;
    if (ht->count == ht->capacity) {
        status = handle_table_grow(ht);
    }
    if (status == ZX_OK) {
        uint32_t index = ht->free_head;
        struct handle_entry *e = &ht->entries[index];
        ht->free_head = e->next_free;
        e->obj = obj;
        e->rights = rights;
        ht->count++;
        *out = handle_value(ht, index);
    }
    arch_irq_restore(irq);
    return status;
}

zx_status_t handle_table_add(struct handle_table *ht, struct kobject *obj, zx_rights_t rights,
                             zx_handle_t *out) {
    kobject_ref(obj);
    arch_irq_state_t irq = arch_irq_save();
    obj->handle_count++;
    arch_irq_restore(irq);
    zx_status_t status = handle_table_install(ht, obj, rights, out);
    if (status != ZX_OK) {
        handle_release(obj);
    }
    return status;
}

// A value that names no handle: apply the job's ZX_POL_BAD_HANDLE policy.
static zx_status_t handle_bad(struct handle_table *ht) {
    if (job_policy_check(ht->job, ZX_POL_BAD_HANDLE) == ZX_POL_ACTION_KILL &&
        ht->on_policy_kill != NULL) {
        ht->on_policy_kill(ht);
    }
    return ZX_ERR_BAD_HANDLE;
}

// Checks an entry against the wanted type and rights.
static zx_status_t handle_check(const struct handle_entry *e, zx_obj_type_t type,
                                zx_rights_t need) {
    if (type != ZX_OBJ_TYPE_NONE && e->obj->type != type) {
        return ZX_ERR_WRONG_TYPE;
    }
    if ((e->rights & need) != need) {
        return ZX_ERR_ACCESS_DENIED;
    }
    return ZX_OK;
}

// Finds the entry of `h` and checks its type and rights. On ZX_OK it returns with interrupts
// masked (*irq restores them) and *out, *index set; on an error interrupts are as they were
// (and a bad handle has met the bad-handle policy).
static zx_status_t handle_find(struct handle_table *ht, zx_handle_t h, zx_obj_type_t type,
                               zx_rights_t need, arch_irq_state_t *irq, struct handle_entry **out,
                               uint32_t *index) {
    *irq = arch_irq_save();
    struct handle_entry *e = handle_entry_of(ht, h, index);
    if (e == NULL) {
        arch_irq_restore(*irq);
        return handle_bad(ht);
    }
    zx_status_t status = handle_check(e, type, need);
    if (status != ZX_OK) {
        arch_irq_restore(*irq);
        return status;
    }
    *out = e;
    return ZX_OK;
}

zx_status_t handle_table_get_rights(struct handle_table *ht, zx_handle_t h, zx_obj_type_t type,
                                    zx_rights_t need, struct kobject **out, zx_rights_t *rights) {
    arch_irq_state_t irq;
    struct handle_entry *e;
    uint32_t index;
    zx_status_t status = handle_find(ht, h, type, need, &irq, &e, &index);
    if (status != ZX_OK) {
        return status;
    }
    kobject_ref(e->obj);
    *out = e->obj;
    if (rights != NULL) {
        *rights = e->rights;
    }
    arch_irq_restore(irq);
    return ZX_OK;
}

zx_status_t handle_table_get(struct handle_table *ht, zx_handle_t h, zx_obj_type_t type,
                             zx_rights_t need, struct kobject **out) {
    return handle_table_get_rights(ht, h, type, need, out, NULL);
}

zx_status_t handle_table_take(struct handle_table *ht, zx_handle_t h, zx_rights_t need,
                              struct kobject **obj, zx_rights_t *rights) {
    arch_irq_state_t irq;
    struct handle_entry *e;
    uint32_t index;
    zx_status_t status = handle_find(ht, h, ZX_OBJ_TYPE_NONE, need, &irq, &e, &index);
    if (status != ZX_OK) {
        return status;
    }
    *obj = e->obj;
    *rights = e->rights;
    handle_slot_free(ht, index);
    arch_irq_restore(irq);
    return ZX_OK;
}

zx_status_t handle_table_close(struct handle_table *ht, zx_handle_t h) {
    struct kobject *obj;
    zx_rights_t rights;
    zx_status_t status = handle_table_take(ht, h, ZX_RIGHT_NONE, &obj, &rights);
    if (status == ZX_OK) {
        handle_release(obj);
    }
    return status;
}

// The rights a duplicate/replace asking for `want` gets from a handle with `have`.
static zx_status_t handle_new_rights(zx_rights_t have, zx_rights_t want, zx_rights_t *out) {
    if (want == ZX_RIGHT_SAME_RIGHTS) {
        *out = have;
        return ZX_OK;
    }
    if ((want & ~have) != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    *out = want;
    return ZX_OK;
}

zx_status_t handle_table_duplicate(struct handle_table *ht, zx_handle_t h, zx_rights_t rights,
                                   zx_handle_t *out) {
    struct kobject *obj;
    zx_rights_t have, new_rights;
    zx_status_t status =
        handle_table_get_rights(ht, h, ZX_OBJ_TYPE_NONE, ZX_RIGHT_DUPLICATE, &obj, &have);
    if (status != ZX_OK) {
        return status;
    }
    status = handle_new_rights(have, rights, &new_rights);
    if (status == ZX_OK) {
        status = handle_table_add(ht, obj, new_rights, out);
    }
    kobject_unref(obj);
    return status;
}

zx_status_t handle_table_replace(struct handle_table *ht, zx_handle_t h, zx_rights_t rights,
                                 zx_handle_t *out) {
    // Room first, so that once `h` is gone the new handle cannot fail to go in.
    zx_status_t status = handle_table_reserve(ht, 1);
    if (status != ZX_OK) {
        return status;
    }
    struct kobject *obj;
    zx_rights_t have, new_rights;
    status = handle_table_take(ht, h, ZX_RIGHT_NONE, &obj, &have);
    if (status != ZX_OK) {
        return status;
    }
    status = handle_new_rights(have, rights, &new_rights);
    if (status != ZX_OK) {
        handle_release(obj);  // Zircon invalidates the handle even when replace fails
        return status;
    }
    status = handle_table_install(ht, obj, new_rights, out);
    if (status != ZX_OK) {
        panic("handle_table_replace: reserved slot unavailable");
    }
    return ZX_OK;
}

uint32_t handle_table_count(const struct handle_table *ht) {
    return ht->count;
}

struct handle_table *handle_table_current(void) {
    struct process *p = process_current();
    return p != NULL ? &p->handles : NULL;
}

zx_status_t handle_table_copy_out(struct handle_table *ht, zx_handle_t h, uintptr_t uout) {
    if (copy_to_user((void *)uout, &h, sizeof(h)) != ZX_OK) {
        handle_table_close(ht, h);
        return ZX_ERR_INVALID_ARGS;
    }
    return ZX_OK;
}

zx_status_t handle_table_add_user(struct handle_table *ht, struct kobject *obj, zx_rights_t rights,
                                  uintptr_t uout) {
    zx_handle_t h;
    zx_status_t status = handle_table_add(ht, obj, rights, &h);
    return status == ZX_OK ? handle_table_copy_out(ht, h, uout) : status;
}

zx_status_t handle_table_add_pair_user(struct handle_table *ht, struct kobject *a,
                                       struct kobject *b, zx_rights_t rights, uintptr_t uout0,
                                       uintptr_t uout1) {
    zx_handle_t ha, hb;
    zx_status_t status = handle_table_add(ht, a, rights, &ha);
    if (status != ZX_OK) {
        return status;
    }
    status = handle_table_add(ht, b, rights, &hb);
    if (status != ZX_OK) {
        handle_table_close(ht, ha);
        return status;
    }
    if (copy_to_user((void *)uout0, &ha, sizeof(ha)) != ZX_OK ||
        copy_to_user((void *)uout1, &hb, sizeof(hb)) != ZX_OK) {
        handle_table_close(ht, ha);
        handle_table_close(ht, hb);
        return ZX_ERR_INVALID_ARGS;
    }
    return ZX_OK;
}
