// Sockets (kernel/object/socket.c): two endpoints, each with a bounded receive buffer that
// the other endpoint's writes fill.
//
//   endpoint A --write--> [B's ring: SOCKET_BUF_SIZE bytes] --read--> endpoint B  (and B -> A)
//   ZX_SOCKET_STREAM:   bytes; writes and reads may be short
//   ZX_SOCKET_DATAGRAM: whole messages (lengths kept beside the ring, at most
//                       SOCKET_MAX_DATAGRAMS queued); a read returns one, truncated to the
//                       buffer (the rest is discarded)
//
// Back-pressure: a write into a full buffer is ZX_ERR_SHOULD_WAIT and WRITABLE is clear until
// a read makes room. Signals are recomputed from the state after every change of either
// endpoint: READABLE (data queued), WRITABLE (peer alive, writes enabled, room in the peer's
// buffer), PEER_CLOSED, WRITE_DISABLED / PEER_WRITE_DISABLED (zx_socket_set_disposition).
//
// The user copies happen inside the socket's lock straight to/from the ring, and the state
// only changes once every copy succeeded, so a bad buffer leaves the socket untouched.
// Lock rule: both endpoints share one mutex (LOCK_RANK_SOCKET, before the handle table and
// the aspace, which the user copies take).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <kernel/object.h>
#include <zircon/types.h>

#define SOCKET_BUF_SIZE 16384u
#define SOCKET_MAX_DATAGRAMS 256u

// ZX_ERR_INVALID_ARGS for unknown options, ZX_ERR_NO_MEMORY.
zx_status_t socket_create(uint32_t options, struct kobject **out0, struct kobject **out1);
// zx_socket_write / zx_socket_read / zx_socket_set_disposition on an endpoint, with user
// addresses (`uactual`: 0 when not wanted).
zx_status_t socket_write(struct kobject *obj, uint32_t options, uintptr_t ubuf, size_t size,
                         uintptr_t uactual);
zx_status_t socket_read(struct kobject *obj, uint32_t options, uintptr_t ubuf, size_t size,
                        uintptr_t uactual);
zx_status_t socket_set_disposition(struct kobject *obj, uint32_t disposition,
                                   uint32_t disposition_peer);
