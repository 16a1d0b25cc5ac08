// Sockets (include/kernel/socket.h).
//
//   struct socket A                          struct socket B
//     peer ------------------------------->    (a reference; cut when either side closes)
//     rx ring: what B wrote, for A to read      rx ring: what A wrote
//     dgram[]: datagram lengths (DATAGRAM)
//
// Every operation holds the pair's mutex and ends with signals_update() of both endpoints.
#include <kernel/socket.h>

#include <kernel/heap.h>
#include <kernel/lock.h>
#include <kernel/usercopy.h>
#include <lib/string.h>
#include <zircon/syscalls/object.h>

struct socket_shared {
    struct mutex lock;
    uint32_t endpoints;  // not yet destroyed (atomic)
};

struct socket {
    struct kobject obj;  // ZX_OBJ_TYPE_SOCKET
    struct socket_shared *shared;
    struct socket *peer;  // a reference; NULL once either endpoint is closed
    uint32_t options;
    uint8_t *buf;          // SOCKET_BUF_SIZE bytes: the receive ring
    size_t head, used;     // ring start and bytes queued
    uint32_t dgram[SOCKET_MAX_DATAGRAMS];  // DATAGRAM: lengths, a ring too
    uint32_t dgram_head, dgram_count;
    bool write_disabled;       // this endpoint's writes (zx_socket_set_disposition)
    bool peer_write_disabled;  // the peer's, kept after the peer is gone
    bool peer_closed;
    bool closed;  // this endpoint's last handle is gone
};

#define SOCKET_SIGNALS                                                                        \
    (ZX_SOCKET_READABLE | ZX_SOCKET_WRITABLE | ZX_SOCKET_PEER_CLOSED |                        \
     ZX_SOCKET_PEER_WRITE_DISABLED | ZX_SOCKET_WRITE_DISABLED)

static bool is_datagram(const struct socket *s) {
    return (s->options & ZX_SOCKET_DATAGRAM) != 0;
}

// Room for a write into `rx` (someone's receive ring).
static bool has_room(const struct socket *rx) {
    return rx->used < SOCKET_BUF_SIZE &&
           (!is_datagram(rx) || rx->dgram_count < SOCKET_MAX_DATAGRAMS);
}

static void signals_update_one(struct socket *s) {
    zx_signals_t set = 0;
    if (s->used > 0 || s->dgram_count > 0) {
        set |= ZX_SOCKET_READABLE;
    }
    if (s->peer != NULL && !s->write_disabled && has_room(s->peer)) {
        set |= ZX_SOCKET_WRITABLE;
    }
    if (s->peer_closed) {
        set |= ZX_SOCKET_PEER_CLOSED;
    }
    if (s->write_disabled) {
        set |= ZX_SOCKET_WRITE_DISABLED;
    }
    if (s->peer_write_disabled) {
        set |= ZX_SOCKET_PEER_WRITE_DISABLED;
    }
    kobject_signal(&s->obj, SOCKET_SIGNALS, set);
}

static void signals_update(struct socket *s) {
    if (!s->closed) {
        signals_update_one(s);
    }
    if (s->peer != NULL) {
        signals_update_one(s->peer);
    }
}

static void socket_destroy(struct kobject *obj) {
    struct socket *s = (struct socket *)obj;
    kfree(s->buf);
    if (__atomic_sub_fetch(&s->shared->endpoints, 1u, __ATOMIC_ACQ_REL) == 0) {
        kfree(s->shared);
    }
    kfree(s);
}

static void socket_on_last_handle(struct kobject *obj) {
    struct socket *s = (struct socket *)obj;
    mutex_lock(&s->shared->lock);
    s->closed = true;
    s->used = s->head = 0;
    s->dgram_count = s->dgram_head = 0;
    struct socket *peer = s->peer;
    struct socket *back = NULL;
    s->peer = NULL;
    kobject_signal(obj, SOCKET_SIGNALS, 0);
    if (peer != NULL) {
        back = peer->peer;  // == s: the peer's reference on us
        peer->peer = NULL;
        peer->peer_closed = true;
        signals_update_one(peer);
    }
    mutex_unlock(&s->shared->lock);
    if (peer != NULL) {
        kobject_unref(&peer->obj);
    }
    if (back != NULL) {
        kobject_unref(&back->obj);
    }
}

static struct kobject *socket_peer(struct kobject *obj) {
    struct socket *s = (struct socket *)obj;
    mutex_lock(&s->shared->lock);
    struct kobject *peer = s->peer != NULL ? &s->peer->obj : NULL;
    if (peer != NULL) {
        kobject_ref(peer);
    }
    mutex_unlock(&s->shared->lock);
    return peer;
}

static size_t first_available(const struct socket *s) {
    if (!is_datagram(s)) {
        return s->used;
    }
    return s->dgram_count > 0 ? s->dgram[s->dgram_head] : 0;
}

