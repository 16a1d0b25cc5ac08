// Kernel object base (include/kernel/object.h): koids, reference counts, names, signals.
//
//   koid_next:       ZX_KOID_FIRST, ZX_KOID_FIRST + 1, ...   (never reused)
//   kobject_init:    magic, koid, refcount 1, handle_count 0, signals 0
//   kobject_unref:   refcount 0 -> magic cleared -> ops->destroy frees the struct
//   kobject_signal:  signals updated -> wait_wake_matching flags satisfied waiters
//
// Lock rule: reference counts, koids and the live-object counters are atomics (a reference
// is taken only by a holder of another reference, or under the lock of a structure that holds
// one, so a count never comes back from 0); signals, waiters and observers are guarded by
// the thread lock.
#include <kernel/object.h>

#include <kernel/arch.h>
#include <kernel/thread.h>
#include <kernel/heap.h>
#include <kernel/panic.h>
#include <kernel/port.h>
#include <kernel/wait.h>
#include <lib/string.h>

// Atomics.
static zx_koid_t next_koid = ZX_KOID_FIRST;
static size_t live_objects;
static size_t live_by_type[ZX_OBJ_TYPE_UPPER_BOUND];            // kobject_live_by_type
static const char *type_names[ZX_OBJ_TYPE_UPPER_BOUND];         // ops->type_name, once seen

zx_koid_t koid_next(void) {
    return __atomic_fetch_add(&next_koid, 1, __ATOMIC_RELAXED);
}

void kobject_init(struct kobject *obj, zx_obj_type_t type, const struct kobject_ops *ops) {
    if (ops == NULL || ops->destroy == NULL) {
        panic("kobject_init: type %u has no destroy op", type);
    }
    memset(obj, 0, sizeof(*obj));
    obj->type = type;
    obj->ops = ops;
    obj->refcount = 1;
    obj->koid = koid_next();
    obj->magic = KOBJECT_MAGIC;
    __atomic_fetch_add(&live_objects, 1, __ATOMIC_RELAXED);
    if (type < ZX_OBJ_TYPE_UPPER_BOUND) {
        __atomic_fetch_add(&live_by_type[type], 1, __ATOMIC_RELAXED);
        __atomic_store_n(&type_names[type], ops->type_name, __ATOMIC_RELAXED);
    }
}

bool kobject_live(const struct kobject *obj) {
    return obj != NULL && obj->magic == KOBJECT_MAGIC;
}

void kobject_ref(struct kobject *obj) {
    if (!kobject_live(obj) || __atomic_fetch_add(&obj->refcount, 1u, __ATOMIC_RELAXED) == 0) {
        panic("kobject_ref: %p is not a live object", (void *)obj);
    }
}

enum { REAP_DESTROY = 1, REAP_LAST_HANDLE = 2 };

static void reap_run(struct kobject *obj, uint32_t kind) {
    if (kind == REAP_DESTROY) {
        obj->ops->destroy(obj);
        return;
    }
    if (obj->ops->on_last_handle != NULL) {
        obj->ops->on_last_handle(obj);
    }
    kobject_unref(obj);
}

// Runs teardown step `kind` of `obj` now if this thread is not tearing anything down yet (and
// then everything that step queues), else queues it for the outermost caller.
static void reap(struct kobject *obj, uint32_t kind) {
    struct kobject_reaper *r = thread_reaper();
    obj->reap_kind = kind;
    obj->reap_next = NULL;
    if (r->depth > 0) {
        if (r->tail != NULL) {
            r->tail->reap_next = obj;
        } else {
            r->head = obj;
        }
        r->tail = obj;
        return;
    }
    r->depth++;
    reap_run(obj, kind);
    while (r->head != NULL) {
        struct kobject *next = r->head;
        r->head = next->reap_next;
        if (r->head == NULL) {
            r->tail = NULL;
        }
        reap_run(next, next->reap_kind);
    }
    r->depth--;
}

void kobject_last_handle(struct kobject *obj) {
    // Observers of async waits go with the last handle (each came through one of them).
    arch_irq_state_t irq = thread_lock_irqsave();
    struct port_observer *dead = port_observers_cancel(obj, NULL, ZX_HANDLE_INVALID);
    thread_unlock_irqrestore(irq);
    port_observers_free(dead);
    reap(obj, REAP_LAST_HANDLE);
}

