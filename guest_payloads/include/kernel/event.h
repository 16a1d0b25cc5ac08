// Events and event pairs (kernel/object/event.c, kernel/object/eventpair.c).
//
// An event is a bare signal holder: zx_object_signal may set/clear ZX_EVENT_SIGNALED and the
// user signals. An event pair is two such objects, each the other's peer: zx_object_signal_peer
// changes the peer's signals, and when the last handle to one side goes the other side gets
// ZX_EVENTPAIR_PEER_CLOSED (and signalling the peer then fails with ZX_ERR_PEER_CLOSED).
// The two sides keep each other alive until one loses its last handle, so both must be put in
// handle tables (a pair that never gets handles is never freed).
#pragma once

#include <stdint.h>

#include <kernel/object.h>
#include <zircon/types.h>

// A new event; *out holds the creator's reference. ZX_ERR_INVALID_ARGS for non-zero options.
zx_status_t event_create(uint32_t options, struct kobject **out);

// A new event pair; *out0 and *out1 hold the creator's references.
zx_status_t eventpair_create(uint32_t options, struct kobject **out0, struct kobject **out1);
