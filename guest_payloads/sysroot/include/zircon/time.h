// Zircon time types, as Zircon's <zircon/time.h>: signed 64-bit nanoseconds (ticks for
// zx_ticks_t), saturating at ZX_TIME_INFINITE / ZX_TIME_INFINITE_PAST.
#pragma once

#include <stdint.h>

typedef int64_t zx_time_t;      // absolute time, normally on ZX_CLOCK_MONOTONIC
typedef int64_t zx_duration_t;  // nanoseconds
typedef int64_t zx_ticks_t;     // hardware ticks

#define ZX_TIME_INFINITE INT64_MAX
#define ZX_TIME_INFINITE_PAST INT64_MIN

// Durations from constant amounts of a unit.
#define ZX_NSEC(n) ((zx_duration_t)(1LL * (n)))
#define ZX_USEC(n) ((zx_duration_t)(1000LL * (n)))
#define ZX_MSEC(n) ((zx_duration_t)(1000000LL * (n)))
#define ZX_SEC(n) ((zx_duration_t)(1000000000LL * (n)))
#define ZX_MIN(n) ((zx_duration_t)(60LL * 1000000000LL * (n)))
#define ZX_HOUR(n) ((zx_duration_t)(3600LL * 1000000000LL * (n)))

// time + duration, clamped to ZX_TIME_INFINITE / ZX_TIME_INFINITE_PAST on overflow.
static inline zx_time_t zx_time_add_duration(zx_time_t time, zx_duration_t duration) {
    zx_time_t sum;
    if (__builtin_add_overflow(time, duration, &sum)) {
        return duration > 0 ? ZX_TIME_INFINITE : ZX_TIME_INFINITE_PAST;
    }
    return sum;
}
