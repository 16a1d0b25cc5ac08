// KTAP self-test cases for kernel objects, handles, IPC and jobs (selftest_objects_suite,
// listed in kernel/selftest.c). Every case works on kernel objects and handle tables of its
// own, without processes, and checks that the objects it made are all freed at the end.
#include <kernel/channel.h>
#include <kernel/event.h>
#include <kernel/handle.h>
#include <kernel/job.h>
#include <kernel/object.h>
#include <kernel/pmm.h>
#include <kernel/process.h>
#include <kernel/selftest.h>
#include <kernel/thread.h>
#include <kernel/timer.h>
#include <kernel/usercopy.h>
#include <kernel/vm.h>
#include <kernel/wait.h>
#include <lib/string.h>
#include <syscall-kernel.h>
#include <zircon/syscalls/object.h>

#define check SELFTEST_CHECK
#define diag SELFTEST_DIAG

static zx_time_t now_plus(zx_duration_t ns) {
    return (zx_time_t)current_time() + ns;
}

// A new event and a handle to it in `ht` (the handle holds the only reference).
static zx_handle_t new_event_handle(struct handle_table *ht, zx_rights_t rights) {
    struct kobject *ev;
    zx_handle_t h = ZX_HANDLE_INVALID;
    if (event_create(0, &ev) == ZX_OK) {
        if (handle_table_add(ht, ev, rights, &h) != ZX_OK) {
            h = ZX_HANDLE_INVALID;
        }
        kobject_unref(ev);
    }
    return h;
}

static bool test_koids_unique_increasing(void) {
    size_t live = kobject_live_count();
    struct kobject *objs[4];
    for (int i = 0; i < 4; i++) {
        check(event_create(0, &objs[i]) == ZX_OK);
    }
    diag("koids %llu %llu %llu %llu", (unsigned long long)objs[0]->koid,
         (unsigned long long)objs[1]->koid, (unsigned long long)objs[2]->koid,
         (unsigned long long)objs[3]->koid);
    check(objs[0]->koid >= ZX_KOID_FIRST);
    for (int i = 1; i < 4; i++) {
        check(objs[i]->koid > objs[i - 1]->koid);
    }
    zx_koid_t last = objs[3]->koid;
    for (int i = 0; i < 4; i++) {
        kobject_unref(objs[i]);
    }
    struct kobject *again;
    check(event_create(0, &again) == ZX_OK);
    check(again->koid > last);  // freed koids are never handed out again
    kobject_unref(again);
    check(kobject_live_count() == live);
    return true;
}

static int destroyed;
static void counting_destroy(struct kobject *obj) {
    (void)obj;
    destroyed++;
}
static const struct kobject_ops counting_ops = {.type_name = "test", .destroy = counting_destroy};

static bool test_kobject_refcount_destroy(void) {
    static struct kobject obj;  // static: still readable after destroy
    destroyed = 0;
    kobject_init(&obj, ZX_OBJ_TYPE_EVENT, &counting_ops);
    check(obj.magic == KOBJECT_MAGIC && obj.refcount == 1);
    kobject_ref(&obj);
    kobject_unref(&obj);
    check(destroyed == 0 && kobject_live(&obj));
    kobject_unref(&obj);
    check(destroyed == 1);
    check(obj.magic == 0 && !kobject_live(&obj));
    return true;
}

static bool test_handle_values(void) {
    size_t live = kobject_live_count();
    struct handle_table a, b;
    handle_table_init(&a, NULL);
    handle_table_init(&b, NULL);
    zx_handle_t ha[3];
    for (int i = 0; i < 3; i++) {
        ha[i] = new_event_handle(&a, ZX_DEFAULT_EVENT_RIGHTS);
        check(ha[i] != ZX_HANDLE_INVALID);
        check((ha[i] & ZX_HANDLE_FIXED_BITS_MASK) == ZX_HANDLE_FIXED_BITS_MASK);
        check(ha[i] > 3);  // not a raw index 0..2
    }
    zx_handle_t hb = new_event_handle(&b, ZX_DEFAULT_EVENT_RIGHTS);
    diag("table a: 0x%x 0x%x 0x%x, table b: 0x%x", ha[0], ha[1], ha[2], hb);
    check(hb != ha[0]);  // per-table salt
    check(ha[0] != ha[1] && ha[1] != ha[2]);

    struct kobject *obj;
    check(handle_table_get(&a, ZX_HANDLE_INVALID, ZX_OBJ_TYPE_NONE, 0, &obj) == ZX_ERR_BAD_HANDLE);
    check(handle_table_get(&a, hb, ZX_OBJ_TYPE_NONE, 0, &obj) == ZX_ERR_BAD_HANDLE);
    check(handle_table_get(&a, ha[0], ZX_OBJ_TYPE_CHANNEL, 0, &obj) == ZX_ERR_WRONG_TYPE);
    check(handle_table_get(&a, ha[0], ZX_OBJ_TYPE_EVENT, ZX_RIGHT_WRITE, &obj) ==
          ZX_ERR_ACCESS_DENIED);
    check(handle_table_get(&a, ha[0], ZX_OBJ_TYPE_EVENT, ZX_RIGHT_SIGNAL, &obj) == ZX_OK);
    kobject_unref(obj);

    // A closed handle goes stale, even once its slot is reused.
    check(handle_table_close(&a, ha[1]) == ZX_OK);
    check(handle_table_close(&a, ha[1]) == ZX_ERR_BAD_HANDLE);
    zx_handle_t reused = new_event_handle(&a, ZX_DEFAULT_EVENT_RIGHTS);
    check(reused != ZX_HANDLE_INVALID && reused != ha[1]);
    check(handle_table_get(&a, ha[1], ZX_OBJ_TYPE_NONE, 0, &obj) == ZX_ERR_BAD_HANDLE);
    check(handle_table_count(&a) == 3);

    // Growing the table keeps every handle valid.
    zx_handle_t many[40];
    for (int i = 0; i < 40; i++) {
        many[i] = new_event_handle(&a, ZX_DEFAULT_EVENT_RIGHTS);
        check(many[i] != ZX_HANDLE_INVALID);
    }
    for (int i = 0; i < 40; i++) {
        check(handle_table_get(&a, many[i], ZX_OBJ_TYPE_EVENT, 0, &obj) == ZX_OK);
        kobject_unref(obj);
    }
    check(handle_table_get(&a, ha[2], ZX_OBJ_TYPE_EVENT, 0, &obj) == ZX_OK);
    kobject_unref(obj);
    handle_table_destroy(&a);
    handle_table_destroy(&b);
    check(kobject_live_count() == live);
    return true;
}

