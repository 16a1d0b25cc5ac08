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
// Lock rule: each table has its own mutex (LOCK_RANK_HANDLE_TABLE) held for the whole of every
// operation, so check + take, make-room + install and replace are each one atomic step
// against the other threads of the process. Handle counts are atomic. A handle that leaves a
// table is released (on_last_handle, kobject_unref) only after the table lock is dropped.
#include <kernel/handle.h>

#include <kernel/arch.h>
#include <kernel/heap.h>
#include <kernel/job.h>
#include <kernel/lock.h>
#include <kernel/panic.h>
#include <kernel/port.h>
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
    mutex_init(&ht->lock, "handle-table", LOCK_RANK_HANDLE_TABLE);
    ht->salt = (uint32_t)random_u64() & HANDLE_VALUE_MASK;
    ht->job = job;
}

// Ends a handle's life: uncounts it and drops its reference. Never under a table lock: the
// last handle's on_last_handle and the last reference's destroy take other objects' locks.
static void handle_release(struct kobject *obj) {
    uint32_t before = __atomic_fetch_sub(&obj->handle_count, 1u, __ATOMIC_ACQ_REL);
    if (before == 0) {
        panic("handle_release: %s koid %llu has no handles", obj->ops->type_name,
              (unsigned long long)obj->koid);
    }
    if (before == 1) {
        kobject_last_handle(obj);  // on_last_handle, then the reference
    } else {
        kobject_unref(obj);
    }
}

void handle_drop(struct kobject *obj) {
    handle_release(obj);
}

// Counts a new handle to `obj` and takes its reference (the table lock may be held).
static void handle_acquire(struct kobject *obj) {
    kobject_ref(obj);
    __atomic_fetch_add(&obj->handle_count, 1u, __ATOMIC_ACQ_REL);
}

// Frees slot `index` (table locked): waits through the handle are canceled and the
// generation moves on so old values go stale. The handle itself (reference and count) is
// the caller's now. Returns its object.
static struct kobject *handle_slot_free(struct handle_table *ht, uint32_t index) {
    struct handle_entry *e = &ht->entries[index];
    struct kobject *obj = e->obj;
    arch_irq_state_t irq = thread_lock_irqsave();
    wait_cancel_handle(obj, ht, handle_value(ht, index));
    struct port_observer *dead = port_observers_cancel(obj, ht, handle_value(ht, index));
    thread_unlock_irqrestore(irq);
    port_observers_free(dead);  // not under the thread lock (the heap's spinlock comes first)
    e->obj = NULL;
    e->rights = 0;
    e->generation = (e->generation + 1) & HANDLE_GEN_MASK;
    e->next_free = ht->free_head;
    ht->free_head = index;
    ht->count--;
    return obj;
}

void handle_table_destroy(struct handle_table *ht) {
    mutex_lock(&ht->lock);
    ht->dead = true;  // from now on nothing new goes in (handle_table_make_room)
    mutex_unlock(&ht->lock);
    for (uint32_t i = 0;;) {
        mutex_lock(&ht->lock);
        struct kobject *obj = NULL;
        for (; i < ht->capacity && obj == NULL; i++) {
            if (ht->entries[i].obj != NULL) {
                obj = handle_slot_free(ht, i);
            }
        }
        mutex_unlock(&ht->lock);
        if (obj == NULL) {
            break;
        }
        handle_release(obj);
    }
    mutex_lock(&ht->lock);
    kfree(ht->entries);
    ht->entries = NULL;
    ht->capacity = 0;
    ht->count = 0;
    ht->free_head = 0;
    mutex_unlock(&ht->lock);
}

// Doubles the table (table locked; allocating under a mutex is fine).
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

// Grows the table (locked) until `n` more handles fit. Nothing changes visibly on failure.
static zx_status_t handle_table_make_room(struct handle_table *ht, uint32_t n) {
    if (ht->dead) {
        return ZX_ERR_BAD_STATE;  // its process is dead: a handle put here would leak
    }
    if (n > HANDLE_TABLE_MAX - ht->count) {
        return ZX_ERR_NO_RESOURCES;
    }
    zx_status_t status = ZX_OK;
    while (status == ZX_OK && ht->capacity - ht->count < n) {
        status = handle_table_grow(ht);
    }
    return status;
}

// Puts a handle into a free slot (table locked, room made).
static zx_handle_t handle_slot_fill(struct handle_table *ht, struct kobject *obj,
                                   zx_rights_t rights) {
    uint32_t index = ht->free_head;
    struct handle_entry *e = &ht->entries[index];
    ht->free_head = e->next_free;
    e->obj = obj;
    e->rights = rights;
    ht->count++;
    return handle_value(ht, index);
}

zx_status_t handle_table_install_many(struct handle_table *ht, const struct msg_handle *mh,
                                      uint32_t n, zx_handle_t *out) {
    if (n == 0) {
        return ZX_OK;
    }
    mutex_lock(&ht->lock);
    zx_status_t status = handle_table_make_room(ht, n);
    if (status == ZX_OK) {
        for (uint32_t i = 0; i < n; i++) {
            out[i] = handle_slot_fill(ht, mh[i].obj, mh[i].rights);
        }
    }
    mutex_unlock(&ht->lock);
    return status;
}

