// Channels (kernel/object/channel.c): two endpoints carrying messages of bytes and handles.
//
//   endpoint A --write--> [msg][msg][msg] --read--> endpoint B     (and the same B -> A)
//   a message: num_bytes <= ZX_CHANNEL_MAX_MSG_BYTES bytes and
//              num_handles <= ZX_CHANNEL_MAX_MSG_HANDLES handles in transit (handle.h)
//
// Writing queues the message on the PEER; a write to an endpoint whose peer has no handles
// left fails with ZX_ERR_PEER_CLOSED. Signals on each endpoint: ZX_CHANNEL_READABLE while its
// queue is non-empty, ZX_CHANNEL_WRITABLE while the peer lives, ZX_CHANNEL_PEER_CLOSED once the
// peer's last handle is gone (then queued messages can still be read). When an endpoint's last
// handle goes, its queued messages (and the handles in them) are dropped.
//
// Reading is two steps so that a syscall can copy out to user memory between them and leave
// the message queued when that fails: channel_read_take removes the first message if it fits,
// channel_read_untake puts it back at the head, channel_msg_* read and free it.
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <kernel/handle.h>
#include <kernel/object.h>
#include <zircon/types.h>


struct channel_msg;  // private to channel.c

// A new channel; *out0 and *out1 are its endpoints, each holding the creator's reference.
// ZX_ERR_INVALID_ARGS for non-zero options, ZX_ERR_NO_MEMORY.
zx_status_t channel_create(uint32_t options, struct kobject **out0, struct kobject **out1);

// Queues a copy of bytes[0..num_bytes) with the handles in transit handles[0..num_handles) on
// ch's peer. On ZX_OK the message owns the handles; on error they stay the caller's.
// ZX_ERR_OUT_OF_RANGE (too many bytes or handles), ZX_ERR_PEER_CLOSED, ZX_ERR_NO_MEMORY,
// ZX_ERR_NOT_SUPPORTED if a handle is to `ch` itself.
zx_status_t channel_write(struct kobject *ch, const void *bytes, uint32_t num_bytes,
                          const struct msg_handle *handles, uint32_t num_handles);

// A read holds ch's lock (shared with its peer) from take to the end of the copy-out:
// channel_read_take and channel_read_untake must be called between these two.
void channel_read_begin(struct kobject *ch);
void channel_read_end(struct kobject *ch);

// Removes ch's first message if it fits in `bytes_cap` bytes and `handles_cap` handles.
// *actual_bytes / *actual_handles get its sizes in every case that has a message.
// ZX_OK (*msg is now the caller's), ZX_ERR_BUFFER_TOO_SMALL (it stays queued; with
// `may_discard` it is taken off into *msg for the caller to free after channel_read_end),
// ZX_ERR_SHOULD_WAIT (empty), ZX_ERR_PEER_CLOSED (empty, peer gone). *msg is NULL when
// nothing was taken.
zx_status_t channel_read_take(struct kobject *ch, uint32_t bytes_cap, uint32_t handles_cap,
                              bool may_discard, struct channel_msg **msg, uint32_t *actual_bytes,
                              uint32_t *actual_handles);

// Puts a message from channel_read_take back at the head of ch's queue. If the endpoint was
// closed meanwhile, returns the message for the caller to free after channel_read_end, else
// NULL.
struct channel_msg *channel_read_untake(struct kobject *ch, struct channel_msg *msg);

// The message's bytes (num_bytes of them) and handles in transit.
const void *channel_msg_bytes(const struct channel_msg *msg);
const struct msg_handle *channel_msg_handles(const struct channel_msg *msg);

// Frees a message; its handles must have been moved out (installed) already when
// `handles_moved`, else they are dropped with it.
void channel_msg_free(struct channel_msg *msg, bool handles_moved);

// Kernel-buffer read: take + copy bytes and handles (in transit, now the caller's) + free.
zx_status_t channel_read(struct kobject *ch, uint32_t options, void *bytes, uint32_t bytes_cap,
                         struct msg_handle *handles, uint32_t handles_cap, uint32_t *actual_bytes,
                         uint32_t *actual_handles);

// zx_channel_call: writes bytes (num_bytes >= 4; the kernel puts a fresh txid in the first four
// bytes) with the handles in transit to ch's peer, then blocks until the reply with that txid
// arrives (delivered to this call instead of the queue), the deadline passes or the thread is
// killed. *sent tells whether the message (and with it the handles) went out; if not, the
// handles stay the caller's. On ZX_OK *reply is the caller's. ZX_ERR_INVALID_ARGS (fewer than 4
// bytes), ZX_ERR_OUT_OF_RANGE, ZX_ERR_NOT_SUPPORTED, ZX_ERR_NO_MEMORY, ZX_ERR_PEER_CLOSED
// (before sending, or either endpoint closed while waiting), ZX_ERR_TIMED_OUT,
// ZX_ERR_INTERNAL_INTR_KILLED.
zx_status_t channel_call(struct kobject *ch, void *bytes, uint32_t num_bytes,
                         const struct msg_handle *handles, uint32_t num_handles,
                         zx_time_t deadline, bool *sent, struct channel_msg **reply);
uint32_t channel_msg_num_bytes(const struct channel_msg *msg);
uint32_t channel_msg_num_handles(const struct channel_msg *msg);