// A channel pair with one handle each in `ht`.
static bool make_channel(struct handle_table *ht, zx_handle_t *h0, zx_handle_t *h1,
                         struct kobject **c0, struct kobject **c1) {
    if (channel_create(0, c0, c1) != ZX_OK) {
        return false;
    }
    bool ok = handle_table_add(ht, *c0, ZX_DEFAULT_CHANNEL_RIGHTS, h0) == ZX_OK &&
              handle_table_add(ht, *c1, ZX_DEFAULT_CHANNEL_RIGHTS, h1) == ZX_OK;
    kobject_unref(*c0);  // the handles keep them alive
    kobject_unref(*c1);
    return ok;
}

// What most cases start from: the live-object count to come back to and an empty handle
// table; fixture_channel adds a channel with one handle to each end in it.
struct fixture {
    size_t live;
    struct handle_table ht;
    zx_handle_t h0, h1;       // fixture_channel: the endpoints' handles in ht
    struct kobject *c0, *c1;  // and the endpoints (the handles hold them)
};

static void fixture_init(struct fixture *f) {
    f->live = kobject_live_count();
    handle_table_init(&f->ht, NULL);
}

static bool fixture_channel(struct fixture *f) {
    fixture_init(f);
    return make_channel(&f->ht, &f->h0, &f->h1, &f->c0, &f->c1);
}

// Destroys the table; true if every object the case made is freed.
static bool fixture_done(struct fixture *f) {
    handle_table_destroy(&f->ht);
    return kobject_live_count() == f->live;
}

static bool test_rights_shrink_only(void) {
    struct fixture f;
    fixture_init(&f);
    zx_handle_t h = new_event_handle(&f.ht, ZX_DEFAULT_EVENT_RIGHTS);
    check(h != ZX_HANDLE_INVALID);
    struct kobject *obj;
    zx_rights_t rights;
    zx_handle_t same, fewer, none;
    check(handle_table_duplicate(&f.ht, h, ZX_RIGHT_SAME_RIGHTS, &same) == ZX_OK);
    check(handle_table_get_rights(&f.ht, same, ZX_OBJ_TYPE_EVENT, 0, &obj, &rights) == ZX_OK);
    check(rights == ZX_DEFAULT_EVENT_RIGHTS);
    kobject_unref(obj);
    check(handle_table_duplicate(&f.ht, h, ZX_RIGHT_WAIT | ZX_RIGHT_DUPLICATE, &fewer) == ZX_OK);
    // More rights than the handle has: refused, from any handle.
    check(handle_table_duplicate(&f.ht, fewer, ZX_RIGHT_WAIT | ZX_RIGHT_DUPLICATE | ZX_RIGHT_SIGNAL,
                                 &none) == ZX_ERR_INVALID_ARGS);
    check(handle_table_duplicate(&f.ht, h, ZX_DEFAULT_EVENT_RIGHTS | ZX_RIGHT_WRITE, &none) ==
          ZX_ERR_INVALID_ARGS);
    // Without ZX_RIGHT_DUPLICATE no duplicate at all.
    zx_handle_t nodup;
    check(handle_table_replace(&f.ht, fewer, ZX_RIGHT_WAIT, &nodup) == ZX_OK);
    check(handle_table_get(&f.ht, fewer, ZX_OBJ_TYPE_NONE, 0, &obj) == ZX_ERR_BAD_HANDLE);
    check(handle_table_duplicate(&f.ht, nodup, ZX_RIGHT_WAIT, &none) == ZX_ERR_ACCESS_DENIED);
    // Replace asking for more fails and still invalidates the handle.
    check(handle_table_replace(&f.ht, nodup, ZX_RIGHT_WAIT | ZX_RIGHT_SIGNAL, &none) ==
          ZX_ERR_INVALID_ARGS);
    check(handle_table_get(&f.ht, nodup, ZX_OBJ_TYPE_NONE, 0, &obj) == ZX_ERR_BAD_HANDLE);
    check(handle_table_count(&f.ht) == 2);
    check(fixture_done(&f));
    return true;
}

