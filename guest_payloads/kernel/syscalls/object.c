// Object syscalls: zx_object_signal, _signal_peer, _wait_one, _wait_many, _get_info,
// _get_property, _set_property.
//
// get_info: HANDLE_VALID, HANDLE_BASIC and HANDLE_COUNT are answered here for every type and
// PROCESS_HANDLE_STATS for processes; PROCESS, THREAD, VMAR, VMO and TIMER go to the object's
// kobject_ops.get_info (their owner's code) with a kernel buffer, copied out after.
// Properties: ZX_PROP_NAME on every object type.
#include <kernel/handle.h>
#include <kernel/heap.h>
#include <kernel/object.h>
#include <kernel/process.h>
#include <kernel/usercopy.h>
#include <kernel/vm.h>
#include <kernel/wait.h>
#include <lib/string.h>
#include <syscall-kernel.h>
#include <zircon/syscalls/object.h>

// The largest record a type-specific get_info topic may produce.
#define GET_INFO_MAX_RECORD 256u

zx_status_t sys_object_signal(zx_handle_t handle, uint32_t clear_mask, uint32_t set_mask) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    struct kobject *obj;
    zx_status_t status = handle_table_get(ht, handle, SYS_object_signal_handle_TYPE,
                                          SYS_object_signal_handle_RIGHTS, &obj);
    if (status != ZX_OK) {
        return status;
    }
    status = object_signal(obj, clear_mask, set_mask);
    kobject_unref(obj);
    return status;
}

zx_status_t sys_object_signal_peer(zx_handle_t handle, uint32_t clear_mask, uint32_t set_mask) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    struct kobject *obj;
    zx_status_t status = handle_table_get(ht, handle, SYS_object_signal_peer_handle_TYPE,
                                          SYS_object_signal_peer_handle_RIGHTS, &obj);
    if (status != ZX_OK) {
        return status;
    }
    status = object_signal_peer(obj, clear_mask, set_mask);
    kobject_unref(obj);
    return status;
}

// Copies `value` to the optional user address `uout` (0: not wanted).
static zx_status_t copy_out_optional(uintptr_t uout, const void *value, size_t size) {
    if (uout == 0) {
        return ZX_OK;
    }
    return user_copy_out(uout, value, size) == ZX_OK ? ZX_OK : ZX_ERR_INVALID_ARGS;
}

zx_status_t sys_object_wait_one(zx_handle_t handle, zx_signals_t signals, zx_time_t deadline,
                                user_out_ptr_t observed) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    struct kobject *obj;
    zx_status_t status = handle_table_get(ht, handle, SYS_object_wait_one_handle_TYPE,
                                          SYS_object_wait_one_handle_RIGHTS, &obj);
    if (status != ZX_OK) {
        return status;
    }
    zx_signals_t seen = 0;
    if (observed.addr != 0 && user_copy_out(observed.addr, &seen, sizeof(seen)) != ZX_OK) {
        kobject_unref(obj);
        return ZX_ERR_INVALID_ARGS;
    }
    uthread_set_blocked(ZX_THREAD_STATE_BLOCKED_WAIT_ONE);  // for ZX_INFO_THREAD
    status = object_wait_handles(ht, &handle, &obj, &signals, &seen, 1, deadline);
    uthread_set_blocked(0);
    kobject_unref(obj);
    zx_status_t copied = copy_out_optional(observed.addr, &seen, sizeof(seen));
    return copied != ZX_OK ? copied : status;
}

