// The process builder (<zhb/process_builder.h>), after the seed's tests: a static program
// (core-tests itself, `core-tests pb-child`) started through it gets its arguments and
// environment intact and its handles with the right types and rights, a default-sized stack
// and the vDSO where it was told; bad ELF files and a PT_INTERP without a loader service fail
// with the seed's error kinds and leave no handle behind; with a loader service (a thread of
// ours) the dynamic linker is fetched by name, the linker message goes first, the linker's
// stack is sized by the main message, and the low reservation is gone before start.
#include <ktap.h>
#include <string.h>
#include <zhb-arch.h>
#include <zhb/process_builder.h>
#include <zhb/processargs.h>
#include <zhb/runtime.h>
#include <zircon/process.h>
#include <zircon/processargs.h>
#include <zircon/syscalls.h>

#include "child.h"
#include "core-tests.h"
#include "pbcheck.h"
#include "testkit.h"

#define SELF_PATH "bin/core-tests"
#define WAIT_MS 10000
#define INTERP_NAME "lib/ld.so.1"
#define PT_INTERP 3u
#define PT_GNU_STACK 0x6474e551u

static const char *const child_args[] = {PB_CHILD_ARG, "two words", "", "last"};
static const char *const child_env[] = {"PB_A=1", "PB_B=two words", "LD_DEBUG=1"};

static zx_handle_t vdso_dup(void) {
    struct vdso_layout layout;
    zx_handle_t dup = ZX_HANDLE_INVALID;
    if (vdso_layout(&layout)) {
        zx_handle_duplicate(layout.vmo, ZX_RIGHT_SAME_RIGHTS, &dup);
    }
    return dup;
}

// A builder for `exe` in our job with the vDSO set.
static bool builder(struct process_builder *b, zx_handle_t exe) {
    return KTAP_EXPECT_OK(pb_create(b, zx_job_default(), "pb-test", exe, zx_vmar_root_self())) &&
           KTAP_EXPECT_OK(pb_set_vdso_vmo(b, vdso_dup()));
}

KTAP_CASE(pb_static_child_gets_args_environ_handles) {
    pb_check_launch(SELF_PATH, ZX_HANDLE_INVALID);
}

KTAP_CASE(pb_stack_size_calculation) {
    KTAP_EXPECT_EQ(pb_static_stack_size(0), (uint64_t)256 * 1024);
    KTAP_EXPECT_EQ(pb_static_stack_size(1), (uint64_t)4096);
    KTAP_EXPECT_EQ(pb_static_stack_size(8192), (uint64_t)8192);
    KTAP_EXPECT_EQ(pb_static_stack_size(8193), (uint64_t)12288);
    KTAP_EXPECT_EQ(pb_linker_stack_size(0, 0), (uint64_t)4096);  // 3072: one page
    KTAP_EXPECT_EQ(pb_linker_stack_size(1024, 0), (uint64_t)4096);
    KTAP_EXPECT_EQ(pb_linker_stack_size(1024, 1), (uint64_t)8192);  // 1024 + 4 + 3072
    KTAP_EXPECT_EQ(pb_linker_stack_size(40000, 6), (uint64_t)45056);
}

// A copy of core-tests in a VMO one page longer, with `patch` (len bytes at offset) applied
// and `extra` (with its NUL) written just past the file; *extra_at is where.
static zx_status_t patched_self(uint64_t offset, const void *patch, size_t len, const char *extra,
                                uint64_t *extra_at, zx_handle_t *vmo) {
    zx_handle_t exe, out;
    uint64_t size;
    zx_vaddr_t image;
    zx_status_t status = bootfs_file_vmo(SELF_PATH, &exe);
    if (status != ZX_OK) {
        return status;
    }
    if ((status = zx_vmo_get_size(exe, &size)) != ZX_OK ||
        (status = zx_vmar_map(zx_vmar_root_self(), ZX_VM_PERM_READ, 0, exe, 0, size, &image)) !=
            ZX_OK) {
        zx_handle_close(exe);
        return status;
    }
    *extra_at = size;
    if ((status = zx_vmo_create(size + 4096, 0, &out)) == ZX_OK) {
        zx_vmo_write(out, (const void *)image, 0, size);
        zx_vmo_write(out, patch, offset, len);
        if (extra != NULL) {
            zx_vmo_write(out, extra, size, strlen(extra) + 1);
        }
        status = zx_vmo_replace_as_executable(out, ZX_HANDLE_INVALID, vmo);
    }
    zx_vmar_unmap(zx_vmar_root_self(), image, size);
    zx_handle_close(exe);
    return status;
}