static bool test_channel_round_trip(void) {
    struct fixture f;
    check(fixture_channel(&f));
    check(kobject_signals(f.c0) == ZX_CHANNEL_WRITABLE);
    zx_handle_t ev = new_event_handle(&f.ht, ZX_RIGHT_TRANSFER | ZX_RIGHT_WAIT | ZX_RIGHT_SIGNAL);
    struct kobject *ev_obj;
    check(handle_table_get(&f.ht, ev, ZX_OBJ_TYPE_EVENT, 0, &ev_obj) == ZX_OK);

    struct msg_handle out;
    check(handle_table_take(&f.ht, ev, ZX_RIGHT_TRANSFER, &out.obj, &out.rights) == ZX_OK);
    static const char text[] = "hello, channel";
    check(channel_write(f.c0, text, sizeof(text), &out, 1) == ZX_OK);
    check(handle_table_get(&f.ht, ev, ZX_OBJ_TYPE_NONE, 0, &ev_obj) == ZX_ERR_BAD_HANDLE);
    check((kobject_signals(f.c1) & ZX_CHANNEL_READABLE) != 0);
    check((kobject_signals(f.c0) & ZX_CHANNEL_READABLE) == 0);

    char buf[64];
    struct msg_handle in[2];
    uint32_t nb = 0, nh = 0;
    check(channel_read(f.c1, 0, buf, sizeof(buf), in, 2, &nb, &nh) == ZX_OK);
    check(nb == sizeof(text) && nh == 1 && memcmp(buf, text, sizeof(text)) == 0);
    check(in[0].obj == ev_obj && in[0].rights == out.rights);
    check((kobject_signals(f.c1) & ZX_CHANNEL_READABLE) == 0);
    zx_handle_t ev2;
    check(handle_table_install(&f.ht, in[0].obj, in[0].rights, &ev2) == ZX_OK);
    struct kobject *again;
    check(handle_table_get(&f.ht, ev2, ZX_OBJ_TYPE_EVENT, ZX_RIGHT_SIGNAL, &again) == ZX_OK);
    check(again == ev_obj && again->handle_count == 1);
    kobject_unref(again);
    kobject_unref(ev_obj);
    check(channel_read(f.c1, 0, buf, sizeof(buf), in, 2, &nb, &nh) == ZX_ERR_SHOULD_WAIT);

    // Limits, and a channel may not carry its own handle.
    check(channel_write(f.c0, buf, ZX_CHANNEL_MAX_MSG_BYTES + 1, NULL, 0) == ZX_ERR_OUT_OF_RANGE);
    struct msg_handle self = {f.c0, ZX_DEFAULT_CHANNEL_RIGHTS};
    check(channel_write(f.c0, buf, 1, &self, 1) == ZX_ERR_NOT_SUPPORTED);
    check(fixture_done(&f));
    return true;
}

static bool test_channel_peer_closed(void) {
    struct fixture f;
    check(fixture_channel(&f));
    check(channel_write(f.c0, "x", 1, NULL, 0) == ZX_OK);
    kobject_ref(f.c1);
    check(handle_table_close(&f.ht, f.h0) == ZX_OK);
    zx_signals_t s = kobject_signals(f.c1);
    diag("survivor signals 0x%x", s);
    check((s & ZX_CHANNEL_PEER_CLOSED) != 0 && (s & ZX_CHANNEL_WRITABLE) == 0);
    check((s & ZX_CHANNEL_READABLE) != 0);
    check(channel_write(f.c1, "y", 1, NULL, 0) == ZX_ERR_PEER_CLOSED);
    char buf[4];
    uint32_t nb, nh;
    check(channel_read(f.c1, 0, buf, sizeof(buf), NULL, 0, &nb, &nh) == ZX_OK && nb == 1);
    check(channel_read(f.c1, 0, buf, sizeof(buf), NULL, 0, &nb, &nh) == ZX_ERR_PEER_CLOSED);
    check(object_signal_peer(f.c1, 0, ZX_USER_SIGNAL_0) == ZX_ERR_PEER_CLOSED);
    kobject_unref(f.c1);
    check(fixture_done(&f));
    return true;
}

static bool test_channel_buffer_too_small(void) {
    struct fixture f;
    check(fixture_channel(&f));
    zx_handle_t ev = new_event_handle(&f.ht, ZX_DEFAULT_EVENT_RIGHTS);
    struct kobject *ev_obj;
    check(handle_table_get(&f.ht, ev, ZX_OBJ_TYPE_EVENT, 0, &ev_obj) == ZX_OK);
    struct msg_handle mh;
    check(handle_table_take(&f.ht, ev, ZX_RIGHT_TRANSFER, &mh.obj, &mh.rights) == ZX_OK);
    uint8_t big[100];
    memset(big, 0x5a, sizeof(big));
    check(channel_write(f.c0, big, sizeof(big), &mh, 1) == ZX_OK);
    uint8_t small[10];
    struct msg_handle in[1];
    uint32_t nb = 0, nh = 0;
    check(channel_read(f.c1, 0, small, sizeof(small), in, 1, &nb, &nh) == ZX_ERR_BUFFER_TOO_SMALL);
    check(nb == sizeof(big) && nh == 1);
    nb = nh = 0;
    check(channel_read(f.c1, 0, big, sizeof(big), in, 0, &nb, &nh) == ZX_ERR_BUFFER_TOO_SMALL);
    check(nb == sizeof(big) && nh == 1);
    check((kobject_signals(f.c1) & ZX_CHANNEL_READABLE) != 0);  // still queued
    check(ev_obj->handle_count == 1);                           // in transit
    check(channel_read(f.c1, ZX_CHANNEL_READ_MAY_DISCARD, small, sizeof(small), in, 1, &nb, &nh) ==
          ZX_ERR_BUFFER_TOO_SMALL);
    check((kobject_signals(f.c1) & ZX_CHANNEL_READABLE) == 0);  // discarded
    check(ev_obj->handle_count == 0);                           // with its handle
    kobject_unref(ev_obj);
    check(fixture_done(&f));
    return true;
}

