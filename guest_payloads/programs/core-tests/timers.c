// Timers: zx_timer_create/_set/_cancel, ZX_TIMER_SIGNALED, slack windows, ZX_INFO_TIMER.
#include <ktap.h>
#include <string.h>
#include <zircon/syscalls/port.h>

#include "child.h"

// Under TCG on a loaded machine a tick can come late: upper bounds get this much leeway.
#define LATE_LEEWAY ZX_MSEC(200)

KTAP_CASE(timer_create_rights_and_errors) {
    zx_handle_t timer;
    KTAP_ASSERT_OK(zx_timer_create(ZX_TIMER_SLACK_CENTER, ZX_CLOCK_MONOTONIC, &timer));
    KTAP_EXPECT_EQ(rights_of(timer), ZX_DEFAULT_TIMER_RIGHTS);
    zx_info_handle_basic_t info;
    KTAP_EXPECT_OK(
        zx_object_get_info(timer, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL));
    KTAP_EXPECT_EQ(info.type, ZX_OBJ_TYPE_TIMER);
    KTAP_EXPECT_STATUS(wait_ms(timer, ZX_TIMER_SIGNALED, 0), ZX_ERR_TIMED_OUT);
    zx_handle_close(timer);
    KTAP_EXPECT_OK(zx_timer_create(ZX_TIMER_SLACK_EARLY, ZX_CLOCK_MONOTONIC, &timer));
    zx_handle_close(timer);
    KTAP_EXPECT_OK(zx_timer_create(ZX_TIMER_SLACK_LATE, ZX_CLOCK_MONOTONIC, &timer));
    zx_handle_close(timer);
    KTAP_EXPECT_STATUS(zx_timer_create(3, ZX_CLOCK_MONOTONIC, &timer), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_timer_create(0, 1, &timer), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_STATUS(zx_timer_create(0, ZX_CLOCK_MONOTONIC, NULL), ZX_ERR_INVALID_ARGS);
}

KTAP_CASE(timer_set_fires_cancel_clears) {
    zx_handle_t timer;
    KTAP_ASSERT_OK(zx_timer_create(0, ZX_CLOCK_MONOTONIC, &timer));
    KTAP_EXPECT_OK(zx_timer_cancel(timer));  // before any set: no effect
    zx_time_t deadline = zx_deadline_after(ZX_MSEC(4));
    KTAP_EXPECT_OK(zx_timer_set(timer, deadline, 0));
    KTAP_EXPECT_OK(zx_object_wait_one(timer, ZX_TIMER_SIGNALED, zx_deadline_after(ZX_SEC(5)),
                                      NULL));
    KTAP_EXPECT_TRUE(zx_clock_get_monotonic() >= deadline);  // no slack: never early
    // Stays asserted until cancelled or set again.
    KTAP_EXPECT_OK(wait_ms(timer, ZX_TIMER_SIGNALED, 0));
    KTAP_EXPECT_OK(zx_timer_cancel(timer));
    KTAP_EXPECT_STATUS(wait_ms(timer, ZX_TIMER_SIGNALED, 0), ZX_ERR_TIMED_OUT);
    // A deadline at or before 0 (or past) fires at once.
    KTAP_EXPECT_OK(zx_timer_set(timer, 0, 0));
    KTAP_EXPECT_OK(wait_ms(timer, ZX_TIMER_SIGNALED, 0));
    // Setting again de-asserts; cancelling a pending timer stops it.
    KTAP_EXPECT_OK(zx_timer_set(timer, zx_deadline_after(ZX_SEC(1)), 0));  // far enough
    KTAP_EXPECT_STATUS(wait_ms(timer, ZX_TIMER_SIGNALED, 0), ZX_ERR_TIMED_OUT);  // even loaded
    KTAP_EXPECT_OK(zx_timer_cancel(timer));
    KTAP_EXPECT_STATUS(wait_ms(timer, ZX_TIMER_SIGNALED, 10), ZX_ERR_TIMED_OUT);
    // ZX_TIME_INFINITE never fires.
    KTAP_EXPECT_OK(zx_timer_set(timer, ZX_TIME_INFINITE, 0));
    KTAP_EXPECT_STATUS(wait_ms(timer, ZX_TIMER_SIGNALED, 3), ZX_ERR_TIMED_OUT);
    zx_handle_close(timer);
}

KTAP_CASE(timer_errors_and_rights) {
    zx_handle_t timer;
    zx_handle_t event;
    zx_handle_t ro;
    KTAP_ASSERT_OK(zx_timer_create(0, ZX_CLOCK_MONOTONIC, &timer));
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_STATUS(zx_timer_set(timer, 0, -1), ZX_ERR_OUT_OF_RANGE);
    KTAP_EXPECT_STATUS(zx_timer_set(event, 0, 0), ZX_ERR_WRONG_TYPE);
    KTAP_EXPECT_STATUS(zx_timer_cancel(event), ZX_ERR_WRONG_TYPE);
    KTAP_EXPECT_STATUS(zx_timer_set(ZX_HANDLE_INVALID, 0, 0), ZX_ERR_BAD_HANDLE);
    KTAP_EXPECT_STATUS(zx_timer_cancel(ZX_HANDLE_INVALID), ZX_ERR_BAD_HANDLE);
    KTAP_ASSERT_OK(zx_handle_duplicate(timer, ZX_RIGHT_WAIT, &ro));
    KTAP_EXPECT_STATUS(zx_timer_set(ro, 0, 0), ZX_ERR_ACCESS_DENIED);
    KTAP_EXPECT_STATUS(zx_timer_cancel(ro), ZX_ERR_ACCESS_DENIED);
    // User signals may be set on a timer, ZX_TIMER_SIGNALED may not.
    KTAP_EXPECT_OK(zx_object_signal(timer, 0, ZX_USER_SIGNAL_0));
    KTAP_EXPECT_STATUS(zx_object_signal(timer, 0, ZX_TIMER_SIGNALED), ZX_ERR_INVALID_ARGS);
    zx_handle_close(ro);
    zx_handle_close(event);
    zx_handle_close(timer);
}

// Arms a timer with `option` for `deadline` +- `slack` and returns the time it fired (the
// timestamp of a port packet, taken in the tick that fired it).
static zx_status_t fire_time(uint32_t option, zx_time_t deadline, zx_duration_t slack,
                             zx_time_t *fired) {
    zx_handle_t port;
    zx_handle_t timer;
    zx_port_packet_t pkt;
    zx_status_t status = zx_port_create(0, &port);
    if (status != ZX_OK) {
        return status;
    }
    status = zx_timer_create(option, ZX_CLOCK_MONOTONIC, &timer);
    if (status == ZX_OK) {
        status = zx_object_wait_async(timer, port, 0, ZX_TIMER_SIGNALED, ZX_WAIT_ASYNC_TIMESTAMP);
        if (status == ZX_OK) {
            status = zx_timer_set(timer, deadline, slack);
        }
        if (status == ZX_OK) {
            status = zx_port_wait(port, zx_deadline_after(ZX_SEC(5)), &pkt);
            *fired = (zx_time_t)pkt.signal.timestamp;
        }
        zx_handle_close(timer);
    }
    zx_handle_close(port);
    return status;
}

KTAP_CASE(timer_slack_windows) {
    zx_time_t fired = 0;
    zx_duration_t slack = ZX_MSEC(5);
    // EARLY: within [deadline - slack, deadline] (a tick falls in a 5 ms window).
    zx_time_t deadline = zx_deadline_after(ZX_MSEC(20));
    KTAP_ASSERT_OK(fire_time(ZX_TIMER_SLACK_EARLY, deadline, slack, &fired));
    KTAP_EXPECT_TRUE(fired >= deadline - slack);
    KTAP_EXPECT_TRUE(fired <= deadline + LATE_LEEWAY);
    // LATE: within [deadline, deadline + slack].
    deadline = zx_deadline_after(ZX_MSEC(20));
    KTAP_ASSERT_OK(fire_time(ZX_TIMER_SLACK_LATE, deadline, slack, &fired));
    KTAP_EXPECT_TRUE(fired >= deadline);
    KTAP_EXPECT_TRUE(fired <= deadline + slack + LATE_LEEWAY);
    // CENTER: within [deadline - slack, deadline + slack].
    deadline = zx_deadline_after(ZX_MSEC(20));
    KTAP_ASSERT_OK(fire_time(ZX_TIMER_SLACK_CENTER, deadline, slack, &fired));
    KTAP_EXPECT_TRUE(fired >= deadline - slack);
    KTAP_EXPECT_TRUE(fired <= deadline + slack + LATE_LEEWAY);
    // No slack: never before the deadline.
    deadline = zx_deadline_after(ZX_MSEC(7));
    KTAP_ASSERT_OK(fire_time(ZX_TIMER_SLACK_CENTER, deadline, 0, &fired));
    KTAP_EXPECT_TRUE(fired >= deadline);
}

KTAP_CASE(timer_info_and_last_handle) {
    zx_handle_t timer;
    zx_info_timer_t info;
    KTAP_ASSERT_OK(zx_timer_create(ZX_TIMER_SLACK_LATE, ZX_CLOCK_MONOTONIC, &timer));
    zx_time_t deadline = zx_deadline_after(ZX_SEC(60));
    KTAP_EXPECT_OK(zx_timer_set(timer, deadline, ZX_MSEC(2)));
    KTAP_EXPECT_OK(zx_object_get_info(timer, ZX_INFO_TIMER, &info, sizeof(info), NULL, NULL));
    KTAP_EXPECT_EQ(info.options, ZX_TIMER_SLACK_LATE);
    KTAP_EXPECT_EQ(info.deadline, deadline);
    KTAP_EXPECT_EQ(info.slack, ZX_MSEC(2));
    KTAP_EXPECT_OK(zx_timer_cancel(timer));
    KTAP_EXPECT_OK(zx_object_get_info(timer, ZX_INFO_TIMER, &info, sizeof(info), NULL, NULL));
    KTAP_EXPECT_EQ(info.deadline, 0);
    // Closing the last handle of an armed timer disarms it (the tick must not touch it).
    KTAP_EXPECT_OK(zx_timer_set(timer, zx_deadline_after(ZX_MSEC(2)), 0));
    KTAP_EXPECT_OK(zx_handle_close(timer));
    zx_nanosleep(zx_deadline_after(ZX_MSEC(5)));
    zx_handle_t event;
    KTAP_EXPECT_STATUS(zx_object_get_info(ZX_HANDLE_INVALID, ZX_INFO_TIMER, &info, sizeof(info),
                                          NULL, NULL),
                       ZX_ERR_BAD_HANDLE);
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    KTAP_EXPECT_STATUS(
        zx_object_get_info(event, ZX_INFO_TIMER, &info, sizeof(info), NULL, NULL),
        ZX_ERR_WRONG_TYPE);
    zx_handle_close(event);
}
