// Ports and asynchronous waits (include/kernel/port.h).
//
//   zx_port_queue:        kmalloc packet -> [thread lock] limit check, append, wake one
//   zx_object_wait_async: kmalloc observer -> [table lock, thread lock] level: signals already
//                         match? queue now : arm on the object
//   kobject_signal:       [thread lock] port_observers_notify: matching observers move their
//                         embedded packet to the port queue and wake one waiter
//   zx_port_wait:         [thread lock] take the head or block on port->waiters; a signal
//                         packet's observer is freed with it (after the lock)
//
// Lock rule: the thread lock (interrupts masked) guards everything here; allocation and freeing
// happen outside it. The objects' observer lists are guarded by it too.
#include <kernel/port.h>

#include <kernel/arch.h>
#include <kernel/heap.h>
#include <kernel/panic.h>
#include <kernel/process.h>
#include <kernel/thread.h>
#include <kernel/timer.h>
#include <kernel/wait.h>
#include <lib/string.h>

struct port {
    struct kobject obj;  // type ZX_OBJ_TYPE_PORT
    uint32_t options;
    struct port_packet *head, *tail;
    uint32_t user_packets;             // user packets on the queue (<= PORT_MAX_USER_PACKETS)
    struct port_observer *observers;   // every live observer (armed or queued), doubly linked
    struct wait_queue waiters;         // threads in zx_port_wait
    bool zero_handles;                 // the last handle is gone: nothing is queued any more
};

static struct port *to_port(struct kobject *obj) {
    return (struct port *)obj;
}

// ---- Queue and observer lists (thread lock held) ------------------------------------------

static void queue_append(struct port *p, struct port_packet *pkt) {
    pkt->next = NULL;
    if (p->tail != NULL) {
        p->tail->next = pkt;
    } else {
        p->head = pkt;
    }
    p->tail = pkt;
    wait_queue_wake_one(&p->waiters);
}

static struct port_packet *queue_pop(struct port *p) {
    struct port_packet *pkt = p->head;
    if (pkt != NULL) {
        p->head = pkt->next;
        if (p->head == NULL) {
            p->tail = NULL;
        }
        pkt->next = NULL;
    }
    return pkt;
}

static void port_list_add(struct port *p, struct port_observer *o) {
    o->port_prev = NULL;
    o->port_next = p->observers;
    if (p->observers != NULL) {
        p->observers->port_prev = o;
    }
    p->observers = o;
}

static void port_list_remove(struct port *p, struct port_observer *o) {
    if (o->port_prev != NULL) {
        o->port_prev->port_next = o->port_next;
    } else {
        p->observers = o->port_next;
    }
    if (o->port_next != NULL) {
        o->port_next->port_prev = o->port_prev;
    }
    o->port_prev = o->port_next = NULL;
}

// Removes armed observer `o` from its object's list.
static void obj_list_remove(struct port_observer *o) {
    for (struct port_observer **link = &o->obj->observers; *link != NULL;
         link = &(*link)->obj_next) {
        if (*link == o) {
            *link = o->obj_next;
            break;
        }
    }
    o->obj_next = NULL;
    o->obj = NULL;
}

// Observer `o`, no longer armed, delivers its packet with `signals` observed.
static void observer_fire(struct port_observer *o, zx_signals_t signals) {
    zx_packet_signal_t *sig = &o->pkt.packet.signal;
    sig->observed = signals;
    sig->count = 1;
    if ((o->options & ZX_WAIT_ASYNC_TIMESTAMP) != 0) {
        sig->timestamp = (uint64_t)current_time();
    }
    o->queued = true;
    queue_append(o->port, &o->pkt);
}

void port_observers_notify(struct kobject *obj, zx_signals_t signals) {
    struct port_observer **link = &obj->observers;
    while (*link != NULL) {
        struct port_observer *o = *link;
        if ((o->pkt.packet.signal.trigger & signals) == 0) {
            link = &o->obj_next;
            continue;
        }
        *link = o->obj_next;
        o->obj_next = NULL;
        o->obj = NULL;
        observer_fire(o, signals);
    }
}