// Closing a channel endpoint drops the handles in the messages queued on it.
static bool test_channel_close_drops_handles(void) {
    struct fixture f;
    check(fixture_channel(&f));
    // An endpoint of a second channel travels in a message on the first.
    zx_handle_t d0, d1;
    struct kobject *e0, *e1;
    check(make_channel(&f.ht, &d0, &d1, &e0, &e1));
    kobject_ref(e1);
    struct msg_handle mh;
    check(handle_table_take(&f.ht, d0, ZX_RIGHT_TRANSFER, &mh.obj, &mh.rights) == ZX_OK);
    check(channel_write(f.c0, "m", 1, &mh, 1) == ZX_OK);
    check((kobject_signals(e1) & ZX_CHANNEL_PEER_CLOSED) == 0);  // in transit: still open
    check(handle_table_close(&f.ht, f.h1) == ZX_OK);  // the reader goes: the message is dropped
    check((kobject_signals(e1) & ZX_CHANNEL_PEER_CLOSED) != 0);
    kobject_unref(e1);
    check(fixture_done(&f));
    return true;
}

struct delayed_signal {
    struct kobject *obj;
    zx_signals_t set;
    uint64_t delay_ns;
    uint64_t tick;  // timer_ticks() when it signalled
};

static int signal_later(void *arg) {
    struct delayed_signal *d = arg;
    thread_sleep(d->delay_ns);
    d->tick = timer_ticks();
    kobject_signal(d->obj, 0, d->set);
    return 0;
}

static bool test_event_wait_timeout(void) {
    size_t live = kobject_live_count();
    struct kobject *ev;
    check(event_create(0, &ev) == ZX_OK);
    struct kobject *unused;
    check(event_create(1, &unused) == ZX_ERR_INVALID_ARGS);
    zx_signals_t seen = 0xffffffffu;
    uint64_t t0 = current_time();
    check(object_wait_one(ev, ZX_EVENT_SIGNALED, now_plus(ZX_MSEC(5)), &seen) == ZX_ERR_TIMED_OUT);
    uint64_t waited = current_time() - t0;
    diag("timed out after %llu us", (unsigned long long)(waited / 1000));
    check(waited >= (uint64_t)ZX_MSEC(5) && seen == 0);
    check(object_wait_one(ev, ZX_EVENT_SIGNALED, 0, &seen) == ZX_ERR_TIMED_OUT);  // a poll

    check(object_signal(ev, 0, ZX_CHANNEL_WRITABLE) == ZX_ERR_INVALID_ARGS);
    check(object_signal(ev, 0, ZX_USER_SIGNAL_3) == ZX_OK);
    check(kobject_signals(ev) == ZX_USER_SIGNAL_3);
    check(object_signal(ev, ZX_USER_SIGNAL_3, 0) == ZX_OK && kobject_signals(ev) == 0);
    check(object_signal_peer(ev, 0, ZX_USER_SIGNAL_0) == ZX_ERR_NOT_SUPPORTED);

    static struct delayed_signal d;
    d = (struct delayed_signal){ev, ZX_EVENT_SIGNALED, ZX_MSEC(5), 0};
    struct thread *t = thread_create("signaler", signal_later, &d);
    check(t != NULL);
    check(object_wait_one(ev, ZX_EVENT_SIGNALED, ZX_TIME_INFINITE, &seen) == ZX_OK);
    uint64_t woke = timer_ticks();
    check((seen & ZX_EVENT_SIGNALED) != 0);
    check(thread_join(t, NULL) == 0);
    diag("signalled at tick %llu, waiter ran at tick %llu", (unsigned long long)d.tick,
         (unsigned long long)woke);
    check(woke - d.tick <= 1);  // blocked, not polling: it runs as soon as the signaler is done
    kobject_unref(ev);
    check(kobject_live_count() == live);
    return true;
}

static bool test_wait_many(void) {
    size_t live = kobject_live_count();
    struct kobject *objs[2];
    check(event_create(0, &objs[0]) == ZX_OK && event_create(0, &objs[1]) == ZX_OK);
    zx_signals_t want[2] = {ZX_EVENT_SIGNALED, ZX_USER_SIGNAL_1};
    zx_signals_t seen[2];
    check(object_wait_many(objs, want, seen, 2, now_plus(ZX_MSEC(2))) == ZX_ERR_TIMED_OUT);
    check(object_wait_many(objs, want, seen, 0, 0) == ZX_ERR_TIMED_OUT);  // no items: a sleep
    check(object_wait_many(objs, want, seen, ZX_WAIT_MANY_MAX_ITEMS + 1, 0) == ZX_ERR_OUT_OF_RANGE);
    static struct delayed_signal d;
    d = (struct delayed_signal){objs[1], ZX_USER_SIGNAL_1, ZX_MSEC(5), 0};
    struct thread *t = thread_create("signaler", signal_later, &d);
    check(t != NULL);
    check(object_wait_many(objs, want, seen, 2, now_plus(ZX_SEC(5))) == ZX_OK);
    diag("observed 0x%x 0x%x", seen[0], seen[1]);
    check(seen[0] == 0 && seen[1] == ZX_USER_SIGNAL_1);
    check(thread_join(t, NULL) == 0);
    check(objs[0]->waiters == NULL && objs[1]->waiters == NULL);
    kobject_unref(objs[0]);
    kobject_unref(objs[1]);
    check(kobject_live_count() == live);
    return true;
}

struct delayed_close {
    struct handle_table *ht;
    zx_handle_t h;
};

static int close_later(void *arg) {
    struct delayed_close *d = arg;
    thread_sleep(ZX_MSEC(5));
    return handle_table_close(d->ht, d->h);
}