zx_status_t handle_table_install(struct handle_table *ht, struct kobject *obj, zx_rights_t rights,
                                 zx_handle_t *out) {
    struct msg_handle mh = {.obj = obj, .rights = rights};
    return handle_table_install_many(ht, &mh, 1, out);
}

zx_status_t handle_table_add(struct handle_table *ht, struct kobject *obj, zx_rights_t rights,
                             zx_handle_t *out) {
    mutex_lock(&ht->lock);
    zx_status_t status = handle_table_make_room(ht, 1);
    if (status == ZX_OK) {
        handle_acquire(obj);
        *out = handle_slot_fill(ht, obj, rights);
    }
    mutex_unlock(&ht->lock);
    return status;
}

// A value that names no handle: apply the job's ZX_POL_BAD_HANDLE policy (table unlocked).
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

// Finds the entry of `h` (table locked) and checks its type and rights. ZX_ERR_BAD_HANDLE
// for a value that names no live handle: the caller applies the policy after unlocking.
static zx_status_t handle_find(struct handle_table *ht, zx_handle_t h, zx_obj_type_t type,
                               zx_rights_t need, struct handle_entry **out, uint32_t *index) {
    struct handle_entry *e = handle_entry_of(ht, h, index);
    if (e == NULL) {
        return ZX_ERR_BAD_HANDLE;
    }
    zx_status_t status = handle_check(e, type, need);
    if (status == ZX_OK) {
        *out = e;
    }
    return status;
}

// The common tail of every lookup: unlock, and meet the policy for a bad value.
static zx_status_t handle_unlock_status(struct handle_table *ht, zx_status_t status) {
    mutex_unlock(&ht->lock);
    return status == ZX_ERR_BAD_HANDLE ? handle_bad(ht) : status;
}

zx_status_t handle_table_get_rights(struct handle_table *ht, zx_handle_t h, zx_obj_type_t type,
                                    zx_rights_t need, struct kobject **out, zx_rights_t *rights) {
    struct handle_entry *e;
    uint32_t index;
    mutex_lock(&ht->lock);
    zx_status_t status = handle_find(ht, h, type, need, &e, &index);
    if (status == ZX_OK) {
        kobject_ref(e->obj);
        *out = e->obj;
        if (rights != NULL) {
            *rights = e->rights;
        }
    }
    return handle_unlock_status(ht, status);
}

zx_status_t handle_table_get(struct handle_table *ht, zx_handle_t h, zx_obj_type_t type,
                             zx_rights_t need, struct kobject **out) {
    return handle_table_get_rights(ht, h, type, need, out, NULL);
}

zx_status_t handle_table_with(struct handle_table *ht, zx_handle_t h, zx_rights_t need,
                              zx_status_t (*fn)(void *arg, struct kobject *obj), void *arg) {
    struct handle_entry *e;
    uint32_t index;
    mutex_lock(&ht->lock);
    zx_status_t status = handle_find(ht, h, ZX_OBJ_TYPE_NONE, need, &e, &index);
    if (status != ZX_OK) {
        return handle_unlock_status(ht, status);
    }
    status = fn(arg, e->obj);
    mutex_unlock(&ht->lock);
    return status;
}

void handle_table_count_types(struct handle_table *ht, uint32_t counts[ZX_OBJ_TYPE_UPPER_BOUND]) {
    memset(counts, 0, ZX_OBJ_TYPE_UPPER_BOUND * sizeof(uint32_t));
    mutex_lock(&ht->lock);
    for (uint32_t i = 0; i < ht->capacity; i++) {
        const struct kobject *obj = ht->entries[i].obj;
        if (obj != NULL && obj->type < ZX_OBJ_TYPE_UPPER_BOUND) {
            counts[obj->type]++;
        }
    }
    mutex_unlock(&ht->lock);
}

size_t handle_table_for_each(struct handle_table *ht, zx_obj_type_t type,
                             void (*fn)(void *ctx, struct kobject *obj, zx_rights_t rights),
                             void *ctx) {
    size_t n = 0;
    mutex_lock(&ht->lock);
    for (uint32_t i = 0; i < ht->capacity; i++) {
        struct kobject *obj = ht->entries[i].obj;
        if (obj != NULL && obj->type == type) {
            fn(ctx, obj, ht->entries[i].rights);
            n++;
        }
    }
    mutex_unlock(&ht->lock);
    return n;
}

zx_status_t handle_table_take(struct handle_table *ht, zx_handle_t h, zx_rights_t need,
                              struct kobject **obj, zx_rights_t *rights) {
    struct handle_entry *e;
    uint32_t index;
    mutex_lock(&ht->lock);
    zx_status_t status = handle_find(ht, h, ZX_OBJ_TYPE_NONE, need, &e, &index);
    if (status == ZX_OK) {
        *rights = e->rights;
        *obj = handle_slot_free(ht, index);
    }
    return handle_unlock_status(ht, status);
}

