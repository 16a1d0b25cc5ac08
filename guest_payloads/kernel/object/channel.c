// Channels (include/kernel/channel.h).
//
//   struct channel A                       struct channel B
//     peer ------------------------------>   (a reference; cut when either side closes)
//     head -> msg -> msg -> tail             messages B wrote, for A to read
//
//   struct channel_msg: { next, num_bytes, num_handles, handles[num_handles], bytes[num_bytes] }
//
// An endpoint is "closed" once its last handle is gone (on_last_handle): its queue is dropped,
// the link to the peer is cut both ways and the peer gets PEER_CLOSED and loses WRITABLE.
//
// Lock rule: both endpoints share one mutex (struct channel_shared, LOCK_RANK_CHANNEL) that
// guards the peer links, both queues and `closed`; a read holds it from take to copy-out and
// handle install (channel_read_begin/end), so readers never reorder or lose messages. Messages
// are freed (and the handles in them dropped) only after it is released: dropping a handle can
// close another channel, whose lock has the same rank.
#include <kernel/channel.h>

#include <kernel/arch.h>
#include <kernel/handle.h>
#include <kernel/heap.h>
#include <kernel/lock.h>
#include <lib/string.h>

struct channel_msg {
    struct channel_msg *next;
    uint32_t num_bytes;
    uint32_t num_handles;
    struct msg_handle handles[];  // then the bytes
};

// What both endpoints share: the pair's lock. Freed with the second endpoint.
struct channel_shared {
    struct mutex lock;
    uint32_t endpoints;  // endpoints not yet destroyed (atomic)
};

struct channel {
    struct kobject obj;    // type ZX_OBJ_TYPE_CHANNEL
    struct channel_shared *shared;
    struct channel *peer;  // a reference; NULL once either endpoint is closed
    struct channel_msg *head, *tail;
    bool closed;  // this endpoint's last handle is gone
};

static void *msg_byte_area(struct channel_msg *msg) {
    return &msg->handles[msg->num_handles];
}

const void *channel_msg_bytes(const struct channel_msg *msg) {
    return &msg->handles[msg->num_handles];
}

const struct msg_handle *channel_msg_handles(const struct channel_msg *msg) {
    return msg->handles;
}

void channel_msg_free(struct channel_msg *msg, bool handles_moved) {
    if (!handles_moved) {
        for (uint32_t i = 0; i < msg->num_handles; i++) {
            handle_drop(msg->handles[i].obj);
        }
    }
    kfree(msg);
}

// Frees every message of a list (interrupts in the caller's state).
static void msg_list_free(struct channel_msg *msg) {
    while (msg != NULL) {
        struct channel_msg *next = msg->next;
        channel_msg_free(msg, false);
        msg = next;
    }
}

static void channel_destroy(struct kobject *obj) {
    struct channel *ch = (struct channel *)obj;
    msg_list_free(ch->head);  // only non-empty if the endpoint never had a handle
    if (__atomic_sub_fetch(&ch->shared->endpoints, 1u, __ATOMIC_ACQ_REL) == 0) {
        kfree(ch->shared);
    }
    kfree(ch);
}

static struct mutex *channel_lock_of(struct kobject *obj) {
    return &((struct channel *)obj)->shared->lock;
}

void channel_read_begin(struct kobject *obj) {
    mutex_lock(channel_lock_of(obj));
}

void channel_read_end(struct kobject *obj) {
    mutex_unlock(channel_lock_of(obj));
}

static void channel_on_last_handle(struct kobject *obj) {
    struct channel *ch = (struct channel *)obj;
    mutex_lock(&ch->shared->lock);
    ch->closed = true;
    struct channel_msg *queue = ch->head;
    ch->head = ch->tail = NULL;
    struct channel *peer = ch->peer;
    struct channel *back = NULL;
    ch->peer = NULL;
    if (peer != NULL) {
        back = peer->peer;  // == ch: the peer's reference on us
        peer->peer = NULL;
        kobject_signal(&peer->obj, ZX_CHANNEL_WRITABLE, ZX_CHANNEL_PEER_CLOSED);
    }
    kobject_signal(obj, ZX_CHANNEL_READABLE | ZX_CHANNEL_WRITABLE, 0);
    mutex_unlock(&ch->shared->lock);
    if (peer != NULL) {
        kobject_unref(&peer->obj);
    }
    msg_list_free(queue);
    if (back != NULL) {
        kobject_unref(&back->obj);
    }
}

static struct kobject *channel_peer(struct kobject *obj) {
    struct channel *ch = (struct channel *)obj;
    mutex_lock(&ch->shared->lock);
    struct kobject *peer = ch->peer != NULL ? &ch->peer->obj : NULL;
    if (peer != NULL) {
        kobject_ref(peer);
    }
    mutex_unlock(&ch->shared->lock);
    return peer;
}

static const struct kobject_ops channel_ops = {
    .type_name = "channel",
    .default_rights = ZX_DEFAULT_CHANNEL_RIGHTS,
    .destroy = channel_destroy,
    .on_last_handle = channel_on_last_handle,
    .related_koid = kobject_peer_koid,
    .peer = channel_peer,
};

