// The process-builder child check: see pbcheck.h.
#include "pbcheck.h"

#include <ktap.h>
#include <stdio.h>
#include <string.h>
#include <zhb-arch.h>
#include <zhb/process_builder.h>
#include <zhb/runtime.h>
#include <zircon/process.h>
#include <zircon/processargs.h>
#include <zircon/syscalls.h>

#include "child.h"
#include "testkit.h"

#define WAIT_MS 20000
#define LDSO_PATH "lib/ld.so.1"
#define EVENT_RIGHTS (ZX_RIGHT_TRANSFER | ZX_RIGHT_WAIT | ZX_RIGHT_SIGNAL)
#define NUM_ARGS 4
#define NUM_ENV 3

static const char *const child_args[NUM_ARGS] = {PB_CHILD_ARG, "two words", "", "last"};
static const char *const child_env[NUM_ENV] = {"PB_A=1", "PB_B=two words", "LD_DEBUG=1"};

struct pb_report {
    uint64_t vdso_base;
    uint64_t stack_size;
    uint32_t failures;  // a bit per failed check
    uint32_t argc;
};

static bool has_env(const char *word) {
    for (char **e = environ; e != NULL && *e != NULL; e++) {
        if (strcmp(*e, word) == 0) {
            return true;
        }
    }
    return false;
}

static zx_info_handle_basic_t basic(zx_handle_t h) {
    zx_info_handle_basic_t info = {0};
    zx_object_get_info(h, ZX_INFO_HANDLE_BASIC, &info, sizeof(info), NULL, NULL);
    return info;
}

int pb_child(int argc, char **argv) {
    struct pb_report r = {.vdso_base = __zhb_vdso_base, .argc = (uint32_t)argc};
    uint32_t bit = 1;
    r.failures |= argc == NUM_ARGS + 1 ? 0 : bit;
    for (int i = 1; i <= NUM_ARGS && i < argc; i++) {
        bit <<= 1;
        r.failures |= strcmp(argv[i], child_args[i - 1]) == 0 ? 0 : bit;
    }
    bit <<= 1;
    r.failures |= has_env("PB_A=1") && has_env("PB_B=two words") ? 0 : bit;
    zx_info_handle_basic_t event = basic(zx_take_startup_handle(PA_HND(PA_USER0, 0)));
    bit <<= 1;
    r.failures |= event.type == ZX_OBJ_TYPE_EVENT && event.rights == EVENT_RIGHTS ? 0 : bit;
    bit <<= 1;
    r.failures |= basic(zx_process_self()).type == ZX_OBJ_TYPE_PROCESS &&
                          basic(zx_thread_self()).type == ZX_OBJ_TYPE_THREAD &&
                          basic(zx_vmar_root_self()).type == ZX_OBJ_TYPE_VMAR &&
                          basic(zx_job_default()).type == ZX_OBJ_TYPE_JOB
                      ? 0
                      : bit;
    zx_vmo_get_size(zx_take_startup_handle(PA_HND(PA_VMO_STACK, 0)), &r.stack_size);
    bit <<= 1;
    r.failures |= basic(zx_take_startup_handle(PA_HND(PA_VMO_VDSO, 0))).type == ZX_OBJ_TYPE_VMO
                      ? 0
                      : bit;
    bit <<= 1;  // the main message never has the linker's handles
    r.failures |= zx_take_startup_handle(PA_HND(PA_LDSVC_LOADER, 0)) == ZX_HANDLE_INVALID &&
                          zx_take_startup_handle(PA_HND(PA_VMO_EXECUTABLE, 0)) ==
                              ZX_HANDLE_INVALID
                      ? 0
                      : bit;
    zx_handle_t channel = zx_take_startup_handle(PA_HND(PA_USER1, 0));
    return zx_channel_write(channel, 0, &r, sizeof(r), NULL, 0) == ZX_OK ? 0 : 1;
}