static zx_status_t socket_get_info(struct kobject *obj, uint32_t topic, void *kbuf, size_t len,
                                   size_t *actual) {
    if (topic != ZX_INFO_SOCKET) {
        return ZX_ERR_WRONG_TYPE;
    }
    if (len < sizeof(zx_info_socket_t)) {
        return ZX_ERR_BUFFER_TOO_SMALL;
    }
    struct socket *s = (struct socket *)obj;
    zx_info_socket_t info = {0};
    mutex_lock(&s->shared->lock);
    info.options = s->options;
    info.rx_buf_max = SOCKET_BUF_SIZE;
    info.rx_buf_size = s->used;
    info.rx_buf_available = first_available(s);
    if (s->peer != NULL) {
        info.tx_buf_max = SOCKET_BUF_SIZE;
        info.tx_buf_size = s->peer->used;
    }
    mutex_unlock(&s->shared->lock);
    memcpy(kbuf, &info, sizeof(info));
    *actual = sizeof(info);
    return ZX_OK;
}

static const struct kobject_ops socket_ops = {
    .type_name = "socket",
    .default_rights = ZX_DEFAULT_SOCKET_RIGHTS,
    .destroy = socket_destroy,
    .on_last_handle = socket_on_last_handle,
    .get_info = socket_get_info,
    .related_koid = kobject_peer_koid,
    .peer = socket_peer,
};