// Closing the handle a wait came through ends the wait with ZX_ERR_CANCELED.
static bool test_wait_canceled_by_close(void) {
    static struct fixture f;
    fixture_init(&f);
    zx_handle_t h = new_event_handle(&f.ht, ZX_DEFAULT_EVENT_RIGHTS);
    struct kobject *ev;
    check(handle_table_get(&f.ht, h, ZX_OBJ_TYPE_EVENT, ZX_RIGHT_WAIT, &ev) == ZX_OK);
    static struct delayed_close d;
    d = (struct delayed_close){&f.ht, h};
    struct thread *t = thread_create("closer", close_later, &d);
    check(t != NULL);
    zx_signals_t want = ZX_EVENT_SIGNALED, seen = 0;
    zx_status_t status = object_wait_handles(&f.ht, &h, &ev, &want, &seen, 1, ZX_TIME_INFINITE);
    int closed = -1;
    check(thread_join(t, &closed) == 0 && closed == ZX_OK);
    diag("wait returned %d, observed 0x%x", status, seen);
    check(status == ZX_ERR_CANCELED);
    check(seen == ZX_SIGNAL_HANDLE_CLOSED);
    check(ev->waiters == NULL);
    kobject_unref(ev);
    check(fixture_done(&f));
    return true;
}

static bool test_eventpair_peer(void) {
    struct fixture f;
    fixture_init(&f);
    struct kobject *a, *b;
    check(eventpair_create(0, &a, &b) == ZX_OK);
    zx_handle_t ha, hb;
    check(handle_table_add(&f.ht, a, ZX_DEFAULT_EVENTPAIR_RIGHTS, &ha) == ZX_OK);
    check(handle_table_add(&f.ht, b, ZX_DEFAULT_EVENTPAIR_RIGHTS, &hb) == ZX_OK);
    check(object_signal_peer(a, 0, ZX_EVENTPAIR_SIGNALED | ZX_USER_SIGNAL_2) == ZX_OK);
    check(kobject_signals(b) == (ZX_EVENTPAIR_SIGNALED | ZX_USER_SIGNAL_2));
    check(kobject_signals(a) == 0);
    check(a->ops->related_koid(a) == b->koid);
    check(handle_table_close(&f.ht, hb) == ZX_OK);
    check((kobject_signals(a) & ZX_EVENTPAIR_PEER_CLOSED) != 0);
    check(object_signal_peer(a, 0, ZX_USER_SIGNAL_0) == ZX_ERR_PEER_CLOSED);
    kobject_unref(a);
    kobject_unref(b);
    check(fixture_done(&f));
    return true;
}

static bool test_job_policy_new_process(void) {
    struct job *root = job_root();  // made on first use: not counted as a leak
    size_t live = kobject_live_count();
    struct job *child, *grandchild, *other;
    check(job_create(root, 0, &child) == ZX_OK);
    check(child->obj.koid > root->obj.koid &&
          child->obj.ops->related_koid(&child->obj) == root->obj.koid);
    check(job_policy_check(child, ZX_POL_NEW_PROCESS) == ZX_POL_ACTION_ALLOW);
    zx_policy_basic_v1_t deny = {ZX_POL_NEW_PROCESS, ZX_POL_ACTION_DENY};
    check(job_set_policy(child, ZX_JOB_POL_RELATIVE, ZX_JOB_POL_BASIC_V1, &deny, 1) == ZX_OK);
    check(job_policy_check(child, ZX_POL_NEW_PROCESS) == ZX_POL_ACTION_DENY);
    check(job_policy_check(child, ZX_POL_NEW_CHANNEL) == ZX_POL_ACTION_ALLOW);
    check(job_policy_check(root, ZX_POL_NEW_PROCESS) == ZX_POL_ACTION_ALLOW);
    // Inherited; and a job with children cannot change its policy.
    check(job_create(child, 0, &grandchild) == ZX_OK);
    check(job_policy_check(grandchild, ZX_POL_NEW_PROCESS) == ZX_POL_ACTION_DENY);
    check(job_set_policy(child, ZX_JOB_POL_RELATIVE, ZX_JOB_POL_BASIC_V1, &deny, 1) ==
          ZX_ERR_BAD_STATE);
    // ABSOLUTE cannot loosen the inherited DENY; RELATIVE keeps it silently.
    zx_policy_basic_v2_t allow = {ZX_POL_NEW_PROCESS, ZX_POL_ACTION_ALLOW, 0};
    check(job_set_policy(grandchild, ZX_JOB_POL_ABSOLUTE, ZX_JOB_POL_BASIC_V2, &allow, 1) ==
          ZX_ERR_ALREADY_EXISTS);
    check(job_set_policy(grandchild, ZX_JOB_POL_RELATIVE, ZX_JOB_POL_BASIC_V2, &allow, 1) == ZX_OK);
    check(job_policy_check(grandchild, ZX_POL_NEW_PROCESS) == ZX_POL_ACTION_DENY);
    // NEW_ANY covers NEW_PROCESS; bad entries change nothing.
    check(job_create(root, 0, &other) == ZX_OK);
    zx_policy_basic_v1_t bad[2] = {{ZX_POL_NEW_ANY, ZX_POL_ACTION_KILL}, {99, 0}};
    check(job_set_policy(other, ZX_JOB_POL_RELATIVE, ZX_JOB_POL_BASIC_V1, bad, 2) ==
          ZX_ERR_INVALID_ARGS);
    check(job_policy_check(other, ZX_POL_NEW_PROCESS) == ZX_POL_ACTION_ALLOW);
    check(job_set_policy(other, ZX_JOB_POL_RELATIVE, ZX_JOB_POL_BASIC_V1, bad, 1) == ZX_OK);
    check(job_policy_check(other, ZX_POL_NEW_PROCESS) == ZX_POL_ACTION_KILL);
    check(job_policy_check(other, ZX_POL_BAD_HANDLE) == ZX_POL_ACTION_ALLOW);
    struct job *unused;
    check(job_create(root, 1, &unused) == ZX_ERR_INVALID_ARGS);
    kobject_unref(&other->obj);
    kobject_unref(&grandchild->obj);
    kobject_unref(&child->obj);
    check(kobject_live_count() == live);
    return true;
}