void kobject_unref(struct kobject *obj) {
    if (obj == NULL) {
        return;
    }
    uint32_t before = kobject_live(obj) ? __atomic_fetch_sub(&obj->refcount, 1u, __ATOMIC_ACQ_REL)
                                        : 0;
    if (before == 0) {
        panic("kobject_unref: %p is not a live object", (void *)obj);
    }
    if (before > 1) {
        return;
    }
    // The last reference: nobody else can reach the object any more.
    if (obj->waiters != NULL || obj->observers != NULL || obj->handle_count != 0) {
        panic("kobject_unref: %s koid %llu freed with waiters or handles", obj->ops->type_name,
              (unsigned long long)obj->koid);
    }
    obj->magic = 0;
    __atomic_fetch_sub(&live_objects, 1, __ATOMIC_RELAXED);
    if (obj->type < ZX_OBJ_TYPE_UPPER_BOUND) {
        __atomic_fetch_sub(&live_by_type[obj->type], 1, __ATOMIC_RELAXED);
    }
    reap(obj, REAP_DESTROY);
}

void kobject_signal(struct kobject *obj, zx_signals_t clear_mask, zx_signals_t set_mask) {
    arch_irq_state_t irq = thread_lock_irqsave();
    zx_signals_t previous = obj->signals;
    obj->signals = (previous & ~clear_mask) | set_mask;
    wait_wake_matching(obj);
    if (obj->observers != NULL && (set_mask & ~previous) != 0) {
        port_observers_notify(obj, obj->signals);  // only a newly active signal fires them
    }
    thread_unlock_irqrestore(irq);
}

zx_status_t kobject_alloc_pair(size_t size, zx_obj_type_t type, const struct kobject_ops *ops,
                               struct kobject **a, struct kobject **b) {
    *a = kzalloc(size);
    *b = kzalloc(size);
    if (*a == NULL || *b == NULL) {
        kfree(*a);
        kfree(*b);
        return ZX_ERR_NO_MEMORY;
    }
    kobject_init(*a, type, ops);
    kobject_init(*b, type, ops);
    kobject_ref(*a);
    kobject_ref(*b);
    return ZX_OK;
}

zx_koid_t kobject_peer_koid(struct kobject *obj) {
    struct kobject *peer = obj->ops->peer(obj);
    zx_koid_t koid = peer != NULL ? peer->koid : ZX_KOID_INVALID;
    kobject_unref(peer);
    return koid;
}

zx_signals_t kobject_signals(struct kobject *obj) {
    arch_irq_state_t irq = thread_lock_irqsave();
    zx_signals_t s = obj->signals;
    thread_unlock_irqrestore(irq);
    return s;
}

static zx_signals_t user_signals(const struct kobject *obj) {
    return obj->ops->user_signals != 0 ? obj->ops->user_signals : ZX_USER_SIGNAL_ALL;
}

zx_status_t object_signal(struct kobject *obj, zx_signals_t clear_mask, zx_signals_t set_mask) {
    zx_signals_t allowed = user_signals(obj);
    if (((clear_mask | set_mask) & ~allowed) != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    kobject_signal(obj, clear_mask, set_mask);
    return ZX_OK;
}

zx_status_t object_signal_peer(struct kobject *obj, zx_signals_t clear_mask,
                               zx_signals_t set_mask) {
    if (obj->ops->peer == NULL) {
        return ZX_ERR_NOT_SUPPORTED;
    }
    struct kobject *peer = obj->ops->peer(obj);
    if (peer == NULL) {
        return ZX_ERR_PEER_CLOSED;
    }
    zx_status_t status = object_signal(peer, clear_mask, set_mask);
    kobject_unref(peer);
    return status;
}

void kobject_set_name(struct kobject *obj, const char *name, size_t len) {
    size_t n = 0;
    while (n < len && n < ZX_MAX_NAME_LEN - 1 && name[n] != '\0') {
        n++;
    }
    arch_irq_state_t irq = thread_lock_irqsave();
    memcpy(obj->name, name, n);
    memset(obj->name + n, 0, ZX_MAX_NAME_LEN - n);
    thread_unlock_irqrestore(irq);
}

void kobject_get_name(struct kobject *obj, char out[ZX_MAX_NAME_LEN]) {
    arch_irq_state_t irq = thread_lock_irqsave();
    memcpy(out, obj->name, ZX_MAX_NAME_LEN);
    thread_unlock_irqrestore(irq);
    out[ZX_MAX_NAME_LEN - 1] = '\0';
}

size_t kobject_live_by_type(zx_obj_type_t type, const char **name) {
    if (type >= ZX_OBJ_TYPE_UPPER_BOUND) {
        return 0;
    }
    *name = __atomic_load_n(&type_names[type], __ATOMIC_RELAXED);
    return __atomic_load_n(&live_by_type[type], __ATOMIC_RELAXED);
}

size_t kobject_live_count(void) {
    return __atomic_load_n(&live_objects, __ATOMIC_RELAXED);
}
