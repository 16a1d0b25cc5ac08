// ZBI walking, checking and building in memory (<lib/zbiutil.h>, <lib/zbicopy.h>).
//
//   zbi --> +------------------+  container: type BOOT, length = bytes of all items below
//           | zbi_header_t     |
//           +------------------+  item 0: header, `length` payload bytes, zero padding to 8
//           | zbi_header_t     |
//           | payload ... pad  |
//           +------------------+  item 1 ...
//
// zbi_check() is the only function that distrusts the image; the others assume it passed.
#include <lib/zbiutil.h>

#include <lib/crc32.h>
#include <lib/string.h>
#include <lib/zbicopy.h>

static const zbi_header_t *zbi_container(const void *zbi) {
    return (const zbi_header_t *)zbi;
}

size_t zbi_size(const void *zbi) {
    return sizeof(zbi_header_t) + zbi_container(zbi)->length;
}

// Header checks every item shares (the container included): magic, version, reserved
// fields, and a crc32 field that says "no CRC" when the CRC flag is clear.
static const char *zbi_check_header(const zbi_header_t *h) {
    if (h->magic != ZBI_ITEM_MAGIC) {
        return "bad item magic";
    }
    if (!(h->flags & ZBI_FLAGS_VERSION)) {
        return "item without ZBI_FLAGS_VERSION";
    }
    if (h->reserved0 != 0 || h->reserved1 != 0) {
        return "item reserved fields not zero";
    }
    if (!(h->flags & ZBI_FLAGS_CRC32) && h->crc32 != ZBI_ITEM_NO_CRC32) {
        return "item without ZBI_FLAGS_CRC32 has crc32 other than ZBI_ITEM_NO_CRC32";
    }
    return NULL;
}

// CRC32 over the header with its crc32 field zeroed, then the payload.
static uint32_t zbi_item_crc(const zbi_header_t *h, const void *payload) {
    zbi_header_t copy = *h;
    copy.crc32 = 0;
    return crc32(crc32(0, &copy, sizeof(copy)), payload, h->length);
}

// Checks one item header at `h` with `room` bytes left in the container, and its payload.
static const char *zbi_check_item(const zbi_header_t *h, size_t room) {
    if (room < sizeof(zbi_header_t)) {
        return "item header truncated";
    }
    const char *why = zbi_check_header(h);
    if (why != NULL) {
        return why;
    }
    if (h->type == ZBI_TYPE_CONTAINER) {
        return "nested container item";
    }
    if (ZBI_ALIGN((size_t)h->length) > room - sizeof(zbi_header_t)) {
        return "item payload runs past the end of the container";
    }
    if ((h->flags & ZBI_FLAGS_CRC32) && zbi_item_crc(h, h + 1) != h->crc32) {
        return "item CRC32 mismatch";
    }
    return NULL;
}

// Checks the container header against an image of `capacity` bytes.
static const char *zbi_check_container(const zbi_header_t *c, size_t capacity) {
    if (capacity < sizeof(zbi_header_t)) {
        return "container header truncated";
    }
    if (c->type != ZBI_TYPE_CONTAINER) {
        return "first header is not a container";
    }
    if (c->extra != ZBI_CONTAINER_MAGIC) {
        return "bad container magic";
    }
    const char *why = zbi_check_header(c);
    if (why != NULL) {
        return why;
    }
    if (c->flags & ZBI_FLAGS_CRC32) {
        return "container has ZBI_FLAGS_CRC32";
    }
    if (c->length % ZBI_ALIGNMENT != 0) {
        return "container length not 8-aligned";
    }
    if (c->length > capacity - sizeof(zbi_header_t)) {
        return "container runs past the end of the image";
    }
    return NULL;
}

// Checks every item of a container that passed zbi_check_container(), and the kernel item
// rules when `kernel_type` is nonzero.
static const char *zbi_check_items(const zbi_header_t *c, uint32_t kernel_type) {
    if (kernel_type != 0 && c->length == 0) {
        return "empty ZBI";
    }
    const unsigned char *p = (const unsigned char *)(c + 1);
    const unsigned char *end = p + c->length;
    for (size_t index = 0; p < end; index++) {
        const zbi_header_t *h = (const zbi_header_t *)p;
        const char *why = zbi_check_item(h, (size_t)(end - p));
        if (why != NULL) {
            return why;
        }
        // zbitl's CheckBootable rule, as in zbi_tools: the first item is the kernel that
        // boots; kernel items after it are plain data for it (Fuchsia's chain-loading tests
        // hand them on to the next kernel).
        if (kernel_type != 0 && index == 0) {
            if (!ZBI_IS_KERNEL_TYPE(h->type)) {
                return "no kernel item found: first item is not a kernel";
            }
            if (h->type != kernel_type) {
                return "kernel item is for another architecture";
            }
            if (h->length < sizeof(zbi_kernel_t)) {
                return "kernel item shorter than zbi_kernel_t";
            }
        }
        p += sizeof(zbi_header_t) + ZBI_ALIGN((size_t)h->length);
    }
    return NULL;
}

int zbi_check(const void *zbi, size_t capacity, uint32_t kernel_type, const char **why) {
    const zbi_header_t *c = zbi_container(zbi);
    const char *problem = zbi_check_container(c, capacity);
    if (problem == NULL) {
        problem = zbi_check_items(c, kernel_type);
    }
    if (problem != NULL) {
        *why = problem;
        return -1;
    }
    return 0;
}

int zbi_for_each(const void *zbi, zbi_item_fn fn, void *ctx) {
    const unsigned char *p = (const unsigned char *)(zbi_container(zbi) + 1);
    const unsigned char *end = p + zbi_container(zbi)->length;
    while (p < end) {
        const zbi_header_t *h = (const zbi_header_t *)p;
        int r = fn(h, h + 1, ctx);
        if (r != 0) {
            return r;
        }
        p += sizeof(zbi_header_t) + ZBI_ALIGN((size_t)h->length);
    }
    return 0;
}

void zbi_init(void *zbi) {
    zbi_header_t c = {
        .type = ZBI_TYPE_CONTAINER,
        .length = 0,
        .extra = ZBI_CONTAINER_MAGIC,
        .flags = ZBI_FLAGS_VERSION,
        .magic = ZBI_ITEM_MAGIC,
        .crc32 = ZBI_ITEM_NO_CRC32,
    };
    memcpy(zbi, &c, sizeof(c));
}

int zbi_append_item(void *zbi, size_t capacity, const zbi_header_t *hdr, const void *payload) {
    zbi_header_t *c = (zbi_header_t *)zbi;
    size_t used = zbi_size(zbi);
    size_t padded = ZBI_ALIGN((size_t)hdr->length);
    if (used > capacity || sizeof(zbi_header_t) + padded > capacity - used) {
        return -1;
    }
    unsigned char *at = (unsigned char *)zbi + used;
    memcpy(at, hdr, sizeof(zbi_header_t));
    memcpy(at + sizeof(zbi_header_t), payload, hdr->length);
    memset(at + sizeof(zbi_header_t) + hdr->length, 0, padded - hdr->length);
    c->length += (uint32_t)(sizeof(zbi_header_t) + padded);
    return 0;
}

int zbi_append(void *zbi, size_t capacity, uint32_t type, uint32_t extra, const void *payload,
               uint32_t length) {
    zbi_header_t h = {
        .type = type,
        .length = length,
        .extra = extra,
        .flags = ZBI_FLAGS_VERSION,
        .magic = ZBI_ITEM_MAGIC,
        .crc32 = ZBI_ITEM_NO_CRC32,
    };
    return zbi_append_item(zbi, capacity, &h, payload);
}