// The builder for `path` with everything pb_child checks; false (KTAP failures) if not.
static bool prepare(struct process_builder *b, const char *path, zx_handle_t ldsvc,
                    zx_handle_t *ours) {
    zx_handle_t exe, event, theirs, job;
    struct vdso_layout layout;
    zx_handle_t vdso = ZX_HANDLE_INVALID;
    if (!KTAP_EXPECT_OK(bootfs_file_vmo(path, &exe)) || !KTAP_EXPECT_TRUE(vdso_layout(&layout)) ||
        !KTAP_EXPECT_OK(zx_handle_duplicate(layout.vmo, ZX_RIGHT_SAME_RIGHTS, &vdso)) ||
        !KTAP_EXPECT_OK(zx_event_create(0, &event)) ||
        !KTAP_EXPECT_OK(zx_handle_replace(event, EVENT_RIGHTS, &event)) ||
        !KTAP_EXPECT_OK(zx_channel_create(0, ours, &theirs)) ||
        !KTAP_EXPECT_OK(zx_handle_duplicate(zx_job_default(), ZX_RIGHT_SAME_RIGHTS, &job)) ||
        !KTAP_EXPECT_OK(pb_create(b, zx_job_default(), "pb-child", exe, zx_vmar_root_self()))) {
        return false;
    }
    zx_handle_t handles[] = {event, theirs, job, vdso};
    uint32_t info[] = {PA_HND(PA_USER0, 0), PA_HND(PA_USER1, 0), PA_HND(PA_JOB_DEFAULT, 0),
                       PA_HND(PA_VMO_VDSO, 0)};
    return KTAP_EXPECT_OK(pb_add_args(b, &path, 1)) &&
           KTAP_EXPECT_OK(pb_add_args(b, child_args, NUM_ARGS)) &&
           KTAP_EXPECT_OK(pb_add_environ(b, child_env, NUM_ENV)) &&
           KTAP_EXPECT_OK(pb_add_handles(b, handles, info, 4)) &&
           (ldsvc == ZX_HANDLE_INVALID || KTAP_EXPECT_OK(pb_set_loader_service(b, ldsvc)));
}

void pb_check_launch(const char *path, zx_handle_t ldsvc) {
    struct process_builder b;
    struct pb_built built;
    zx_handle_t ours = ZX_HANDLE_INVALID;
    zx_handle_t proc;
    if (!prepare(&b, path, ldsvc, &ours)) {
        pb_destroy(&b);
        return;
    }
    if (!KTAP_EXPECT_OK(pb_build(&b, &built))) {
        printf("# %s: %s: %s\n", path, pb_error_kind_name(b.error.kind), b.error.text);
        zx_handle_close(ours);
        return;
    }
    KTAP_EXPECT_EQ(built.dynamic, ldsvc != ZX_HANDLE_INVALID ? 1u : 0u);
    KTAP_EXPECT_EQ(built.stack % 16, (uintptr_t)(ZHB_ELF_MACHINE == 62u ? 8 : 0));
    struct pb_built copy = built;
    if (!KTAP_EXPECT_OK(pb_start(&built, &proc, &b.error))) {
        zx_handle_close(ours);
        return;
    }
    KTAP_EXPECT_OK(wait_ms(proc, ZX_PROCESS_TERMINATED, WAIT_MS));
    KTAP_EXPECT_EQ(return_code(proc), 0);
    struct pb_report r = {0};
    uint32_t bytes = 0;
    KTAP_EXPECT_OK(zx_channel_read(ours, 0, &r, NULL, sizeof(r), 0, &bytes, NULL));
    KTAP_EXPECT_EQ(bytes, (uint32_t)sizeof(r));
    KTAP_EXPECT_EQ(r.failures, 0u);
    KTAP_EXPECT_EQ(r.argc, (uint32_t)NUM_ARGS + 1);
    KTAP_EXPECT_EQ(r.vdso_base, (uint64_t)copy.vdso_base);  // where the process was told
    KTAP_EXPECT_EQ(r.stack_size, copy.stack_size);
    if (ldsvc == ZX_HANDLE_INVALID) {
        KTAP_EXPECT_EQ(copy.stack_size, (uint64_t)PB_DEFAULT_STACK_SIZE);
    }
    zx_task_kill(proc);
    zx_handle_close(proc);
    zx_handle_close(ours);
}