static int policy_kills;
static void count_policy_kill(struct handle_table *ht) {
    (void)ht;
    policy_kills++;
}

static bool test_bad_handle_policy(void) {
    job_root();
    size_t live = kobject_live_count();
    struct job *deny_job, *kill_job;
    check(job_create(job_root(), 0, &deny_job) == ZX_OK);
    check(job_create(job_root(), 0, &kill_job) == ZX_OK);
    zx_policy_basic_v1_t deny = {ZX_POL_BAD_HANDLE, ZX_POL_ACTION_DENY};
    zx_policy_basic_v1_t kill = {ZX_POL_BAD_HANDLE, ZX_POL_ACTION_KILL};
    check(job_set_policy(deny_job, ZX_JOB_POL_ABSOLUTE, ZX_JOB_POL_BASIC_V1, &deny, 1) == ZX_OK);
    check(job_set_policy(kill_job, ZX_JOB_POL_ABSOLUTE, ZX_JOB_POL_BASIC_V1, &kill, 1) == ZX_OK);
    struct handle_table td, tk;
    handle_table_init(&td, deny_job);
    handle_table_init(&tk, kill_job);
    td.on_policy_kill = count_policy_kill;
    tk.on_policy_kill = count_policy_kill;
    policy_kills = 0;
    struct kobject *obj;
    zx_handle_t h = new_event_handle(&tk, ZX_DEFAULT_EVENT_RIGHTS);
    check(handle_table_get(&tk, h, ZX_OBJ_TYPE_CHANNEL, 0, &obj) == ZX_ERR_WRONG_TYPE);
    check(policy_kills == 0);  // a wrong type is not a bad handle
    check(handle_table_get(&td, 0x12345u, ZX_OBJ_TYPE_NONE, 0, &obj) == ZX_ERR_BAD_HANDLE);
    check(policy_kills == 0);
    check(handle_table_get(&tk, h ^ 0x10u, ZX_OBJ_TYPE_NONE, 0, &obj) == ZX_ERR_BAD_HANDLE);
    check(policy_kills == 1);
    check(handle_table_close(&tk, ZX_HANDLE_INVALID) == ZX_ERR_BAD_HANDLE);
    check(policy_kills == 2);
    handle_table_destroy(&td);
    handle_table_destroy(&tk);
    kobject_unref(&deny_job->obj);
    kobject_unref(&kill_job->obj);
    check(kobject_live_count() == live);
    return true;
}

// ---- The syscall handlers, called as a user thread of a test process would ----

// A process with one never-started thread whose identity the calling (bootstrap) thread
// borrows, and two pages of user memory mapped in it.
struct user_env {
    struct job *job;
    struct process *proc;
    struct uthread *thread;
    struct vmo *vmo;
    uintptr_t mem;  // user address of the pages
};

static bool user_env_enter(struct user_env *env) {
    *env = (struct user_env){0};
    if (job_create(job_root(), 0, &env->job) != ZX_OK ||
        process_create(env->job, "k2-syscalls", 11, &env->proc) != ZX_OK ||
        uthread_create(env->proc, "k2-thread", 9, &env->thread) != ZX_OK ||
        vmo_create(2 * PAGE_SIZE, 0, &env->vmo) != ZX_OK) {
        return false;
    }
    zx_vm_option_t rw = ZX_VM_PERM_READ | ZX_VM_PERM_WRITE;
    if (vmar_map(env->proc->aspace->root, rw, 0, env->vmo, 0, 2 * PAGE_SIZE, rw, &env->mem) !=
        ZX_OK) {
        return false;
    }
    thread_set_user(thread_current(), env->thread, env->proc->aspace->arch);
    return true;
}

static void user_env_leave(struct user_env *env) {
    thread_set_user(thread_current(), NULL, NULL);
    if (env->proc != NULL) {
        process_kill(env->proc, 0);
    }
    kobject_unref(env->thread != NULL ? &env->thread->obj : NULL);
    kobject_unref(env->proc != NULL ? &env->proc->obj : NULL);
    kobject_unref(env->vmo != NULL ? &env->vmo->obj : NULL);
    kobject_unref(env->job != NULL ? &env->job->obj : NULL);
}

static user_out_ptr_t uout(const struct user_env *env, size_t off) {
    return (user_out_ptr_t){env->mem + off};
}

static user_in_ptr_t uin(const struct user_env *env, size_t off) {
    return (user_in_ptr_t){env->mem + off};
}

static uint32_t user_u32(const struct user_env *env, size_t off) {
    uint32_t v = 0;
    copy_from_user(&v, (const void *)(env->mem + off), sizeof(v));
    return v;
}

