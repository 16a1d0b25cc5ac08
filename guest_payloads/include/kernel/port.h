// Ports and asynchronous waits (kernel/object/port.c): zx_port_*, zx_object_wait_async.
//
//   port:    head -> packet -> packet -> tail      FIFO; zx_port_wait takes the head
//            observers <-> observer <-> ...         every live observer of this port
//            waiters                                threads blocked in zx_port_wait (FIFO)
//   object:  observers -> observer -> ...           the armed observers on the object
//
//   observer (one zx_object_wait_async):  armed on its object --signal--> its embedded packet
//   queued on the port --zx_port_wait--> freed.  Cancelled (zx_port_cancel, the handle it came
//   through closed or taken, the object's last handle, the port's last handle): freed.
//
// A user packet (zx_port_queue) is allocated by the syscall; at most PORT_MAX_USER_PACKETS
// of them wait on one port (Zircon's per-port limit: ZX_ERR_SHOULD_WAIT beyond it; Zircon
// also raises ZX_EXCP_POLICY_CODE_PORT_TOO_MANY_PACKETS, zhb has no exception channels).
// A signal packet is the observer's own, allocated by zx_object_wait_async, so delivering it
// from kobject_signal (thread lock held, maybe from the tick) allocates nothing and cannot
// fail.
//
// An observer holds no reference: its object is kept alive by the handle it came through
// (closing that handle, or the object's last handle, cancels it first) and its port by the
// port's handles (the port's last handle cancels every observer of the port).
//
// Lock rule: the thread lock (interrupts masked) guards all of the above: queues, observer
// lists, counts, `zero_handles`. Nothing is allocated or freed under it: cancelled observers
// and packets are collected and freed after it is dropped. Ports have no mutex.
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <kernel/object.h>
#include <zircon/syscalls/port.h>
#include <zircon/types.h>

#define PORT_MAX_USER_PACKETS 4096u  // Zircon's kMaxAllocatedPacketCountPerPort

struct handle_table;
struct port;
struct port_observer;

struct port_packet {
    struct port_packet *next;        // on the port's queue
    struct port_observer *observer;  // the observer it is embedded in; NULL: a user packet
    zx_port_packet_t packet;
};

struct port_observer {
    struct port_observer *obj_next;               // on obj->observers while armed
    struct port_observer *port_prev, *port_next;  // on port->observers while not freed
    struct kobject *obj;                          // armed: the observed object; else NULL
    struct port *port;
    // The handle the wait came through: closing it cancels the wait (Zircon's Cancel by
    // handle); zx_port_cancel names the same handle.
    const struct handle_table *ht;
    zx_handle_t handle;
    uint32_t options;  // ZX_WAIT_ASYNC_*
    bool queued;       // pkt is on the port's queue
    struct port_packet pkt;
};

// A new port (options: 0 or ZX_PORT_BIND_TO_INTERRUPT, else ZX_ERR_INVALID_ARGS); *out holds
// the creator's reference. ZX_ERR_NO_MEMORY.
zx_status_t port_create(uint32_t options, struct kobject **out);

// zx_port_queue: queues a copy of *packet with type ZX_PKT_TYPE_USER. ZX_ERR_SHOULD_WAIT at
// the limit, ZX_ERR_NO_MEMORY, ZX_ERR_BAD_HANDLE if the port's last handle is already gone.
zx_status_t port_queue_user(struct kobject *port, const zx_port_packet_t *packet);

// zx_port_wait: takes the oldest packet into *out, blocking until one comes or `deadline`
// (ZX_ERR_TIMED_OUT; a packet already there is returned even after the deadline) or a kill
// (ZX_ERR_INTERNAL_INTR_KILLED). Wakes one waiter per packet.
zx_status_t port_wait(struct kobject *port, zx_time_t deadline, zx_port_packet_t *out);

// zx_object_wait_async, called with `ht` locked and `handle` live in it, naming `obj`
// (handle_table_with): ZX_ERR_NOT_SUPPORTED if obj cannot be waited on, ZX_ERR_BAD_HANDLE if
// the port lost its last handle meanwhile. `*observer` (from port_observer_alloc) is consumed
// on ZX_OK (set to NULL); otherwise it stays the caller's to free.
zx_status_t port_observe(struct kobject *port, struct kobject *obj, const struct handle_table *ht,
                         zx_handle_t handle, uint64_t key, zx_signals_t signals, uint32_t options,
                         struct port_observer **observer);
struct port_observer *port_observer_alloc(void);
// Frees a list of observers linked through obj_next (NULL: nothing).
void port_observers_free(struct port_observer *list);

// zx_port_cancel, called like port_observe: removes the armed observers of `obj` for this
// port, handle and key, and the packets they queued. ZX_ERR_NOT_FOUND if there was none.
zx_status_t port_cancel(struct kobject *port, struct kobject *obj, const struct handle_table *ht,
                        zx_handle_t handle, uint64_t key);

// True if zx_object_wait_async / zx_port_cancel accept `obj` (Zircon: its type's default
// rights include ZX_RIGHT_WAIT).
bool port_object_waitable(const struct kobject *obj);

// ---- Hooks for the object base and the handle table (thread lock held) -------------------

// kobject_signal: a signal became active and obj's signals are now `signals`: every armed
// observer whose trigger intersects them queues its packet (Zircon's rule for both level and
// edge waits).
void port_observers_notify(struct kobject *obj, zx_signals_t signals);
// Unlinks obj's armed observers that came through handle `h` of `ht` (h == ZX_HANDLE_INVALID:
// all of them) and returns them as a list for port_observers_free once the thread lock is
// dropped.
struct port_observer *port_observers_cancel(struct kobject *obj, const struct handle_table *ht,
                                            zx_handle_t h);