// ---- BOOTFS files, read once ------------------------------------------------------------

#define SHARED_FILES 8
#define SHARED_PATH_MAX 64

// Each BOOTFS file pb_spawn or the loader service was asked for, read into a VMO once and
// kept: every launch gets a duplicate without ZX_RIGHT_WRITE (so nobody changes what the next
// launch maps), and the process builder and ld.so map its code pages straight from it, so
// every process started from it shares them (as a page cache shares a file's pages).
static struct {
    volatile uint64_t lock;
    uint32_t count;
    struct {
        char path[SHARED_PATH_MAX];
        zx_handle_t vmo;
        zx_rights_t rights;
    } files[SHARED_FILES];
} shared;

static zx_status_t shared_dup(uint32_t i, zx_handle_t *vmo) {
    return zx_handle_duplicate(shared.files[i].vmo, shared.files[i].rights, vmo);
}

// A read-only duplicate of BOOTFS file `path`'s shared VMO (a private copy if the table is full).
static zx_status_t bootfs_file_vmo_shared(const char *path, zx_handle_t *vmo) {
    while (tk_xchg(&shared.lock, 1) != 0) {
        zx_nanosleep(0);
    }
    zx_status_t status = ZX_ERR_NOT_FOUND;
    uint32_t i = 0;
    while (i < shared.count && strcmp(shared.files[i].path, path) != 0) {
        i++;
    }
    if (i < shared.count) {
        status = shared_dup(i, vmo);
    } else if (i == SHARED_FILES || strlen(path) >= SHARED_PATH_MAX) {
        status = bootfs_file_vmo(path, vmo);
    } else if ((status = bootfs_file_vmo(path, &shared.files[i].vmo)) == ZX_OK) {
        zx_info_handle_basic_t info;
        status = zx_object_get_info(shared.files[i].vmo, ZX_INFO_HANDLE_BASIC, &info,
                                    sizeof(info), NULL, NULL);
        shared.files[i].rights = info.rights & ~ZX_RIGHT_WRITE;
        if (status == ZX_OK && (status = shared_dup(i, vmo)) == ZX_OK) {
            memcpy(shared.files[i].path, path, strlen(path) + 1);
            shared.count++;
        } else {
            zx_handle_close(shared.files[i].vmo);
        }
    }
    tk_store(&shared.lock, 0);
    return status;
}

// ---- A loader service from our BOOTFS ----------------------------------------------------

struct pb_loader_thread {
    struct tk_thread thread;
    zx_handle_t server;
    uint32_t loads;
};

static bool serve_request(struct pb_loader_thread *l) {
    uint8_t req[LDMSG_REQ_MAX] __attribute__((aligned(8)));
    uint8_t rsp[LDMSG_RSP_SIZE] __attribute__((aligned(8)));
    char path[LDMSG_MAX_NAME + 8] = "lib/";
    uint32_t bytes = 0;
    uint64_t ordinal;
    uint32_t txid;
    const char *name;
    size_t len;
    if (zx_channel_read(l->server, 0, req, NULL, sizeof(req), 0, &bytes, NULL) != ZX_OK ||
        ldmsg_decode(req, bytes, &ordinal, &txid, &name, &len) != 0 ||
        ordinal == LDMSG_OP_DONE) {
        return false;
    }
    zx_handle_t vmo = ZX_HANDLE_INVALID;
    zx_status_t status = ZX_ERR_NOT_SUPPORTED;
    if (ordinal == LDMSG_OP_LOAD_OBJECT) {
        memcpy(path + 4, name, len);
        path[4 + len] = '\0';
        if ((status = bootfs_file_vmo_shared(path, &vmo)) == ZX_OK) {
            l->loads++;
        }
    }
    ldmsg_encode_reply(rsp, txid, ordinal, status, vmo != ZX_HANDLE_INVALID);
    zx_channel_write(l->server, 0, rsp, sizeof(rsp), &vmo, vmo != ZX_HANDLE_INVALID ? 1 : 0);
    return true;
}