// Byte offsets in the user pages.
enum {
    U_H0 = 0,
    U_H1 = 4,
    U_EV = 8,
    U_NB = 16,
    U_NH = 20,
    U_SEEN = 24,
    U_JOB = 32,
    U_BYTES = 64,
    U_RDBYTES = 128,
    U_RDHANDLES = 256,
    U_INFO = 512,
    U_ACTUAL = 600,
    U_AVAIL = 608,
    U_NAME = 700,
    U_POLICY = 800,
    U_ITEMS = 900,
    U_CLOSE = 1024,
};

static bool syscalls_channel_handles(struct user_env *env) {
    struct handle_table *ht = &env->proc->handles;
    check(handle_table_current() == ht);
    check(sys_channel_create(0, uout(env, U_H0), uout(env, U_H1)) == ZX_OK);
    zx_handle_t h0 = user_u32(env, U_H0), h1 = user_u32(env, U_H1);
    check(h0 != ZX_HANDLE_INVALID && h1 != ZX_HANDLE_INVALID && h0 != h1);
    // Bad out pointers: nothing is created.
    check(sys_channel_create(0, uout(env, U_H0), (user_out_ptr_t){0}) == ZX_ERR_INVALID_ARGS);
    check(sys_channel_create(0, (user_out_ptr_t){(uintptr_t)&h0}, uout(env, U_H1)) ==
          ZX_ERR_INVALID_ARGS);
    check(sys_channel_create(1, uout(env, U_H0), uout(env, U_H1)) == ZX_ERR_INVALID_ARGS);
    check(handle_table_count(ht) == 2);

    check(sys_event_create(0, uout(env, U_EV)) == ZX_OK);
    zx_handle_t ev = user_u32(env, U_EV);
    check(copy_to_user((void *)(env->mem + U_BYTES), "ping", 4) == ZX_OK);
    check(sys_channel_write(h0, 0, uin(env, U_BYTES), 4, uin(env, U_EV), 1) == ZX_OK);
    check(sys_handle_close(ev) == ZX_ERR_BAD_HANDLE);  // moved into the message
    check(sys_handle_duplicate(h0, ZX_RIGHT_SAME_RIGHTS, uout(env, U_SEEN)) ==
          ZX_ERR_ACCESS_DENIED);  // channels have no ZX_RIGHT_DUPLICATE

    // Too small: sizes reported, message kept; a kernel pointer: refused, message kept.
    check(sys_channel_read(h1, 0, uout(env, U_RDBYTES), uout(env, U_RDHANDLES), 2, 1,
                           uout(env, U_NB), uout(env, U_NH)) == ZX_ERR_BUFFER_TOO_SMALL);
    check(user_u32(env, U_NB) == 4 && user_u32(env, U_NH) == 1);
    uint8_t kbuf[8];
    check(sys_channel_read(h1, 0, (user_out_ptr_t){(uintptr_t)kbuf}, uout(env, U_RDHANDLES), 8, 1,
                           uout(env, U_NB), uout(env, U_NH)) == ZX_ERR_INVALID_ARGS);
    check(sys_channel_read(h1, 0, uout(env, U_RDBYTES), uout(env, U_RDHANDLES), 8, 1,
                           uout(env, U_NB), uout(env, U_NH)) == ZX_OK);
    char got[4];
    check(copy_from_user(got, (const void *)(env->mem + U_RDBYTES), 4) == ZX_OK);
    check(memcmp(got, "ping", 4) == 0);
    zx_handle_t ev2 = user_u32(env, U_RDHANDLES);

    // The event arrived with its rights.
    check(sys_object_get_info(ev2, ZX_INFO_HANDLE_BASIC, uout(env, U_INFO),
                              sizeof(zx_info_handle_basic_t), uout(env, U_ACTUAL),
                              uout(env, U_AVAIL)) == ZX_OK);
    zx_info_handle_basic_t info;
    check(copy_from_user(&info, (const void *)(env->mem + U_INFO), sizeof(info)) == ZX_OK);
    check(info.type == ZX_OBJ_TYPE_EVENT && info.rights == ZX_DEFAULT_EVENT_RIGHTS);
    check(info.koid >= ZX_KOID_FIRST && info.related_koid == ZX_KOID_INVALID);
    check(sys_object_get_info(ev2, ZX_INFO_HANDLE_BASIC, uout(env, U_INFO), 4, uout(env, U_ACTUAL),
                              uout(env, U_AVAIL)) == ZX_ERR_BUFFER_TOO_SMALL);
    check(sys_object_get_info(ev2, ZX_INFO_PROCESS, uout(env, U_INFO), 64, uout(env, U_ACTUAL),
                              uout(env, U_AVAIL)) == ZX_ERR_WRONG_TYPE);

    // Rights only shrink.
    check(sys_handle_duplicate(ev2, ZX_RIGHT_WAIT, uout(env, U_SEEN)) == ZX_OK);
    check(sys_handle_duplicate(ev2, ZX_DEFAULT_EVENT_RIGHTS | ZX_RIGHT_WRITE, uout(env, U_SEEN)) ==
          ZX_ERR_INVALID_ARGS);
    check(sys_handle_replace(ev2, ZX_RIGHT_WAIT | ZX_RIGHT_SIGNAL, (user_out_ptr_t){0}) ==
          ZX_ERR_INVALID_ARGS);  // bad out pointer: the handle survives
    check(sys_handle_replace(ev2, ZX_RIGHT_WAIT | ZX_RIGHT_SIGNAL, uout(env, U_EV)) == ZX_OK);
    zx_handle_t ev3 = user_u32(env, U_EV);

    // Signals and waits.
    zx_time_t soon = (zx_time_t)current_time() + ZX_MSEC(1);
    check(sys_object_wait_one(ev3, ZX_EVENT_SIGNALED, soon, uout(env, U_SEEN)) == ZX_ERR_TIMED_OUT);
    check(sys_object_signal(ev3, 0, ZX_EVENT_SIGNALED) == ZX_OK);
    check(sys_object_signal(ev3, 0, ZX_CHANNEL_READABLE) == ZX_ERR_INVALID_ARGS);
    check(sys_object_wait_one(ev3, ZX_EVENT_SIGNALED, 0, uout(env, U_SEEN)) == ZX_OK);
    check(user_u32(env, U_SEEN) == ZX_EVENT_SIGNALED);
    zx_wait_item_t items[2] = {{h1, ZX_CHANNEL_READABLE, 0}, {ev3, ZX_EVENT_SIGNALED, 0}};
    check(copy_to_user((void *)(env->mem + U_ITEMS), items, sizeof(items)) == ZX_OK);
    check(sys_object_wait_many((user_inout_ptr_t){env->mem + U_ITEMS}, 2, 0) == ZX_OK);
    check(copy_from_user(items, (const void *)(env->mem + U_ITEMS), sizeof(items)) == ZX_OK);
    check(items[0].pending == ZX_CHANNEL_WRITABLE && items[1].pending == ZX_EVENT_SIGNALED);

    // Names.
    check(copy_to_user((void *)(env->mem + U_NAME), "pipe", 4) == ZX_OK);
    check(sys_object_set_property(h0, ZX_PROP_NAME, uin(env, U_NAME), 4) == ZX_ERR_ACCESS_DENIED);
    check(sys_object_set_property(ev3, ZX_PROP_NAME, uin(env, U_NAME), 4) == ZX_ERR_ACCESS_DENIED);
    zx_handle_t job_h;
    check(handle_table_add(ht, &env->job->obj, ZX_DEFAULT_JOB_RIGHTS, &job_h) == ZX_OK);
    check(sys_object_set_property(job_h, ZX_PROP_NAME, uin(env, U_NAME), 4) == ZX_OK);
    char name[ZX_MAX_NAME_LEN];
    check(sys_object_get_property(job_h, ZX_PROP_NAME, uout(env, U_INFO), sizeof(name)) == ZX_OK);
    check(copy_from_user(name, (const void *)(env->mem + U_INFO), sizeof(name)) == ZX_OK);
    check(strcmp(name, "pipe") == 0);

    // Jobs and policy through the syscalls.
    check(sys_job_create(job_h, 0, uout(env, U_JOB)) == ZX_OK);
    zx_handle_t child_h = user_u32(env, U_JOB);
    zx_policy_basic_v1_t deny = {ZX_POL_NEW_CHANNEL, ZX_POL_ACTION_DENY};
    check(copy_to_user((void *)(env->mem + U_POLICY), &deny, sizeof(deny)) == ZX_OK);
    check(sys_job_set_policy(child_h, ZX_JOB_POL_RELATIVE, ZX_JOB_POL_BASIC_V1, uin(env, U_POLICY),
                             1) == ZX_OK);
    struct kobject *child;
    check(handle_table_get(ht, child_h, ZX_OBJ_TYPE_JOB, 0, &child) == ZX_OK);
    check(job_policy_check(job_from_kobject(child), ZX_POL_NEW_CHANNEL) == ZX_POL_ACTION_DENY);
    kobject_unref(child);
    check(sys_job_set_policy(h0, ZX_JOB_POL_RELATIVE, ZX_JOB_POL_BASIC_V1, uin(env, U_POLICY), 1) ==
          ZX_ERR_WRONG_TYPE);

    // close_many: one bad value closes nothing; then all go.
    zx_handle_t list[3] = {h0, h1, h1 ^ 0x40u};
    check(copy_to_user((void *)(env->mem + U_CLOSE), list, sizeof(list)) == ZX_OK);
    uint32_t before = handle_table_count(ht);
    check(sys_handle_close_many(uin(env, U_CLOSE), 3) == ZX_ERR_BAD_HANDLE);
    check(handle_table_count(ht) == before);
    check(sys_handle_close_many(uin(env, U_CLOSE), 2) == ZX_OK);
    check(handle_table_count(ht) == before - 2);
    check(sys_handle_close(ZX_HANDLE_INVALID) == ZX_OK);
    return true;
}

