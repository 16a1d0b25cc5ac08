// Kernel objects (kernel/object/object.c): the base every handle-reachable object embeds.
//
//   struct process { struct kobject obj; ... };      // the kobject is the FIRST member
//   container_of: (struct process *)obj              // after checking obj->type
//
// Identity: every object gets a koid from koid_next() when it is initialised; koids start at
// ZX_KOID_FIRST, only grow and are never reused (63 bits: they never wrap in practice).
//
// Lifetime: `refcount` counts kernel references (every handle holds one, every kernel pointer
// kept across a blocking call or stored in another object holds one). kobject_init sets it to
// 1 (the creator's reference). When kobject_unref drops it to 0 the object's waiters list must
// be empty; the magic is cleared and ops->destroy frees the containing struct.
// `handle_count` counts handles (in a table or in transit in a channel message); when it drops
// to 0, ops->on_last_handle runs (a channel endpoint tells its peer PEER_CLOSED, ...). It is
// maintained by kernel/object/handle.c only.
//
// Signals: `signals` is the object's current signal state; kobject_signal changes it, wakes
// every waiter (include/kernel/wait.h) whose mask now matches and, when a signal became
// active, fires the matching port observers (include/kernel/port.h). Closing the last handle
// cancels the object's observers before on_last_handle runs.
//
// Lock rule: `refcount` and `handle_count` are atomics: a reference is only taken by a holder
// of another one (or under the lock of a structure holding one), so a count never comes back
// from 0. Signals, waiters and observers are guarded by the thread lock
// (thread_lock_irqsave). The functions below take what they need themselves and may be called
// with the thread lock held or not, but never from an interrupt handler.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zircon/types.h>

#define KOBJECT_MAGIC 0x6a626f6bu  // "kobj"

struct kobject;
struct kwaiter;  // include/kernel/wait.h
struct port_observer;  // include/kernel/port.h

struct kobject_ops {
    const char *type_name;  // for diagnostics, e.g. "channel"
    // Rights a handle to a freshly created object of this type gets (ZX_DEFAULT_*_RIGHTS).
    zx_rights_t default_rights;
    // Signals zx_object_signal may set or clear on this type (ZX_USER_SIGNAL_ALL, plus
    // ZX_EVENT_SIGNALED for events and event pairs); 0 means ZX_USER_SIGNAL_ALL.
    zx_signals_t user_signals;
    // Frees the containing struct (and anything it owns). Required. Called once, by
    // kobject_unref, when the last reference goes; the magic is already cleared.
    void (*destroy)(struct kobject *obj);
    // The last handle to the object was closed (or dropped in transit). Optional.
    void (*on_last_handle)(struct kobject *obj);
    // Type-specific zx_object_get_info topics (PROCESS, THREAD, VMAR, VMO, ...). Optional.
    // Writes one record of at most `len` bytes to the kernel buffer `kbuf` and stores the bytes
    // written in *actual. Returns ZX_ERR_BUFFER_TOO_SMALL if `len` cannot hold the record,
    // ZX_ERR_WRONG_TYPE if the topic does not apply to this type. (object_get_info copies the
    // record out and reports actual = avail = 1.)
    zx_status_t (*get_info)(struct kobject *obj, uint32_t topic, void *kbuf, size_t len,
                            size_t *actual);
    // The koid zx_info_handle_basic_t.related_koid reports (peer endpoint, parent job, owning
    // process ...), or ZX_KOID_INVALID. Optional.
    zx_koid_t (*related_koid)(struct kobject *obj);
    // A new reference to the peer object (event pair, channel), NULL if the peer is gone.
    // Optional: without it zx_object_signal_peer gives ZX_ERR_NOT_SUPPORTED.
    struct kobject *(*peer)(struct kobject *obj);
};

struct kobject {
    uint32_t magic;  // KOBJECT_MAGIC while live; cleared before destroy
    zx_obj_type_t type;
    zx_koid_t koid;
    uint32_t refcount;        // kernel references (see the map above)
    uint32_t handle_count;    // handles, including ones in transit; handle.c only
    zx_signals_t signals;     // current signal state; changed through kobject_signal
    struct kwaiter *waiters;  // threads waiting on this object (wait.c); guarded by irqs off
    struct port_observer *observers;  // armed zx_object_wait_async observers (port.c); irqs off
    const struct kobject_ops *ops;
    char name[ZX_MAX_NAME_LEN];  // ZX_PROP_NAME; NUL-terminated, "" by default
    struct kobject *reap_next;   // on a thread's kobject_reaper list (object.c)
    uint32_t reap_kind;
};

