// Event pairs (include/kernel/event.h): two signal holders, each the other's peer.
//
//   side A <--peer--> side B     each holds a reference on the other until its own last
//                                handle goes; then the survivor gets PEER_CLOSED
//
// Lock rule: `peer` links are guarded by masking interrupts.
#include <kernel/event.h>

#include <kernel/arch.h>
#include <kernel/thread.h>
#include <kernel/heap.h>

struct eventpair {
    struct kobject obj;      // type ZX_OBJ_TYPE_EVENTPAIR
    struct eventpair *peer;  // a reference; NULL once either side lost its last handle
};

static void eventpair_destroy(struct kobject *obj) {
    kfree(obj);
}

// Cuts the link both ways and tells the peer (its reference is dropped here).
static void eventpair_on_last_handle(struct kobject *obj) {
    struct eventpair *ep = (struct eventpair *)obj;
    arch_irq_state_t irq = thread_lock_irqsave();
    struct eventpair *peer = ep->peer;
    ep->peer = NULL;
    struct eventpair *back = NULL;
    if (peer != NULL) {
        back = peer->peer;  // == ep, the peer's reference on us
        peer->peer = NULL;
    }
    thread_unlock_irqrestore(irq);
    if (peer != NULL) {
        kobject_signal(&peer->obj, 0, ZX_EVENTPAIR_PEER_CLOSED);
        kobject_unref(&peer->obj);
    }
    if (back != NULL) {
        kobject_unref(&back->obj);
    }
}

static struct kobject *eventpair_peer(struct kobject *obj) {
    struct eventpair *ep = (struct eventpair *)obj;
    arch_irq_state_t irq = thread_lock_irqsave();
    struct kobject *peer = ep->peer != NULL ? &ep->peer->obj : NULL;
    if (peer != NULL) {
        kobject_ref(peer);
    }
    thread_unlock_irqrestore(irq);
    return peer;
}

static const struct kobject_ops eventpair_ops = {
    .type_name = "eventpair",
    .default_rights = ZX_DEFAULT_EVENTPAIR_RIGHTS,
    .user_signals = ZX_USER_SIGNAL_ALL | ZX_EVENTPAIR_SIGNALED,
    .destroy = eventpair_destroy,
    .on_last_handle = eventpair_on_last_handle,
    .related_koid = kobject_peer_koid,
    .peer = eventpair_peer,
};

zx_status_t eventpair_create(uint32_t options, struct kobject **out0, struct kobject **out1) {
    if (options != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct kobject *oa, *ob;
    zx_status_t status = kobject_alloc_pair(sizeof(struct eventpair), ZX_OBJ_TYPE_EVENTPAIR,
                                            &eventpair_ops, &oa, &ob);
    if (status != ZX_OK) {
        return status;
    }
    struct eventpair *a = (struct eventpair *)oa, *b = (struct eventpair *)ob;
    a->peer = b;
    b->peer = a;
    *out0 = &a->obj;
    *out1 = &b->obj;
    return ZX_OK;
}
