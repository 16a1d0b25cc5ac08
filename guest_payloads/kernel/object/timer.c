// Timer objects (include/kernel/timer_object.h).
//
//   zx_timer_set:    [thread lock] disarm, clear SIGNALED, window from options and slack,
//                    ktimer_arm (fires at once when already due)
//   tick:            [thread lock] timer_fire -> kobject_signal(SIGNALED): waiters wake, port
//                    observers queue their packets; nothing allocated, no mutex
//   last handle:     disarm (Zircon's on_zero_handles cancels the timer)
#include <kernel/timer_object.h>

#include <kernel/arch.h>
#include <kernel/thread.h>
#include <kernel/heap.h>
#include <kernel/timer.h>
#include <lib/string.h>
#include <zircon/syscalls/object.h>

struct timer {
    struct kobject obj;  // type ZX_OBJ_TYPE_TIMER
    uint32_t options;    // ZX_TIMER_SLACK_*
    struct ktimer kt;
    zx_time_t deadline;  // of the pending set, 0 if none (ZX_INFO_TIMER)
    zx_duration_t slack;
};

static struct timer *to_timer(struct kobject *obj) {
    return (struct timer *)obj;
}

// ktimer callback: thread lock held, maybe in the tick interrupt.
static void timer_fire(struct ktimer *kt) {
    struct timer *t = (struct timer *)((char *)kt - __builtin_offsetof(struct timer, kt));
    t->deadline = 0;
    t->slack = 0;
    kobject_signal(&t->obj, 0, ZX_TIMER_SIGNALED);
}

static void timer_disarm(struct timer *t) {
    arch_irq_state_t irq = thread_lock_irqsave();
    ktimer_disarm(&t->kt);
    t->deadline = 0;
    t->slack = 0;
    thread_unlock_irqrestore(irq);
}

static void timer_destroy(struct kobject *obj) {
    struct timer *t = to_timer(obj);
    timer_disarm(t);
    kfree(t);
}

static void timer_on_last_handle(struct kobject *obj) {
    timer_disarm(to_timer(obj));
}

static zx_status_t timer_get_info(struct kobject *obj, uint32_t topic, void *kbuf, size_t len,
                                  size_t *actual) {
    if (topic != ZX_INFO_TIMER) {
        return ZX_ERR_WRONG_TYPE;
    }
    if (len < sizeof(zx_info_timer_t)) {
        return ZX_ERR_BUFFER_TOO_SMALL;
    }
    struct timer *t = to_timer(obj);
    zx_info_timer_t info;
    memset(&info, 0, sizeof(info));
    arch_irq_state_t irq = thread_lock_irqsave();
    info.options = t->options;
    info.deadline = t->deadline;
    info.slack = t->slack;
    thread_unlock_irqrestore(irq);
    memcpy(kbuf, &info, sizeof(info));
    *actual = sizeof(info);
    return ZX_OK;
}

static const struct kobject_ops timer_ops = {
    .type_name = "timer",
    .default_rights = ZX_DEFAULT_TIMER_RIGHTS,
    .destroy = timer_destroy,
    .on_last_handle = timer_on_last_handle,
    .get_info = timer_get_info,
};

zx_status_t timer_create(uint32_t options, zx_clock_t clock_id, struct kobject **out) {
    if (clock_id != ZX_CLOCK_MONOTONIC || options > ZX_TIMER_SLACK_LATE) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct timer *t = kzalloc(sizeof(*t));
    if (t == NULL) {
        return ZX_ERR_NO_MEMORY;
    }
    kobject_init(&t->obj, ZX_OBJ_TYPE_TIMER, &timer_ops);
    t->options = options;
    t->kt.fire = timer_fire;
    *out = &t->obj;
    return ZX_OK;
}

static uint64_t sat_sub(uint64_t a, uint64_t b) {
    return a > b ? a - b : 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b) {
    return a + b < a ? UINT64_MAX : a + b;
}

void timer_set(struct kobject *obj, zx_time_t deadline, zx_duration_t slack) {
    struct timer *t = to_timer(obj);
    uint64_t d = deadline <= 0 ? 0 : (uint64_t)deadline;
    if (deadline == ZX_TIME_INFINITE) {
        d = UINT64_MAX;  // never fires
    }
    uint64_t s = (uint64_t)slack;
    uint64_t earliest = t->options == ZX_TIMER_SLACK_LATE ? d : sat_sub(d, s);
    uint64_t latest = t->options == ZX_TIMER_SLACK_EARLY ? d : sat_add(d, s);
    arch_irq_state_t irq = thread_lock_irqsave();
    ktimer_disarm(&t->kt);
    kobject_signal(obj, ZX_TIMER_SIGNALED, 0);
    t->deadline = deadline;
    t->slack = slack;
    ktimer_arm(&t->kt, earliest, d, latest, current_time());
    thread_unlock_irqrestore(irq);
}

void timer_cancel(struct kobject *obj) {
    struct timer *t = to_timer(obj);
    arch_irq_state_t irq = thread_lock_irqsave();
    ktimer_disarm(&t->kt);
    t->deadline = 0;
    t->slack = 0;
    kobject_signal(obj, ZX_TIMER_SIGNALED, 0);
    thread_unlock_irqrestore(irq);
}