// core-tests with its PT_GNU_STACK turned into a PT_INTERP naming `interp`.
static zx_status_t dynamic_self(const char *interp, zx_handle_t *vmo) {
    zx_handle_t exe;
    zx_status_t status = bootfs_file_vmo(SELF_PATH, &exe);
    if (status != ZX_OK) {
        return status;
    }
    uint64_t phoff = 0;
    uint16_t phnum = 0;
    uint64_t size = 0;
    uint16_t found = UINT16_MAX;
    zx_vmo_read(exe, &phoff, 32, sizeof(phoff));
    zx_vmo_read(exe, &phnum, 56, sizeof(phnum));
    zx_vmo_get_size(exe, &size);
    for (uint16_t i = 0; i < phnum && found == UINT16_MAX; i++) {
        uint32_t type = 0;
        zx_vmo_read(exe, &type, phoff + 56u * i, sizeof(type));
        found = type == PT_GNU_STACK ? i : found;
    }
    zx_handle_close(exe);
    if (found == UINT16_MAX) {
        return ZX_ERR_NOT_FOUND;
    }
    uint8_t ph[56] = {0};
    uint32_t type = PT_INTERP;
    uint32_t flags = 4;  // PF_R
    uint64_t len = strlen(interp) + 1;
    memcpy(ph, &type, 4);
    memcpy(ph + 4, &flags, 4);
    memcpy(ph + 8, &size, 8);  // the name goes just past the file (patched_self's extra)
    memcpy(ph + 32, &len, 8);
    memcpy(ph + 40, &len, 8);
    uint64_t at;
    return patched_self(phoff + 56u * found, ph, sizeof(ph), interp, &at, vmo);
}