// Until Done or the client's end closes; then our end closes (ld.so waits for that).
static void serve(void *arg) {
    struct pb_loader_thread *l = arg;
    for (;;) {
        zx_signals_t seen = 0;
        if (zx_object_wait_one(l->server, ZX_CHANNEL_READABLE | ZX_CHANNEL_PEER_CLOSED,
                               zx_deadline_after(ZX_SEC(30)), &seen) != ZX_OK ||
            !(seen & ZX_CHANNEL_READABLE) || !serve_request(l)) {
            break;
        }
    }
    zx_handle_close(l->server);
}

struct pb_loader_thread *pb_serve_bootfs_libs(zx_handle_t server) {
    static struct pb_loader_thread one;  // one at a time: the tests run in order
    one = (struct pb_loader_thread){.server = server};
    if (tk_thread_start(&one.thread, "ldsvc", serve, &one) != ZX_OK) {
        zx_handle_close(server);
        return NULL;
    }
    return &one;
}

uint32_t pb_serve_join(struct pb_loader_thread *t) {
    tk_thread_join(&t->thread, WAIT_MS);
    return t->loads;
}

// Where pb_spawn's builds put ld.so and the vDSO: the same spot in every process we start.
static struct pb_placements placements;

zx_status_t pb_spawn(const char *path, const char *const *args, uint32_t nargs, bool dynamic,
                     zx_handle_t *proc) {
    struct process_builder b;
    struct pb_built built;
    struct vdso_layout layout;
    zx_handle_t exe, vdso;
    zx_status_t status = bootfs_file_vmo_shared(path, &exe);
    if (status != ZX_OK) {
        return status;
    }
    if (!vdso_layout(&layout) ||
        (status = zx_handle_duplicate(layout.vmo, ZX_RIGHT_SAME_RIGHTS, &vdso)) != ZX_OK) {
        zx_handle_close(exe);
        return status != ZX_OK ? status : ZX_ERR_BAD_STATE;
    }
    if ((status = pb_create(&b, zx_job_default(), "pb-spawn", exe, zx_vmar_root_self())) != ZX_OK) {
        zx_handle_close(vdso);
        return status;
    }
    pb_set_placements(&b, &placements);
    pb_set_vdso_vmo(&b, vdso);
    pb_add_args(&b, &path, 1);
    if ((status = pb_add_args(&b, args, nargs)) != ZX_OK) {
        pb_destroy(&b);
        return status;
    }
    zx_handle_t server = ZX_HANDLE_INVALID;
    if (dynamic) {
        // As userboot does: ld.so handed over directly, the loader served on this thread.
        zx_handle_t client, interp;
        if ((status = zx_channel_create(0, &client, &server)) != ZX_OK) {
            pb_destroy(&b);
            return status;
        }
        pb_set_loader_service(&b, client);
        if ((status = bootfs_file_vmo_shared(LDSO_PATH, &interp)) != ZX_OK) {
            zx_handle_close(server);
            pb_destroy(&b);
            return status;
        }
        pb_set_interp_vmo(&b, interp);
    }
    if ((status = pb_build(&b, &built)) == ZX_OK) {
        status = pb_start(&built, proc, &b.error);
    }
    if (server != ZX_HANDLE_INVALID) {
        struct pb_loader_thread l = {.server = server};
        if (status == ZX_OK) {
            serve(&l);  // closes server
        } else {
            zx_handle_close(server);
        }
    }
    return status;
}