zx_status_t channel_create(uint32_t options, struct kobject **out0, struct kobject **out1) {
    if (options != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct channel_shared *shared = kzalloc(sizeof(*shared));
    if (shared == NULL) {
        return ZX_ERR_NO_MEMORY;
    }
    mutex_init(&shared->lock, "channel", LOCK_RANK_CHANNEL);
    shared->endpoints = 2;
    struct kobject *oa, *ob;
    zx_status_t status =
        kobject_alloc_pair(sizeof(struct channel), ZX_OBJ_TYPE_CHANNEL, &channel_ops, &oa, &ob);
    if (status != ZX_OK) {
        kfree(shared);
        return status;
    }
    struct channel *a = (struct channel *)oa, *b = (struct channel *)ob;
    a->shared = b->shared = shared;
    a->peer = b;
    b->peer = a;
    a->obj.signals = ZX_CHANNEL_WRITABLE;
    b->obj.signals = ZX_CHANNEL_WRITABLE;
    *out0 = &a->obj;
    *out1 = &b->obj;
    return ZX_OK;
}

zx_status_t channel_write(struct kobject *obj, const void *bytes, uint32_t num_bytes,
                          const struct msg_handle *handles, uint32_t num_handles) {
    struct channel *ch = (struct channel *)obj;
    if (num_bytes > ZX_CHANNEL_MAX_MSG_BYTES || num_handles > ZX_CHANNEL_MAX_MSG_HANDLES) {
        return ZX_ERR_OUT_OF_RANGE;
    }
    for (uint32_t i = 0; i < num_handles; i++) {
        if (handles[i].obj == obj) {
            return ZX_ERR_NOT_SUPPORTED;
        }
    }
    struct channel_msg *msg =
        kmalloc(sizeof(*msg) + num_handles * sizeof(struct msg_handle) + num_bytes + 1);
    if (msg == NULL) {
        return ZX_ERR_NO_MEMORY;
    }
    msg->next = NULL;
    msg->num_bytes = num_bytes;
    msg->num_handles = num_handles;
    memcpy(msg->handles, handles, num_handles * sizeof(struct msg_handle));
    memcpy(msg_byte_area(msg), bytes, num_bytes);

    mutex_lock(&ch->shared->lock);
    struct channel *peer = ch->peer;
    if (peer == NULL) {
        mutex_unlock(&ch->shared->lock);
        kfree(msg);  // the handles stay the caller's
        return ZX_ERR_PEER_CLOSED;
    }
    if (peer->tail != NULL) {
        peer->tail->next = msg;
    } else {
        peer->head = msg;
    }
    peer->tail = msg;
    kobject_signal(&peer->obj, 0, ZX_CHANNEL_READABLE);
    mutex_unlock(&ch->shared->lock);
    return ZX_OK;
}

// Unlinks the first message (interrupts masked, queue non-empty).
static struct channel_msg *queue_pop(struct channel *ch) {
    struct channel_msg *msg = ch->head;
    ch->head = msg->next;
    if (ch->head == NULL) {
        ch->tail = NULL;
        kobject_signal(&ch->obj, ZX_CHANNEL_READABLE, 0);
    }
    msg->next = NULL;
    return msg;
}

zx_status_t channel_read_take(struct kobject *obj, uint32_t bytes_cap, uint32_t handles_cap,
                              bool may_discard, struct channel_msg **out, uint32_t *actual_bytes,
                              uint32_t *actual_handles) {
    struct channel *ch = (struct channel *)obj;
    mutex_assert_held(&ch->shared->lock, "channel_read_take");
    *out = NULL;
    struct channel_msg *msg = ch->head;
    if (msg == NULL) {
        return ch->peer == NULL ? ZX_ERR_PEER_CLOSED : ZX_ERR_SHOULD_WAIT;
    }
    *actual_bytes = msg->num_bytes;
    *actual_handles = msg->num_handles;
    bool fits = msg->num_bytes <= bytes_cap && msg->num_handles <= handles_cap;
    if (fits || may_discard) {
        *out = queue_pop(ch);
    }
    return fits ? ZX_OK : ZX_ERR_BUFFER_TOO_SMALL;
}

struct channel_msg *channel_read_untake(struct kobject *obj, struct channel_msg *msg) {
    struct channel *ch = (struct channel *)obj;
    mutex_assert_held(&ch->shared->lock, "channel_read_untake");
    if (ch->closed) {
        return msg;  // nobody can read it any more: the caller frees it
    }
    msg->next = ch->head;
    ch->head = msg;
    if (ch->tail == NULL) {
        ch->tail = msg;
    }
    kobject_signal(obj, 0, ZX_CHANNEL_READABLE);
    return NULL;
}

zx_status_t channel_read(struct kobject *ch, uint32_t options, void *bytes, uint32_t bytes_cap,
                         struct msg_handle *handles, uint32_t handles_cap, uint32_t *actual_bytes,
                         uint32_t *actual_handles) {
    if ((options & ~ZX_CHANNEL_READ_MAY_DISCARD) != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct channel_msg *msg;
    channel_read_begin(ch);
    zx_status_t status =
        channel_read_take(ch, bytes_cap, handles_cap, (options & ZX_CHANNEL_READ_MAY_DISCARD) != 0,
                          &msg, actual_bytes, actual_handles);
    channel_read_end(ch);
    if (status != ZX_OK) {
        if (msg != NULL) {
            channel_msg_free(msg, false);  // discarded
        }
        return status;
    }
    memcpy(bytes, channel_msg_bytes(msg), msg->num_bytes);
    memcpy(handles, msg->handles, msg->num_handles * sizeof(struct msg_handle));
    channel_msg_free(msg, true);
    return ZX_OK;
}
