// fuchsia.ldsvc.Loader messages (see <zhb/process_builder.h>). Pure: no syscalls, no
// writable static data; userboot serves the protocol, the builder and ld.so call it.
#include <lib/string.h>
#include <zhb/process_builder.h>

#define HEADER_SIZE 16u
#define FIDL_MAGIC 1u
#define PRESENT 0xFFFFFFFFFFFFFFFFull
#define HANDLE_PRESENT 0xFFFFFFFFu

static void put32(uint8_t *p, uint32_t v) {
    memcpy(p, &v, sizeof(v));
}

static void put64(uint8_t *p, uint64_t v) {
    memcpy(p, &v, sizeof(v));
}

static uint64_t get64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void header(uint8_t *p, uint32_t txid, uint64_t ordinal) {
    memset(p, 0, HEADER_SIZE);
    put32(p, txid);
    p[7] = FIDL_MAGIC;
    put64(p + 8, ordinal);
}

uint32_t ldmsg_encode(void *buf, uint32_t txid, uint64_t ordinal, const char *name, size_t len) {
    uint8_t *p = buf;
    if (len > LDMSG_MAX_NAME) {
        return 0;
    }
    header(p, txid, ordinal);
    if (ordinal == LDMSG_OP_DONE) {
        return HEADER_SIZE;
    }
    uint32_t padded = (uint32_t)((len + 7) & ~(size_t)7);
    put64(p + HEADER_SIZE, len);
    put64(p + HEADER_SIZE + 8, PRESENT);
    memset(p + HEADER_SIZE + 16, 0, padded);
    memcpy(p + HEADER_SIZE + 16, name, len);
    return HEADER_SIZE + 16 + padded;
}

int ldmsg_decode(const void *buf, uint32_t size, uint64_t *ordinal, uint32_t *txid,
                 const char **name, size_t *len) {
    const uint8_t *p = buf;
    if (size < HEADER_SIZE || p[7] != FIDL_MAGIC) {
        return -1;
    }
    memcpy(txid, p, sizeof(*txid));
    *ordinal = get64(p + 8);
    *name = NULL;
    *len = 0;
    if (*ordinal == LDMSG_OP_DONE) {
        return size == HEADER_SIZE ? 0 : -1;
    }
    if (size < HEADER_SIZE + 16) {
        return -1;
    }
    uint64_t n = get64(p + HEADER_SIZE);
    if (get64(p + HEADER_SIZE + 8) != PRESENT || n > LDMSG_MAX_NAME ||
        size != HEADER_SIZE + 16 + ((n + 7) & ~(uint64_t)7)) {
        return -1;
    }
    *name = (const char *)p + HEADER_SIZE + 16;
    *len = (size_t)n;
    return 0;
}

void ldmsg_encode_reply(void *buf, uint32_t txid, uint64_t ordinal, zx_status_t rv,
                        int has_handle) {
    uint8_t *p = buf;
    header(p, txid, ordinal);
    memset(p + HEADER_SIZE, 0, LDMSG_RSP_SIZE - HEADER_SIZE);
    put32(p + HEADER_SIZE, (uint32_t)rv);
    put32(p + HEADER_SIZE + 8, has_handle ? HANDLE_PRESENT : 0);
}
