// Timer objects (kernel/object/timer.c): zx_timer_create / _set / _cancel, ZX_INFO_TIMER.
//
// A timer is a kobject with a kernel timer (include/kernel/timer.h). zx_timer_set arms it for
// the slack window its ZX_TIMER_SLACK_* option allows around the deadline (CENTER: deadline
// +- slack; EARLY: deadline - slack .. deadline; LATE: deadline .. deadline + slack) and clears
// ZX_TIMER_SIGNALED; when it fires (from the tick, thread lock held) it asserts
// ZX_TIMER_SIGNALED. A deadline already reached fires it at once. zx_timer_cancel and the last
// handle disarm it.
//
// Lock rule: the timer's state is guarded by the thread lock, like the ktimer list; no mutex.
#pragma once

#include <stdint.h>

#include <kernel/object.h>
#include <zircon/types.h>

// A new timer; ZX_ERR_INVALID_ARGS for options other than ZX_TIMER_SLACK_* or a clock other
// than ZX_CLOCK_MONOTONIC; ZX_ERR_NO_MEMORY. *out holds the creator's reference.
zx_status_t timer_create(uint32_t options, zx_clock_t clock_id, struct kobject **out);

// zx_timer_set (slack >= 0, checked by the caller).
void timer_set(struct kobject *timer, zx_time_t deadline, zx_duration_t slack);

// zx_timer_cancel: disarms and clears ZX_TIMER_SIGNALED.
void timer_cancel(struct kobject *timer);