struct port_observer *port_observers_cancel(struct kobject *obj, const struct handle_table *ht,
                                            zx_handle_t h) {
    struct port_observer *dead = NULL;
    struct port_observer **link = &obj->observers;
    while (*link != NULL) {
        struct port_observer *o = *link;
        if (h != ZX_HANDLE_INVALID && (o->ht != ht || o->handle != h)) {
            link = &o->obj_next;
            continue;
        }
        *link = o->obj_next;
        o->obj = NULL;
        port_list_remove(o->port, o);
        o->obj_next = dead;
        dead = o;
    }
    return dead;
}

void port_observers_free(struct port_observer *list) {
    while (list != NULL) {
        struct port_observer *next = list->obj_next;
        kfree(list);
        list = next;
    }
}

// ---- The object ---------------------------------------------------------------------------

static void port_destroy(struct kobject *obj) {
    struct port *p = to_port(obj);
    if (p->head != NULL || p->observers != NULL) {
        panic("port_destroy: koid %llu still has packets or observers",
              (unsigned long long)obj->koid);
    }
    kfree(p);
}

// The last handle: nothing more is queued; queued packets and every observer go.
static void port_on_last_handle(struct kobject *obj) {
    struct port *p = to_port(obj);
    struct port_packet *user = NULL;
    struct port_observer *dead = NULL;
    arch_irq_state_t irq = thread_lock_irqsave();
    p->zero_handles = true;
    for (struct port_packet *pkt; (pkt = queue_pop(p)) != NULL;) {
        if (pkt->observer == NULL) {
            pkt->next = user;
            user = pkt;
        } else {
            pkt->observer->queued = false;
        }
    }
    p->user_packets = 0;
    while (p->observers != NULL) {
        struct port_observer *o = p->observers;
        if (o->obj != NULL) {
            obj_list_remove(o);
        }
        port_list_remove(p, o);
        o->obj_next = dead;
        dead = o;
    }
    thread_unlock_irqrestore(irq);
    while (user != NULL) {
        struct port_packet *next = user->next;
        kfree(user);
        user = next;
    }
    port_observers_free(dead);
}

static const struct kobject_ops port_ops = {
    .type_name = "port",
    .default_rights = ZX_DEFAULT_PORT_RIGHTS,
    .destroy = port_destroy,
    .on_last_handle = port_on_last_handle,
};

zx_status_t port_create(uint32_t options, struct kobject **out) {
    if (options != 0 && options != ZX_PORT_BIND_TO_INTERRUPT) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct port *p = kzalloc(sizeof(*p));
    if (p == NULL) {
        return ZX_ERR_NO_MEMORY;
    }
    kobject_init(&p->obj, ZX_OBJ_TYPE_PORT, &port_ops);
    p->options = options;
    *out = &p->obj;
    return ZX_OK;
}

bool port_object_waitable(const struct kobject *obj) {
    return (obj->ops->default_rights & ZX_RIGHT_WAIT) != 0;
}

// ---- zx_port_queue / zx_port_wait ---------------------------------------------------------

zx_status_t port_queue_user(struct kobject *obj, const zx_port_packet_t *packet) {
    struct port *p = to_port(obj);
    struct port_packet *pkt = kmalloc(sizeof(*pkt));
    if (pkt == NULL) {
        return ZX_ERR_NO_MEMORY;
    }
    pkt->observer = NULL;
    pkt->packet = *packet;
    pkt->packet.type = ZX_PKT_TYPE_USER;
    zx_status_t status = ZX_OK;
    arch_irq_state_t irq = thread_lock_irqsave();
    if (p->zero_handles) {
        status = ZX_ERR_BAD_HANDLE;
    } else if (p->user_packets >= PORT_MAX_USER_PACKETS) {
        status = ZX_ERR_SHOULD_WAIT;
    } else {
        p->user_packets++;
        queue_append(p, pkt);
    }
    thread_unlock_irqrestore(irq);
    if (status != ZX_OK) {
        kfree(pkt);
    }
    return status;
}