// Checks every value of hv[0..n) (table locked): live, `need` rights, not `exclude`, no value
// twice. The first failure in Zircon's order: BAD_HANDLE, then the others.
static zx_status_t take_many_check(struct handle_table *ht, const zx_handle_t *hv, uint32_t n,
                                   zx_rights_t need, const struct kobject *exclude) {
    for (uint32_t i = 0; i < n; i++) {
        struct handle_entry *e;
        uint32_t index;
        zx_status_t status = handle_find(ht, hv[i], ZX_OBJ_TYPE_NONE, need, &e, &index);
        if (status != ZX_OK) {
            return status;
        }
        if (e->obj == exclude) {
            return ZX_ERR_NOT_SUPPORTED;
        }
        for (uint32_t j = 0; j < i; j++) {
            if (hv[j] == hv[i]) {
                return ZX_ERR_BAD_HANDLE;
            }
        }
    }
    return ZX_OK;
}

zx_status_t handle_table_take_many(struct handle_table *ht, const zx_handle_t *hv, uint32_t n,
                                   zx_rights_t need, const struct kobject *exclude,
                                   struct msg_handle *mh) {
    if (n == 0) {
        return ZX_OK;
    }
    mutex_lock(&ht->lock);
    zx_status_t status = take_many_check(ht, hv, n, need, exclude);
    // Success moves every handle out; failure takes out the ones that are still live, to be
    // closed below: either way all of hv[] is consumed in this one locked step.
    uint32_t taken = 0;
    for (uint32_t i = 0; i < n; i++) {
        struct handle_entry *e;
        uint32_t index;
        if (handle_find(ht, hv[i], ZX_OBJ_TYPE_NONE, ZX_RIGHT_NONE, &e, &index) == ZX_OK) {
            mh[taken].rights = e->rights;
            mh[taken].obj = handle_slot_free(ht, index);
            taken++;
        }
    }
    mutex_unlock(&ht->lock);
    if (status != ZX_OK) {
        for (uint32_t i = 0; i < taken; i++) {
            handle_release(mh[i].obj);
        }
        return status == ZX_ERR_BAD_HANDLE ? handle_bad(ht) : status;
    }
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
    struct handle_entry *e;
    uint32_t index;
    zx_rights_t new_rights;
    mutex_lock(&ht->lock);
    zx_status_t status = handle_find(ht, h, ZX_OBJ_TYPE_NONE, ZX_RIGHT_DUPLICATE, &e, &index);
    if (status == ZX_OK) {
        status = handle_new_rights(e->rights, rights, &new_rights);
    }
    if (status == ZX_OK) {
        struct kobject *obj = e->obj;  // `e` moves if the table grows
        status = handle_table_make_room(ht, 1);
        if (status == ZX_OK) {
            handle_acquire(obj);
            *out = handle_slot_fill(ht, obj, new_rights);
        }
    }
    return handle_unlock_status(ht, status);
}

zx_status_t handle_table_replace(struct handle_table *ht, zx_handle_t h, zx_rights_t rights,
                                 zx_handle_t *out) {
    struct handle_entry *e;
    uint32_t index;
    zx_rights_t new_rights;
    struct kobject *dropped = NULL;
    mutex_lock(&ht->lock);
    zx_status_t status = handle_find(ht, h, ZX_OBJ_TYPE_NONE, ZX_RIGHT_NONE, &e, &index);
    if (status == ZX_OK) {
        status = handle_new_rights(e->rights, rights, &new_rights);
        struct kobject *obj = handle_slot_free(ht, index);
        if (status == ZX_OK) {
            // The slot just freed takes the new handle (with the next generation, so a new
            // value): replace needs no room and cannot fail after `h` is gone.
            *out = handle_slot_fill(ht, obj, new_rights);
        } else {
            dropped = obj;  // Zircon invalidates the handle even when replace fails
        }
    }
    status = handle_unlock_status(ht, status);
    if (dropped != NULL) {
        handle_release(dropped);
    }
    return status;
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
    zx_handle_t hv[2];
    mutex_lock(&ht->lock);
    zx_status_t status = handle_table_make_room(ht, 2);
    if (status == ZX_OK) {
        handle_acquire(a);
        handle_acquire(b);
        hv[0] = handle_slot_fill(ht, a, rights);
        hv[1] = handle_slot_fill(ht, b, rights);
    }
    mutex_unlock(&ht->lock);
    if (status != ZX_OK) {
        // Peers that never got a handle would keep each other alive: close them as if they
        // had had one each.
        handle_acquire(a);
        handle_release(a);
        handle_acquire(b);
        handle_release(b);
        return status;
    }
    if (copy_to_user((void *)uout0, &hv[0], sizeof(hv[0])) != ZX_OK ||
        copy_to_user((void *)uout1, &hv[1], sizeof(hv[1])) != ZX_OK) {
        handle_table_close(ht, hv[0]);
        handle_table_close(ht, hv[1]);
        return ZX_ERR_INVALID_ARGS;
    }
    return ZX_OK;
}