// Teardown runs iteratively, not recursively: destroying one object (or running its
// on_last_handle) often drops the last handle or reference of others (a channel's queued
// messages carry handles, a job holds its parent, a VMAR its children), and a chain of
// thousands of such objects must not use thousands of stack frames. So while a thread is
// already inside a teardown, further last-handle / last-reference work is queued on its
// reaper and run by the outermost one, in order.
struct kobject_reaper {
    uint32_t depth;  // > 0 while a teardown runs on this thread
    struct kobject *head, *tail;
};
// The calling thread's reaper (kernel/thread.c; a static one before threads exist).
struct kobject_reaper *thread_reaper(void);

// The last handle to `obj` is gone: runs ops->on_last_handle (if any), then drops the
// handle's reference. Called by kernel/object/handle.c only.
void kobject_last_handle(struct kobject *obj);

// The next koid: ZX_KOID_FIRST, then strictly increasing, never reused.
zx_koid_t koid_next(void);

// Initialises the base of a new object of `type` with `ops`: magic, a fresh koid, refcount 1
// (the caller's), no handles, no signals, empty name.
void kobject_init(struct kobject *obj, zx_obj_type_t type, const struct kobject_ops *ops);

// Takes another reference. Panics on an object that is not live.
void kobject_ref(struct kobject *obj);

// Drops a reference; the last one clears the magic and calls ops->destroy (queued behind the
// teardown already running on this thread, if any). NULL does nothing.
void kobject_unref(struct kobject *obj);

// True if `obj` is a live kobject (magic intact).
bool kobject_live(const struct kobject *obj);

// signals = (signals & ~clear_mask) | set_mask, then wakes every waiter whose wanted signals
// intersect the new state and, if a signal became active, queues the packet of every port
// observer whose trigger intersects it. Allocates nothing: callable with the thread lock held
// (from the tick too).
void kobject_signal(struct kobject *obj, zx_signals_t clear_mask, zx_signals_t set_mask);

// zx_object_signal on a kernel object: ZX_ERR_INVALID_ARGS if either mask has a bit the type
// does not let users change (kobject_ops.user_signals); else kobject_signal.
zx_status_t object_signal(struct kobject *obj, zx_signals_t clear_mask, zx_signals_t set_mask);

// zx_object_signal_peer: the same on obj's peer (kobject_ops.peer). ZX_ERR_NOT_SUPPORTED for a
// type without peers, ZX_ERR_PEER_CLOSED when the peer is gone.
zx_status_t object_signal_peer(struct kobject *obj, zx_signals_t clear_mask, zx_signals_t set_mask);

// Allocates two zeroed objects of `size` bytes (a struct starting with its kobject) of `type`
// with `ops` and initialises them, each with a second reference: the one its peer's link will
// hold (the caller links them). ZX_ERR_NO_MEMORY.
zx_status_t kobject_alloc_pair(size_t size, zx_obj_type_t type, const struct kobject_ops *ops,
                               struct kobject **a, struct kobject **b);

// kobject_ops.related_koid of a type with peers (kobject_ops.peer): the peer's koid, or
// ZX_KOID_INVALID once the peer is gone.
zx_koid_t kobject_peer_koid(struct kobject *obj);

// Current signal state (a snapshot).
zx_signals_t kobject_signals(struct kobject *obj);

// Sets the name (ZX_PROP_NAME): copies at most ZX_MAX_NAME_LEN - 1 bytes of `name[0..len)`,
// stopping at a NUL, and terminates it.
void kobject_set_name(struct kobject *obj, const char *name, size_t len);

// Copies the name (always NUL-terminated) into `out[ZX_MAX_NAME_LEN]`.
void kobject_get_name(struct kobject *obj, char out[ZX_MAX_NAME_LEN]);

// Statistics for the self-tests: live kobjects.
size_t kobject_live_count(void);
// Live objects of one type, and the type's name (NULL if no object of it was ever made).
size_t kobject_live_by_type(zx_obj_type_t type, const char **name);