KTAP_CASE(pb_bad_elf_fails_and_leaves_nothing) {
    uint32_t before = handle_total();
    zx_handle_t vmo;
    struct process_builder b;
    struct pb_built built;
    KTAP_ASSERT_OK(pb_vmo_from_bytes("#!/bin/sh\n", 10, &vmo));
    KTAP_ASSERT_TRUE(builder(&b, vmo));
    KTAP_EXPECT_STATUS(pb_build(&b, &built), ZX_ERR_NOT_FOUND);
    KTAP_EXPECT_EQ(b.error.kind, PB_ERR_ELF_PARSE);
    KTAP_EXPECT_TRUE(strcmp(pb_error_kind_name(b.error.kind), "ElfParse") == 0);
    KTAP_EXPECT_EQ(handle_total(), before);
    // e_machine of the other architecture
    uint16_t other = ZHB_ELF_MACHINE == 62u ? 183 : 62;
    uint64_t at;
    KTAP_ASSERT_OK(patched_self(18, &other, sizeof(other), NULL, &at, &vmo));
    KTAP_ASSERT_TRUE(builder(&b, vmo));
    KTAP_EXPECT_STATUS(pb_build(&b, &built), ZX_ERR_NOT_FOUND);
    KTAP_EXPECT_EQ(b.error.kind, PB_ERR_ELF_PARSE);
    KTAP_EXPECT_EQ(handle_total(), before);
    // invalid handles
    KTAP_EXPECT_STATUS(pb_create(&b, ZX_HANDLE_INVALID, "x", ZX_HANDLE_INVALID,
                                 zx_vmar_root_self()),
                       ZX_ERR_BAD_HANDLE);
    KTAP_EXPECT_EQ(b.error.kind, PB_ERR_BAD_HANDLE);
    // a handle type the builder adds itself
    KTAP_ASSERT_OK(bootfs_file_vmo(SELF_PATH, &vmo));
    KTAP_ASSERT_TRUE(builder(&b, vmo));
    zx_handle_t event;
    KTAP_ASSERT_OK(zx_event_create(0, &event));
    uint32_t info = PA_HND(PA_VMO_STACK, 0);
    KTAP_EXPECT_STATUS(pb_add_handles(&b, &event, &info, 1), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_EQ(b.error.kind, PB_ERR_INVALID_ARG);
    pb_destroy(&b);
    KTAP_EXPECT_EQ(handle_total(), before);
}

KTAP_CASE(pb_interp_without_loader_fails) {
    uint32_t before = handle_total();
    zx_handle_t vmo;
    struct process_builder b;
    struct pb_built built;
    KTAP_ASSERT_OK(dynamic_self(INTERP_NAME, &vmo));
    KTAP_ASSERT_TRUE(builder(&b, vmo));
    KTAP_EXPECT_STATUS(pb_build(&b, &built), ZX_ERR_INVALID_ARGS);
    KTAP_EXPECT_EQ(b.error.kind, PB_ERR_LOADER_MISSING);
    KTAP_EXPECT_EQ(handle_total(), before);
}

// A copy of the vDSO image in a plain executable VMO: an ET_DYN file that can stand in for the
// dynamic linker (the vDSO VMO itself maps only as the process's one vDSO, and the process
// builder maps an interpreter's code straight from its VMO).
static zx_handle_t vdso_copy(void) {
    zx_handle_t vdso = vdso_dup();
    zx_handle_t copy = ZX_HANDLE_INVALID;
    uint64_t size = 0;
    uint8_t chunk[512];
    if (vdso == ZX_HANDLE_INVALID || zx_vmo_get_size(vdso, &size) != ZX_OK ||
        zx_vmo_create(size, 0, &copy) != ZX_OK) {
        zx_handle_close(vdso);
        return ZX_HANDLE_INVALID;
    }
    zx_status_t status = ZX_OK;
    for (uint64_t at = 0; at < size && status == ZX_OK; at += sizeof(chunk)) {
        uint64_t n = size - at < sizeof(chunk) ? size - at : sizeof(chunk);
        if ((status = zx_vmo_read(vdso, chunk, at, n)) == ZX_OK) {
            status = zx_vmo_write(copy, chunk, at, n);
        }
    }
    zx_handle_close(vdso);
    if (status != ZX_OK) {
        zx_handle_close(copy);
        return ZX_HANDLE_INVALID;
    }
    return zx_vmo_replace_as_executable(copy, ZX_HANDLE_INVALID, &copy) == ZX_OK
               ? copy
               : ZX_HANDLE_INVALID;
}

// A loader service on a thread of ours: answers one LoadObject for INTERP_NAME with a copy of
// the vDSO (vdso_copy) and any other name with NOT_FOUND.
struct test_loader {
    zx_handle_t server;
    char name[64];
    struct tk_failure failure;
};

static void serve_one(void *arg) {
    struct test_loader *l = arg;
    uint8_t req[LDMSG_REQ_MAX] __attribute__((aligned(8)));
    uint8_t rsp[LDMSG_RSP_SIZE] __attribute__((aligned(8)));
    uint32_t bytes = 0;
    zx_signals_t seen;
    if (zx_object_wait_one(l->server, ZX_CHANNEL_READABLE, zx_deadline_after(ZX_SEC(10)),
                           &seen) != ZX_OK ||
        zx_channel_read(l->server, 0, req, NULL, sizeof(req), 0, &bytes, NULL) != ZX_OK) {
        TK_FAIL(&l->failure, "no request", 0, 0);
        return;
    }
    uint64_t ordinal;
    uint32_t txid;
    const char *name;
    size_t len;
    if (ldmsg_decode(req, bytes, &ordinal, &txid, &name, &len) != 0 ||
        ordinal != LDMSG_OP_LOAD_OBJECT || len >= sizeof(l->name)) {
        TK_FAIL(&l->failure, "bad request", bytes, len);
        return;
    }
    memcpy(l->name, name, len);
    zx_handle_t vdso = strcmp(l->name, INTERP_NAME) == 0 ? vdso_copy() : ZX_HANDLE_INVALID;
    ldmsg_encode_reply(rsp, txid, ordinal, vdso != ZX_HANDLE_INVALID ? ZX_OK : ZX_ERR_NOT_FOUND,
                       vdso != ZX_HANDLE_INVALID);
    zx_channel_write(l->server, 0, rsp, sizeof(rsp), &vdso, vdso != ZX_HANDLE_INVALID ? 1 : 0);
}

// Builds dynamic core-tests with a loader on a thread; the thread joined, the loader's name.
static zx_status_t build_dynamic(struct process_builder *b, struct pb_built *built,
                                 struct test_loader *l, const char *interp) {
    zx_handle_t vmo, client;
    struct tk_thread t;
    *l = (struct test_loader){0};
    zx_status_t status = dynamic_self(interp, &vmo);
    if (!KTAP_EXPECT_OK(status) || !KTAP_EXPECT_OK(zx_channel_create(0, &l->server, &client)) ||
        !builder(b, vmo) || !KTAP_EXPECT_OK(pb_set_loader_service(b, client))) {
        return ZX_ERR_INTERNAL;
    }
    const char *argv0 = SELF_PATH;
    pb_add_args(b, &argv0, 1);
    pb_add_args(b, child_args, 4);
    pb_add_environ(b, child_env, 3);
    if (!KTAP_EXPECT_OK(tk_thread_start(&t, "loader", serve_one, l))) {
        return ZX_ERR_INTERNAL;
    }
    status = pb_build(b, built);
    KTAP_EXPECT_OK(tk_thread_join(&t, WAIT_MS));
    tk_report(&l->failure, __FILE__);
    zx_handle_close(l->server);
    return status;
}

KTAP_CASE(pb_interp_loaded_through_loader_service) {
    struct process_builder b;
    struct pb_built built;
    struct test_loader l;
    KTAP_ASSERT_OK(build_dynamic(&b, &built, &l, INTERP_NAME));
    KTAP_EXPECT_TRUE(strcmp(l.name, INTERP_NAME) == 0);
    KTAP_EXPECT_EQ(built.dynamic, 1u);
    struct vdso_layout layout;
    KTAP_ASSERT_TRUE(vdso_layout(&layout));
    KTAP_EXPECT_EQ(built.entry, built.elf_base + (uintptr_t)(layout.elf.entry - layout.elf.lo));
    // The low reservation is gone: the lower half can be allocated again.
    zx_info_vmar_t root;
    zx_handle_t sub;
    zx_vaddr_t addr;
    KTAP_ASSERT_OK(zx_object_get_info(built.root_vmar, ZX_INFO_VMAR, &root, sizeof(root), NULL,
                                      NULL));
    uint64_t half = (((root.base + root.len) / 2 + 4095) & ~(uint64_t)4095) - root.base;
    KTAP_EXPECT_OK(zx_vmar_allocate(built.root_vmar, ZX_VM_SPECIFIC, 0, half, &sub, &addr));
    zx_vmar_destroy(sub);
    zx_handle_close(sub);
    // First the linker message: argv[0], LD_DEBUG only, the loader, the executable, the
    // common handles; then the main message, whose size sized the stack.
    uint8_t msg[PB_MESSAGE_BYTES] __attribute__((aligned(8)));
    zx_handle_t handles[64];
    uint32_t bytes, count;
    struct processargs pa;
    const char *strings[8];
    KTAP_ASSERT_OK(zx_channel_read(built.bootstrap, 0, msg, handles, sizeof(msg), 64, &bytes,
                                   &count));
    KTAP_ASSERT_EQ(processargs_parse(&pa, msg, bytes, count), PROCESSARGS_OK);
    KTAP_EXPECT_EQ(processargs_args(&pa, strings, 8), 1u);
    KTAP_EXPECT_EQ(processargs_environ(&pa, strings, 8), 1u);
    KTAP_EXPECT_TRUE(strcmp(strings[0], "LD_DEBUG=1") == 0);
    uint32_t seen = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t type = PA_HND_TYPE(processargs_handle_info(&pa, i));
        seen |= type == PA_LDSVC_LOADER ? 1 : type == PA_VMO_EXECUTABLE ? 2 : 0;
        seen |= type == PA_VMAR_LOADED ? 4 : type == PA_PROC_SELF ? 8 : 0;
    }
    KTAP_EXPECT_EQ(seen, 15u);
    zx_handle_close_many(handles, count);
    KTAP_ASSERT_OK(zx_channel_read(built.bootstrap, 0, msg, handles, sizeof(msg), 64, &bytes,
                                   &count));
    KTAP_ASSERT_EQ(processargs_parse(&pa, msg, bytes, count), PROCESSARGS_OK);
    KTAP_EXPECT_EQ(processargs_args(&pa, strings, 8), 5u);
    KTAP_EXPECT_EQ(built.stack_size, pb_linker_stack_size(bytes, count));
    zx_handle_close_many(handles, count);
    pb_built_destroy(&built);
}

KTAP_CASE(pb_interp_unknown_to_loader_fails) {
    uint32_t before = handle_total();
    struct process_builder b;
    struct pb_built built;
    struct test_loader l;
    KTAP_EXPECT_STATUS(build_dynamic(&b, &built, &l, "lib/nope.so"), ZX_ERR_NOT_FOUND);
    KTAP_EXPECT_TRUE(strcmp(l.name, "lib/nope.so") == 0);
    KTAP_EXPECT_EQ(b.error.kind, PB_ERR_LOAD_DYNAMIC_LINKER);
    KTAP_EXPECT_EQ(handle_total(), before);
}
