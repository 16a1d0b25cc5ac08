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
#include <kernel/thread.h>
#include <kernel/wait.h>
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

// A thread in zx_channel_call on this endpoint, waiting for the reply with its txid (a node on
// the caller's kernel stack).
struct channel_caller {
    struct channel_caller *next;
    zx_txid_t txid;
    struct thread *thread;
    struct channel_msg *reply;  // delivered here instead of the queue
    bool link_cut;              // either endpoint closed: no reply can come
};

struct channel {
    struct kobject obj;    // type ZX_OBJ_TYPE_CHANNEL
    struct channel_shared *shared;
    struct channel *peer;  // a reference; NULL once either endpoint is closed
    struct channel_msg *head, *tail;
    struct channel_caller *callers;  // zx_channel_call()s in progress on this endpoint
    uint32_t next_txid;
    bool closed;  // this endpoint's last handle is gone
};

// Every call in progress on `ch` ends with PEER_CLOSED (lock held).
static void callers_cut(struct channel *ch) {
    arch_irq_state_t irq = thread_lock_irqsave();
    for (struct channel_caller *c = ch->callers; c != NULL; c = c->next) {
        c->link_cut = true;
        thread_wake(c->thread);
    }
    thread_unlock_irqrestore(irq);
}

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
        callers_cut(peer);
    }
    callers_cut(ch);
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

// A new message holding a copy of the bytes and the handles in transit; NULL without memory.
static struct channel_msg *msg_alloc(const void *bytes, uint32_t num_bytes,
                                     const struct msg_handle *handles, uint32_t num_handles) {
    struct channel_msg *msg =
        kmalloc(sizeof(*msg) + num_handles * sizeof(struct msg_handle) + num_bytes + 1);
    if (msg == NULL) {
        return NULL;
    }
    msg->next = NULL;
    msg->num_bytes = num_bytes;
    msg->num_handles = num_handles;
    memcpy(msg->handles, handles, num_handles * sizeof(struct msg_handle));
    memcpy(msg_byte_area(msg), bytes, num_bytes);
    return msg;
}

static zx_txid_t msg_txid(const struct channel_msg *msg) {
    zx_txid_t txid = 0;
    if (msg->num_bytes >= sizeof(txid)) {
        memcpy(&txid, channel_msg_bytes(msg), sizeof(txid));
    }
    return txid;
}

// Hands `msg` to the zx_channel_call waiting on `rx` for its txid, or queues it (lock held).
static void deliver(struct channel *rx, struct channel_msg *msg) {
    if (msg->num_bytes >= sizeof(zx_txid_t)) {
        zx_txid_t txid = msg_txid(msg);
        for (struct channel_caller *c = rx->callers; c != NULL; c = c->next) {
            if (c->txid == txid && c->reply == NULL) {
                arch_irq_state_t irq = thread_lock_irqsave();
                c->reply = msg;
                thread_wake(c->thread);
                thread_unlock_irqrestore(irq);
                return;
            }
        }
    }
    if (rx->tail != NULL) {
        rx->tail->next = msg;
    } else {
        rx->head = msg;
    }
    rx->tail = msg;
    kobject_signal(&rx->obj, 0, ZX_CHANNEL_READABLE);
}

static zx_status_t msg_check(const struct kobject *obj, uint32_t num_bytes,
                             const struct msg_handle *handles, uint32_t num_handles) {
    if (num_bytes > ZX_CHANNEL_MAX_MSG_BYTES || num_handles > ZX_CHANNEL_MAX_MSG_HANDLES) {
        return ZX_ERR_OUT_OF_RANGE;
    }
    for (uint32_t i = 0; i < num_handles; i++) {
        if (handles[i].obj == obj) {
            return ZX_ERR_NOT_SUPPORTED;
        }
    }
    return ZX_OK;
}

static zx_txid_t txid_alloc(struct channel *ch);