zx_status_t sys_object_wait_many(user_inout_ptr_t items, size_t num_items, zx_time_t deadline) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if (num_items > ZX_WAIT_MANY_MAX_ITEMS) {
        return ZX_ERR_OUT_OF_RANGE;
    }
    zx_wait_item_t kitems[ZX_WAIT_MANY_MAX_ITEMS];
    if (user_copy_in(kitems, items.addr, num_items * sizeof(zx_wait_item_t)) != ZX_OK) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct kobject *objs[ZX_WAIT_MANY_MAX_ITEMS];
    zx_signals_t want[ZX_WAIT_MANY_MAX_ITEMS];
    zx_signals_t seen[ZX_WAIT_MANY_MAX_ITEMS];
    zx_status_t status = ZX_OK;
    size_t got = 0;
    for (; got < num_items && status == ZX_OK; got++) {
        status =
            handle_table_get(ht, kitems[got].handle, ZX_OBJ_TYPE_NONE, ZX_RIGHT_WAIT, &objs[got]);
        want[got] = kitems[got].waitfor;
    }
    if (status != ZX_OK) {
        got--;  // the failed lookup holds no reference
    } else {
        zx_handle_t handles[ZX_WAIT_MANY_MAX_ITEMS];
        for (size_t i = 0; i < num_items; i++) {
            handles[i] = kitems[i].handle;
        }
        uthread_set_blocked(ZX_THREAD_STATE_BLOCKED_WAIT_MANY);
        status = object_wait_handles(ht, handles, objs, want, seen, num_items, deadline);
        uthread_set_blocked(0);
        for (size_t i = 0; i < num_items; i++) {
            kitems[i].pending = seen[i];
        }
        if (user_copy_out(items.addr, kitems, num_items * sizeof(zx_wait_item_t)) != ZX_OK) {
            status = ZX_ERR_INVALID_ARGS;
        }
    }
    for (size_t i = 0; i < got; i++) {
        kobject_unref(objs[i]);
    }
    return status;
}

// ZX_INFO_HANDLE_BASIC for a handle to `obj` with `rights`.
static void info_handle_basic(struct kobject *obj, zx_rights_t rights,
                              zx_info_handle_basic_t *info) {
    memset(info, 0, sizeof(*info));
    info->koid = obj->koid;
    info->rights = rights;
    info->type = obj->type;
    info->related_koid =
        obj->ops->related_koid != NULL ? obj->ops->related_koid(obj) : ZX_KOID_INVALID;
}

// True for the topics kobject_ops.get_info answers.
static bool info_topic_is_typed(uint32_t topic) {
    return topic == ZX_INFO_PROCESS || topic == ZX_INFO_THREAD || topic == ZX_INFO_VMAR ||
           topic == ZX_INFO_VMO || topic == ZX_INFO_TIMER ||
           topic == ZX_INFO_SOCKET;
}

// The topics answered here for any object (HANDLE_COUNT) or any process (HANDLE_STATS); they
// need INSPECT. Writes the record to `kbuf` (room for GET_INFO_MAX_RECORD bytes).
static bool info_topic_is_common(uint32_t topic) {
    return topic == ZX_INFO_HANDLE_COUNT || topic == ZX_INFO_PROCESS_HANDLE_STATS;
}

static zx_status_t info_common(struct kobject *obj, uint32_t topic, void *kbuf, size_t cap,
                               size_t *len) {
    if (topic == ZX_INFO_HANDLE_COUNT) {
        zx_info_handle_count_t info = {
            .handle_count = __atomic_load_n(&obj->handle_count, __ATOMIC_ACQUIRE),
        };
        *len = sizeof(info);
        if (cap < sizeof(info)) {
            return ZX_ERR_BUFFER_TOO_SMALL;
        }
        memcpy(kbuf, &info, sizeof(info));
        return ZX_OK;
    }
    if (obj->type != ZX_OBJ_TYPE_PROCESS) {
        return ZX_ERR_WRONG_TYPE;
    }
    zx_info_process_handle_stats_t stats;
    _Static_assert(sizeof(stats) <= GET_INFO_MAX_RECORD, "the record fits");
    *len = sizeof(stats);
    if (cap < sizeof(stats)) {
        return ZX_ERR_BUFFER_TOO_SMALL;
    }
    handle_table_count_types(&((struct process *)obj)->handles, stats.handle_count);
    memcpy(kbuf, &stats, sizeof(stats));
    return ZX_OK;
}

// ---- ZX_INFO_PROCESS_MAPS, ZX_INFO_PROCESS_VMOS: arrays of records ----------------------
// Zircon's rules: a process handle with ZX_RIGHT_READ; as many records as fit in the buffer
// are written (ZX_OK even when they do not all fit), *actual says how many, *avail how many
// there are. The records are gathered under the process's locks into a kernel buffer of at
// most PROCESS_INFO_MAX_RECORDS, then copied out.
#define PROCESS_INFO_MAX_RECORDS 1024u