zx_status_t socket_create(uint32_t options, struct kobject **out0, struct kobject **out1) {
    if ((options & ~ZX_SOCKET_DATAGRAM) != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct socket_shared *shared = kzalloc(sizeof(*shared));
    uint8_t *buf0 = kmalloc(SOCKET_BUF_SIZE);
    uint8_t *buf1 = kmalloc(SOCKET_BUF_SIZE);
    struct kobject *oa = NULL, *ob = NULL;
    zx_status_t status = ZX_ERR_NO_MEMORY;
    if (shared != NULL && buf0 != NULL && buf1 != NULL) {
        status =
            kobject_alloc_pair(sizeof(struct socket), ZX_OBJ_TYPE_SOCKET, &socket_ops, &oa, &ob);
    }
    if (status != ZX_OK) {
        kfree(shared);
        kfree(buf0);
        kfree(buf1);
        return status;
    }
    mutex_init(&shared->lock, "socket", LOCK_RANK_SOCKET);
    shared->endpoints = 2;
    struct socket *a = (struct socket *)oa, *b = (struct socket *)ob;
    a->shared = b->shared = shared;
    a->options = b->options = options;
    a->buf = buf0;
    b->buf = buf1;
    a->peer = b;
    b->peer = a;
    a->obj.signals = b->obj.signals = ZX_SOCKET_WRITABLE;
    *out0 = oa;
    *out1 = ob;
    return ZX_OK;
}

// Copies user bytes into `rx`'s ring after its queued data (n <= free space).
static zx_status_t ring_copy_in(struct socket *rx, uintptr_t ubuf, size_t n) {
    size_t tail = (rx->head + rx->used) % SOCKET_BUF_SIZE;
    size_t first = n < SOCKET_BUF_SIZE - tail ? n : SOCKET_BUF_SIZE - tail;
    if (user_copy_in(rx->buf + tail, ubuf, first) != ZX_OK ||
        user_copy_in(rx->buf, ubuf + first, n - first) != ZX_OK) {
        return ZX_ERR_INVALID_ARGS;
    }
    return ZX_OK;
}

// Copies the first n queued bytes of `s`'s ring out to user memory.
static zx_status_t ring_copy_out(const struct socket *s, uintptr_t ubuf, size_t n) {
    size_t first = n < SOCKET_BUF_SIZE - s->head ? n : SOCKET_BUF_SIZE - s->head;
    if (user_copy_out(ubuf, s->buf + s->head, first) != ZX_OK ||
        user_copy_out(ubuf + first, s->buf, n - first) != ZX_OK) {
        return ZX_ERR_INVALID_ARGS;
    }
    return ZX_OK;
}

static zx_status_t copy_actual(uintptr_t uactual, size_t n) {
    if (uactual == 0) {
        return ZX_OK;
    }
    return user_copy_out(uactual, &n, sizeof(n)) == ZX_OK ? ZX_OK : ZX_ERR_INVALID_ARGS;
}

// The write under the lock: how much, then the copies, then the commit.
static zx_status_t write_locked(struct socket *s, uintptr_t ubuf, size_t size,
                                uintptr_t uactual) {
    struct socket *rx = s->peer;
    if (rx == NULL) {
        return ZX_ERR_PEER_CLOSED;
    }
    if (s->write_disabled) {
        return ZX_ERR_BAD_STATE;
    }
    if (size == 0) {
        return copy_actual(uactual, 0);
    }
    size_t room = SOCKET_BUF_SIZE - rx->used;
    size_t n = size;
    if (is_datagram(s)) {
        if (size > SOCKET_BUF_SIZE) {
            return ZX_ERR_OUT_OF_RANGE;
        }
        if (size > room || rx->dgram_count == SOCKET_MAX_DATAGRAMS) {
            return ZX_ERR_SHOULD_WAIT;
        }
    } else if (room == 0) {
        return ZX_ERR_SHOULD_WAIT;
    } else if (n > room) {
        n = room;  // a short write
    }
    zx_status_t status = copy_actual(uactual, n);
    if (status == ZX_OK) {
        status = ring_copy_in(rx, ubuf, n);
    }
    if (status != ZX_OK) {
        return status;
    }
    rx->used += n;
    if (is_datagram(s)) {
        rx->dgram[(rx->dgram_head + rx->dgram_count) % SOCKET_MAX_DATAGRAMS] = (uint32_t)n;
        rx->dgram_count++;
    }
    return ZX_OK;
}

zx_status_t socket_write(struct kobject *obj, uint32_t options, uintptr_t ubuf, size_t size,
                         uintptr_t uactual) {
    struct socket *s = (struct socket *)obj;
    if (options != 0) {
        return ZX_ERR_INVALID_ARGS;
    }
    mutex_lock(&s->shared->lock);
    zx_status_t status = write_locked(s, ubuf, size, uactual);
    signals_update(s);
    mutex_unlock(&s->shared->lock);
    return status;
}

static zx_status_t read_locked(struct socket *s, bool peek, uintptr_t ubuf, size_t size,
                               uintptr_t uactual) {
    bool empty = is_datagram(s) ? s->dgram_count == 0 : s->used == 0;
    if (empty) {
        if (s->peer_closed) {
            return ZX_ERR_PEER_CLOSED;
        }
        return s->peer_write_disabled ? ZX_ERR_BAD_STATE : ZX_ERR_SHOULD_WAIT;
    }
    size_t avail = first_available(s);
    size_t n = size < avail ? size : avail;
    zx_status_t status = ring_copy_out(s, ubuf, n);
    if (status == ZX_OK) {
        status = copy_actual(uactual, n);
    }
    if (status != ZX_OK || peek) {
        return status;
    }
    // Consume: the bytes read, or the whole datagram (its rest is discarded).
    size_t consumed = is_datagram(s) ? avail : n;
    s->head = (s->head + consumed) % SOCKET_BUF_SIZE;
    s->used -= consumed;
    if (s->used == 0) {
        s->head = 0;
    }
    if (is_datagram(s)) {
        s->dgram_head = (s->dgram_head + 1) % SOCKET_MAX_DATAGRAMS;
        s->dgram_count--;
    }
    return ZX_OK;
}

zx_status_t socket_read(struct kobject *obj, uint32_t options, uintptr_t ubuf, size_t size,
                        uintptr_t uactual) {
    struct socket *s = (struct socket *)obj;
    if ((options & ~ZX_SOCKET_PEEK) != 0 || (ubuf == 0 && size > 0)) {
        return ZX_ERR_INVALID_ARGS;
    }
    mutex_lock(&s->shared->lock);
    zx_status_t status = read_locked(s, (options & ZX_SOCKET_PEEK) != 0, ubuf, size, uactual);
    signals_update(s);
    mutex_unlock(&s->shared->lock);
    return status;
}

static bool disposition_valid(uint32_t d) {
    const uint32_t both = ZX_SOCKET_DISPOSITION_WRITE_DISABLED | ZX_SOCKET_DISPOSITION_WRITE_ENABLED;
    return (d & ~both) == 0 && d != both;
}

// Applies disposition `d` to endpoint `w` whose written data sits in `rx` (lock held).
static void disposition_apply(struct socket *w, struct socket *rx, uint32_t d) {
    if (d == 0) {
        return;
    }
    w->write_disabled = d == ZX_SOCKET_DISPOSITION_WRITE_DISABLED;
    rx->peer_write_disabled = w->write_disabled;
}

zx_status_t socket_set_disposition(struct kobject *obj, uint32_t disposition,
                                   uint32_t disposition_peer) {
    struct socket *s = (struct socket *)obj;
    if (!disposition_valid(disposition) || !disposition_valid(disposition_peer)) {
        return ZX_ERR_INVALID_ARGS;
    }
    mutex_lock(&s->shared->lock);
    struct socket *peer = s->peer;
    zx_status_t status = ZX_OK;
    if (peer == NULL) {
        status = ZX_ERR_PEER_CLOSED;
    } else if ((disposition == ZX_SOCKET_DISPOSITION_WRITE_ENABLED && peer->used > 0) ||
               (disposition_peer == ZX_SOCKET_DISPOSITION_WRITE_ENABLED && s->used > 0)) {
        // Re-enabling writes while the data written before the disable is still queued.
        status = ZX_ERR_BAD_STATE;
    } else {
        disposition_apply(s, peer, disposition);
        disposition_apply(peer, s, disposition_peer);
        signals_update(s);
    }
    mutex_unlock(&s->shared->lock);
    return status;
}
