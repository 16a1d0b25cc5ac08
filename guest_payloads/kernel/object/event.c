// Events (include/kernel/event.h): a kobject with no state beyond its signals.
#include <kernel/event.h>

#include <kernel/heap.h>

struct event {
    struct kobject obj;  // type ZX_OBJ_TYPE_EVENT
};

static void event_destroy(struct kobject *obj) {
    kfree(obj);
}

static const struct kobject_ops event_ops = {
    .type_name = "event",
    .default_rights = ZX_DEFAULT_EVENT_RIGHTS,
    .user_signals = ZX_EVENT_SIGNAL_MASK,
    .destroy = event_destroy,
};

zx_status_t event_create(uint32_t options, struct kobject **out) {
    if (options != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct event *ev = kzalloc(sizeof(*ev));
    if (ev == NULL) {
        return ZX_ERR_NO_MEMORY;
    }
    kobject_init(&ev->obj, ZX_OBJ_TYPE_EVENT, &event_ops);
    *out = &ev->obj;
    return ZX_OK;
}