struct vmo_handles_ctx {
    zx_info_vmo_t *out;
    size_t cap;
    size_t n;
};

static void vmo_handle_emit(void *ctx, struct kobject *obj, zx_rights_t rights) {
    struct vmo_handles_ctx *vc = ctx;
    if (vc->n < vc->cap) {
        vmo_fill_info((struct vmo *)obj, &vc->out[vc->n]);
        vc->out[vc->n].flags |= ZX_INFO_VMO_VIA_HANDLE;
        vc->out[vc->n].handle_rights = rights;
    }
    vc->n++;
}

// Fills `kbuf` (room for `cap` records) for `topic`; returns the records available.
static size_t process_vm_records(struct process *p, uint32_t topic, void *kbuf, size_t cap) {
    if (p->aspace == NULL) {
        return 0;
    }
    if (topic == ZX_INFO_PROCESS_MAPS) {
        char name[ZX_MAX_NAME_LEN];
        kobject_get_name(&p->obj, name);
        return vm_aspace_maps(p->aspace, name, kbuf, cap);
    }
    struct vmo_handles_ctx vc = {.out = kbuf, .cap = cap, .n = 0};
    (void)handle_table_for_each(&p->handles, ZX_OBJ_TYPE_VMO, vmo_handle_emit, &vc);
    size_t skip = vc.n < cap ? vc.n : cap;
    return vc.n + vm_aspace_vmos(p->aspace, (zx_info_vmo_t *)kbuf + skip, cap - skip);
}

static zx_status_t info_process_vm(zx_handle_t handle, uint32_t topic, user_out_ptr_t buffer,
                                   size_t buffer_size, user_out_ptr_t actual,
                                   user_out_ptr_t avail) {
    struct kobject *obj;
    zx_status_t st = handle_table_get(handle_table_current(), handle, ZX_OBJ_TYPE_PROCESS,
                                      ZX_RIGHT_READ, &obj);
    if (st != ZX_OK) {
        return st;
    }
    size_t rec = topic == ZX_INFO_PROCESS_MAPS ? sizeof(zx_info_maps_t) : sizeof(zx_info_vmo_t);
    size_t cap = buffer_size / rec;
    cap = cap < PROCESS_INFO_MAX_RECORDS ? cap : PROCESS_INFO_MAX_RECORDS;
    void *kbuf = cap > 0 ? kmalloc(cap * rec) : NULL;
    if (cap > 0 && kbuf == NULL) {
        kobject_unref(obj);
        return ZX_ERR_NO_MEMORY;
    }
    size_t available = process_vm_records((struct process *)obj, topic, kbuf, cap);
    kobject_unref(obj);
    size_t records = available < cap ? available : cap;
    if ((records > 0 && user_copy_out(buffer.addr, kbuf, records * rec) != ZX_OK) ||
        copy_out_optional(actual.addr, &records, sizeof(records)) != ZX_OK ||
        copy_out_optional(avail.addr, &available, sizeof(available)) != ZX_OK) {
        st = ZX_ERR_INVALID_ARGS;
    }
    kfree(kbuf);
    return st;
}