zx_status_t port_wait(struct kobject *obj, zx_time_t deadline, zx_port_packet_t *out) {
    struct port *p = to_port(obj);
    uint64_t until = thread_deadline(deadline);
    struct port_packet *pkt;
    void *to_free = NULL;
    arch_irq_state_t irq = thread_lock_irqsave();
    while ((pkt = queue_pop(p)) == NULL) {
        zx_status_t status = wait_queue_block(&p->waiters, until);
        if (status != ZX_OK) {
            // A packet that came at the last moment still counts.
            pkt = queue_pop(p);
            if (pkt == NULL) {
                thread_unlock_irqrestore(irq);
                return status;  // ZX_ERR_TIMED_OUT or ZX_ERR_INTERNAL_INTR_KILLED
            }
            break;
        }
    }
    *out = pkt->packet;
    if (pkt->observer == NULL) {
        p->user_packets--;
        to_free = pkt;
    } else {
        pkt->observer->queued = false;
        port_list_remove(p, pkt->observer);
        to_free = pkt->observer;
    }
    // Another waiter may have been woken for this packet while we took it without blocking:
    // if more are queued, pass the wake-up on.
    if (p->head != NULL) {
        wait_queue_wake_one(&p->waiters);
    }
    thread_unlock_irqrestore(irq);
    kfree(to_free);
    return ZX_OK;
}

// ---- zx_object_wait_async / zx_port_cancel ------------------------------------------------

struct port_observer *port_observer_alloc(void) {
    return kzalloc(sizeof(struct port_observer));
}

zx_status_t port_observe(struct kobject *port_obj, struct kobject *obj,
                         const struct handle_table *ht, zx_handle_t handle, uint64_t key,
                         zx_signals_t signals, uint32_t options, struct port_observer **observer) {
    if (!port_object_waitable(obj)) {
        return ZX_ERR_NOT_SUPPORTED;
    }
    struct port *p = to_port(port_obj);
    struct port_observer *o = *observer;
    memset(o, 0, sizeof(*o));
    o->port = p;
    o->ht = ht;
    o->handle = handle;
    o->options = options;
    o->pkt.observer = o;
    o->pkt.packet.key = key;
    o->pkt.packet.type = ZX_PKT_TYPE_SIGNAL_ONE;
    o->pkt.packet.status = ZX_OK;
    o->pkt.packet.signal.trigger = signals;
    arch_irq_state_t irq = thread_lock_irqsave();
    if (p->zero_handles) {
        thread_unlock_irqrestore(irq);
        return ZX_ERR_BAD_HANDLE;
    }
    port_list_add(p, o);
    if ((options & ZX_WAIT_ASYNC_EDGE) == 0 && (obj->signals & signals) != 0) {
        observer_fire(o, obj->signals);  // level: already satisfied
    } else {
        o->obj = obj;
        o->obj_next = obj->observers;
        obj->observers = o;
    }
    thread_unlock_irqrestore(irq);
    *observer = NULL;
    return ZX_OK;
}

zx_status_t port_cancel(struct kobject *port_obj, struct kobject *obj,
                        const struct handle_table *ht, zx_handle_t handle, uint64_t key) {
    if (!port_object_waitable(obj)) {
        return ZX_ERR_NOT_SUPPORTED;
    }
    struct port *p = to_port(port_obj);
    struct port_observer *dead = NULL;
    arch_irq_state_t irq = thread_lock_irqsave();
    // Armed observers on the object.
    struct port_observer **link = &obj->observers;
    while (*link != NULL) {
        struct port_observer *o = *link;
        if (o->port != p || o->ht != ht || o->handle != handle || o->pkt.packet.key != key) {
            link = &o->obj_next;
            continue;
        }
        *link = o->obj_next;
        o->obj = NULL;
        port_list_remove(p, o);
        o->obj_next = dead;
        dead = o;
    }
    // Packets they already queued.
    struct port_packet *prev = NULL;
    for (struct port_packet *pkt = p->head; pkt != NULL;) {
        struct port_packet *next = pkt->next;
        struct port_observer *o = pkt->observer;
        if (o != NULL && o->ht == ht && o->handle == handle && pkt->packet.key == key) {
            if (prev != NULL) {
                prev->next = next;
            } else {
                p->head = next;
            }
            if (p->tail == pkt) {
                p->tail = prev;
            }
            o->queued = false;
            port_list_remove(p, o);
            o->obj_next = dead;
            dead = o;
        } else {
            prev = pkt;
        }
        pkt = next;
    }
    thread_unlock_irqrestore(irq);
    zx_status_t status = dead != NULL ? ZX_OK : ZX_ERR_NOT_FOUND;
    port_observers_free(dead);
    return status;
}