static bool test_syscall_handlers(void) {
    struct user_env env;
    bool ok = user_env_enter(&env);
    if (!ok) {
        diag("could not set up the test process");
    } else {
        ok = syscalls_channel_handles(&env);
    }
    user_env_leave(&env);
    return ok;
}

static const struct selftest_case object_cases[] = {
    {"koids_unique_increasing", test_koids_unique_increasing},
    {"kobject_refcount_destroy", test_kobject_refcount_destroy},
    {"handle_values", test_handle_values},
    {"rights_shrink_only", test_rights_shrink_only},
    {"channel_round_trip", test_channel_round_trip},
    {"channel_peer_closed", test_channel_peer_closed},
    {"channel_buffer_too_small", test_channel_buffer_too_small},
    {"channel_close_drops_handles", test_channel_close_drops_handles},
    {"event_wait_timeout", test_event_wait_timeout},
    {"wait_many", test_wait_many},
    {"wait_canceled_by_close", test_wait_canceled_by_close},
    {"eventpair_peer", test_eventpair_peer},
    {"job_policy_new_process", test_job_policy_new_process},
    {"bad_handle_policy", test_bad_handle_policy},
    {"syscall_handlers", test_syscall_handlers},
};

const struct selftest_suite selftest_objects_suite = {object_cases, sizeof(object_cases) /
                                                                        sizeof(object_cases[0])};