zx_status_t sys_object_get_info(zx_handle_t handle, uint32_t topic, user_out_ptr_t buffer,
                                size_t buffer_size, user_out_ptr_t actual, user_out_ptr_t avail) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    if (topic == ZX_INFO_PROCESS_MAPS || topic == ZX_INFO_PROCESS_VMOS) {
        return info_process_vm(handle, topic, buffer, buffer_size, actual, avail);
    }
    bool untyped = topic == ZX_INFO_HANDLE_BASIC || topic == ZX_INFO_HANDLE_VALID;
    if (!untyped && !info_topic_is_typed(topic) && !info_topic_is_common(topic)) {
        return ZX_ERR_NOT_SUPPORTED;
    }
    zx_rights_t need = untyped ? ZX_RIGHT_NONE : ZX_RIGHT_INSPECT;
    struct kobject *obj;
    zx_rights_t rights;
    zx_status_t status = handle_table_get_rights(ht, handle, ZX_OBJ_TYPE_NONE, need, &obj, &rights);
    if (status != ZX_OK || topic == ZX_INFO_HANDLE_VALID) {
        if (status == ZX_OK) {
            kobject_unref(obj);  // HANDLE_VALID: the lookup is the answer, no record
        }
        return status;
    }
    union {
        zx_info_handle_basic_t basic;
        uint8_t bytes[GET_INFO_MAX_RECORD];
    } record;
    size_t len = 0;
    if (topic == ZX_INFO_HANDLE_BASIC) {
        info_handle_basic(obj, rights, &record.basic);
        len = sizeof(record.basic);
        status = buffer_size < len ? ZX_ERR_BUFFER_TOO_SMALL : ZX_OK;
    } else if (info_topic_is_common(topic)) {
        size_t cap = buffer_size < sizeof(record) ? buffer_size : sizeof(record);
        status = info_common(obj, topic, record.bytes, cap, &len);
    } else if (obj->ops->get_info == NULL) {
        status = ZX_ERR_WRONG_TYPE;
    } else {
        size_t cap = buffer_size < sizeof(record) ? buffer_size : sizeof(record);
        status = obj->ops->get_info(obj, topic, record.bytes, cap, &len);
    }
    kobject_unref(obj);
    if (status != ZX_OK && status != ZX_ERR_BUFFER_TOO_SMALL) {
        return status;
    }
    size_t records = status == ZX_OK ? 1 : 0;
    size_t available = 1;
    if (status == ZX_OK && user_copy_out(buffer.addr, record.bytes, len) != ZX_OK) {
        return ZX_ERR_INVALID_ARGS;
    }
    if (copy_out_optional(actual.addr, &records, sizeof(records)) != ZX_OK ||
        copy_out_optional(avail.addr, &available, sizeof(available)) != ZX_OK) {
        return ZX_ERR_INVALID_ARGS;
    }
    return status;
}

zx_status_t sys_object_get_property(zx_handle_t handle, uint32_t property, user_out_ptr_t value,
                                    size_t value_size) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    struct kobject *obj;
    zx_status_t status = handle_table_get(ht, handle, SYS_object_get_property_handle_TYPE,
                                          SYS_object_get_property_handle_RIGHTS, &obj);
    if (status != ZX_OK) {
        return status;
    }
    if (property != ZX_PROP_NAME) {
        status = ZX_ERR_NOT_SUPPORTED;
    } else if (value_size < ZX_MAX_NAME_LEN) {
        status = ZX_ERR_BUFFER_TOO_SMALL;
    } else {
        char name[ZX_MAX_NAME_LEN];
        kobject_get_name(obj, name);
        status =
            user_copy_out(value.addr, name, sizeof(name)) == ZX_OK ? ZX_OK : ZX_ERR_INVALID_ARGS;
    }
    kobject_unref(obj);
    return status;
}

zx_status_t sys_object_set_property(zx_handle_t handle, uint32_t property, user_in_ptr_t value,
                                    size_t value_size) {
    struct handle_table *ht = handle_table_current();
    if (ht == NULL) {
        return ZX_ERR_BAD_STATE;
    }
    struct kobject *obj;
    zx_status_t status = handle_table_get(ht, handle, SYS_object_set_property_handle_TYPE,
                                          SYS_object_set_property_handle_RIGHTS, &obj);
    if (status != ZX_OK) {
        return status;
    }
    if (property != ZX_PROP_NAME) {
        status = ZX_ERR_NOT_SUPPORTED;
    } else {
        // Longer names are cut to ZX_MAX_NAME_LEN - 1 bytes, as in Zircon.
        char name[ZX_MAX_NAME_LEN];
        size_t n = value_size < sizeof(name) - 1 ? value_size : sizeof(name) - 1;
        if (user_copy_in(name, value.addr, n) != ZX_OK) {
            status = ZX_ERR_INVALID_ARGS;
        } else {
            kobject_set_name(obj, name, n);
        }
    }
    kobject_unref(obj);
    return status;
}
