// userboot's fuchsia.ldsvc.Loader (see userboot.h): LoadObject(name) answers with a
// read-only, executable-capable copy of BOOTFS file [<userboot.root>/]lib/<name>; an
// unknown name gets ZX_ERR_NOT_FOUND; Config is accepted and ignored; Done or the client
// closing its end ends the service. Every load and the end are console lines, the last one
// written before userboot closes its end (ld.so waits for that before the program runs).
#include <lib/console.h>
#include <lib/string.h>
#include <zhb/process_builder.h>

#include "bootfs.h"
#include "userboot.h"

#define LIB_RIGHTS (ZX_RIGHTS_BASIC | ZX_RIGHT_READ | ZX_RIGHT_EXECUTE | ZX_RIGHT_MAP | \
                    ZX_RIGHT_GET_PROPERTY)

zx_status_t ldsvc_lookup(const struct bootfs *fs, const char *root, const char *name,
                         zx_handle_t *vmo, char *path, size_t path_size) {
    int n = snprintf(path, path_size, "%s%slib/%s", root, root[0] != '\0' ? "/" : "", name);
    if (n < 0 || (size_t)n >= path_size - 1) {
        return ZX_ERR_INVALID_ARGS;
    }
    struct bootfs_entry entry;
    if (bootfs_find(fs, path, &entry) != BOOTFS_OK) {
        return ZX_ERR_NOT_FOUND;
    }
    zx_handle_t copy;
    zx_status_t status = pb_vmo_from_bytes(entry.data, entry.data_len, &copy);
    if (status != ZX_OK) {
        return status;
    }
    return zx_handle_replace(copy, LIB_RIGHTS, vmo);
}

// One request; false when the service should end (Done or a malformed message).
static bool serve_one(const struct bootfs *fs, const char *root, zx_handle_t server,
                      uint32_t *loads) {
    uint8_t req[LDMSG_REQ_MAX] __attribute__((aligned(8)));
    uint8_t rsp[LDMSG_RSP_SIZE] __attribute__((aligned(8)));
    char path[USERBOOT_LINE_MAX / 2];
    char text[USERBOOT_LINE_MAX];
    uint32_t bytes = 0;
    uint32_t handles = 0;
    zx_handle_t stray;
    if (zx_channel_read(server, 0, req, &stray, sizeof(req), 1, &bytes, &handles) != ZX_OK) {
        userboot_say("loader: unreadable request");
        return false;
    }
    if (handles != 0) {
        zx_handle_close(stray);
    }
    uint64_t ordinal;
    uint32_t txid;
    const char *name;
    size_t len;
    if (ldmsg_decode(req, bytes, &ordinal, &txid, &name, &len) != 0 || ordinal == LDMSG_OP_DONE) {
        if (ordinal != LDMSG_OP_DONE) {
            userboot_say("loader: malformed request");
        }
        return false;
    }
    zx_handle_t vmo = ZX_HANDLE_INVALID;
    zx_status_t status = ZX_OK;
    char want[LDMSG_MAX_NAME + 1];
    memcpy(want, name, len);
    want[len] = '\0';
    if (ordinal == LDMSG_OP_LOAD_OBJECT && strlen(want) != len) {
        status = ZX_ERR_INVALID_ARGS;  // a NUL inside the name
    } else if (ordinal == LDMSG_OP_LOAD_OBJECT) {
        status = ldsvc_lookup(fs, root, want, &vmo, path, sizeof(path));
        if (status == ZX_OK) {
            (*loads)++;
            snprintf(text, sizeof(text), "loader: served %s", path);
        } else {
            snprintf(text, sizeof(text), "loader: lib/%s: not served (status %d)", want, status);
        }
        userboot_say(text);
    } else if (ordinal != LDMSG_OP_CONFIG) {
        status = ZX_ERR_NOT_SUPPORTED;
    }
    ldmsg_encode_reply(rsp, txid, ordinal, status, vmo != ZX_HANDLE_INVALID);
    zx_channel_write(server, 0, rsp, sizeof(rsp), &vmo, vmo != ZX_HANDLE_INVALID ? 1 : 0);
    return true;
}

void ldsvc_serve(const struct bootfs *fs, const char *root, zx_handle_t server) {
    uint32_t loads = 0;
    for (;;) {
        zx_signals_t seen = 0;
        if (zx_object_wait_one(server, ZX_CHANNEL_READABLE | ZX_CHANNEL_PEER_CLOSED,
                               ZX_TIME_INFINITE, &seen) != ZX_OK) {
            break;
        }
        if (!(seen & ZX_CHANNEL_READABLE)) {
            break;  // peer closed and nothing left to read
        }
        if (!serve_one(fs, root, server, &loads)) {
            break;
        }
    }
    char text[USERBOOT_LINE_MAX];
    snprintf(text, sizeof(text), "loader: channel closed after %u loads", loads);
    userboot_say(text);
    zx_handle_close(server);
}