// Checks and queues a message on ch's peer, or hands it to a call waiting there. With `me` (a
// zx_channel_call), the message gets a fresh txid and `me` is registered for the reply. On
// ZX_OK the pair's lock is still held (the caller releases it); on error it is not, and the
// handles stay the caller's.
static zx_status_t send_locked(struct channel *ch, const void *bytes, uint32_t num_bytes,
                               const struct msg_handle *handles, uint32_t num_handles,
                               struct channel_caller *me) {
    zx_status_t status = msg_check(&ch->obj, num_bytes, handles, num_handles);
    if (status != ZX_OK) {
        return status;
    }
    struct channel_msg *msg = msg_alloc(bytes, num_bytes, handles, num_handles);
    if (msg == NULL) {
        return ZX_ERR_NO_MEMORY;
    }
    mutex_lock(&ch->shared->lock);
    struct channel *peer = ch->peer;
    if (peer == NULL) {
        mutex_unlock(&ch->shared->lock);
        kfree(msg);
        return ZX_ERR_PEER_CLOSED;
    }
    if (me != NULL) {
        me->txid = txid_alloc(ch);
        memcpy(msg_byte_area(msg), &me->txid, sizeof(me->txid));
        me->next = ch->callers;
        ch->callers = me;
    }
    deliver(peer, msg);
    return ZX_OK;
}

zx_status_t channel_write(struct kobject *obj, const void *bytes, uint32_t num_bytes,
                          const struct msg_handle *handles, uint32_t num_handles) {
    struct channel *ch = (struct channel *)obj;
    zx_status_t status = send_locked(ch, bytes, num_bytes, handles, num_handles, NULL);
    if (status == ZX_OK) {
        mutex_unlock(&ch->shared->lock);
    }
    return status;
}

// A txid in [0x80000000, 0xffffffff] no call in progress on `ch` uses (lock held).
static zx_txid_t txid_alloc(struct channel *ch) {
    for (;;) {
        zx_txid_t txid = 0x80000000u | (ch->next_txid++ & 0x7fffffffu);
        bool used = false;
        for (struct channel_caller *c = ch->callers; c != NULL; c = c->next) {
            used |= c->txid == txid;
        }
        if (!used) {
            return txid;
        }
    }
}

static void caller_unlink(struct channel *ch, struct channel_caller *me) {
    for (struct channel_caller **link = &ch->callers; *link != NULL; link = &(*link)->next) {
        if (*link == me) {
            *link = me->next;
            return;
        }
    }
}

zx_status_t channel_call(struct kobject *obj, void *bytes, uint32_t num_bytes,
                         const struct msg_handle *handles, uint32_t num_handles,
                         zx_time_t deadline, bool *sent, struct channel_msg **reply) {
    struct channel *ch = (struct channel *)obj;
    *sent = false;
    *reply = NULL;
    if (num_bytes < sizeof(zx_txid_t)) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct channel_caller me = {.thread = thread_current()};
    zx_status_t status = send_locked(ch, bytes, num_bytes, handles, num_handles, &me);
    if (status != ZX_OK) {
        return status;
    }
    *sent = true;
    arch_irq_state_t irq = thread_lock_irqsave();
    mutex_unlock(&ch->shared->lock);  // interrupts stay masked: the reply cannot slip by
    while (me.reply == NULL && !me.link_cut && status == ZX_OK) {
        status = thread_block(thread_deadline(deadline));
    }
    thread_unlock_irqrestore(irq);
    mutex_lock(&ch->shared->lock);
    caller_unlink(ch, &me);  // a reply arriving from now on goes to the queue
    mutex_unlock(&ch->shared->lock);
    if (me.reply != NULL) {
        *reply = me.reply;
        return ZX_OK;
    }
    return me.link_cut ? ZX_ERR_PEER_CLOSED : status;
}

uint32_t channel_msg_num_bytes(const struct channel_msg *msg) {
    return msg->num_bytes;
}

uint32_t channel_msg_num_handles(const struct channel_msg *msg) {
    return msg->num_handles;
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
