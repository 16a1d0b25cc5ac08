// BOOTFS parsing and the ZBI item search: see bootfs.h.
#include "bootfs.h"

#include <lib/zbi-format/zbi.h>

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t align4(size_t n) {
    return (n + 3) & ~(size_t)3;
}

static uint64_t page_align(uint64_t n) {
    return (n + BOOTFS_PAGE_SIZE - 1) & ~(uint64_t)(BOOTFS_PAGE_SIZE - 1);
}

int bootfs_open(struct bootfs *fs, const void *image, size_t size) {
    const uint8_t *p = image;
    if (size < BOOTFS_HEADER_SIZE) {
        return BOOTFS_ERR_TRUNCATED;
    }
    if (rd32(p) != BOOTFS_MAGIC) {
        return BOOTFS_ERR_MAGIC;
    }
    if (rd32(p + 8) != 0 || rd32(p + 12) != 0) {
        return BOOTFS_ERR_RESERVED;
    }
    uint32_t dirsize = rd32(p + 4);
    if (dirsize > size - BOOTFS_HEADER_SIZE) {
        return BOOTFS_ERR_TRUNCATED;
    }
    fs->image = p;
    fs->size = size;
    fs->dirsize = dirsize;
    return BOOTFS_OK;
}

int bootfs_next(const struct bootfs *fs, size_t *cursor, struct bootfs_entry *entry) {
    size_t pos = *cursor;
    if (pos >= fs->dirsize) {
        return BOOTFS_END;
    }
    if (fs->dirsize - pos < BOOTFS_DIRENT_SIZE) {
        return BOOTFS_ERR_ENTRY;
    }
    const uint8_t *dirent = fs->image + BOOTFS_HEADER_SIZE + pos;
    uint32_t name_len = rd32(dirent);
    uint32_t data_len = rd32(dirent + 4);
    uint32_t data_off = rd32(dirent + 8);
    if (name_len < 2 || name_len > BOOTFS_MAX_NAME_LEN) {
        return BOOTFS_ERR_NAME;
    }
    size_t size = align4(BOOTFS_DIRENT_SIZE + name_len);
    if (size > fs->dirsize - pos) {
        return BOOTFS_ERR_ENTRY;
    }
    const char *name = (const char *)dirent + BOOTFS_DIRENT_SIZE;
    for (uint32_t i = 0; i + 1 < name_len; i++) {
        if (name[i] == '\0') {
            return BOOTFS_ERR_NAME;
        }
    }
    if (name[name_len - 1] != '\0') {
        return BOOTFS_ERR_NAME;
    }
    uint64_t data_start = page_align(BOOTFS_HEADER_SIZE + (uint64_t)fs->dirsize);
    if (data_off % BOOTFS_PAGE_SIZE != 0 || data_off < data_start ||
        (uint64_t)data_off + data_len > fs->size) {
        return BOOTFS_ERR_DATA;
    }
    entry->name = name;
    entry->name_len = name_len - 1;
    entry->data_len = data_len;
    entry->data_off = data_off;
    entry->data = fs->image + data_off;
    *cursor = pos + size;
    return BOOTFS_OK;
}

static int name_equal(const struct bootfs_entry *entry, const char *name) {
    uint32_t i = 0;
    for (; i < entry->name_len && name[i] != '\0'; i++) {
        if (entry->name[i] != name[i]) {
            return 0;
        }
    }
    return i == entry->name_len && name[i] == '\0';
}

int bootfs_find(const struct bootfs *fs, const char *name, struct bootfs_entry *entry) {
    size_t cursor = 0;
    int status;
    while ((status = bootfs_next(fs, &cursor, entry)) == BOOTFS_OK) {
        if (name_equal(entry, name)) {
            return BOOTFS_OK;
        }
    }
    return status == BOOTFS_END ? BOOTFS_ERR_NOT_FOUND : status;
}

int zbi_find_item(const void *zbi, size_t size, uint32_t type, const void **header,
                  const void **payload) {
    const uint8_t *base = zbi;
    const size_t hdr = sizeof(zbi_header_t);
    if (size < hdr || rd32(base) != ZBI_TYPE_CONTAINER || rd32(base + 24) != ZBI_ITEM_MAGIC ||
        rd32(base + 8) != ZBI_CONTAINER_MAGIC) {
        return ZBI_ERR_CONTAINER;
    }
    uint32_t length = rd32(base + 4);
    if (length > size - hdr || length % ZBI_ALIGNMENT != 0) {
        return ZBI_ERR_CONTAINER;
    }
    size_t end = hdr + length;
    for (size_t pos = hdr; pos < end;) {
        if (end - pos < hdr || rd32(base + pos + 24) != ZBI_ITEM_MAGIC) {
            return ZBI_ERR_ITEM;
        }
        uint32_t item_len = rd32(base + pos + 4);
        if (item_len > end - pos - hdr) {
            return ZBI_ERR_ITEM;
        }
        if (rd32(base + pos) == type) {
            *header = base + pos;
            *payload = base + pos + hdr;
            return BOOTFS_OK;
        }
        pos += hdr + ZBI_ALIGN((size_t)item_len);
    }
    return ZBI_ERR_NOT_FOUND;
}

static uint64_t rd64(const uint8_t *p) {
    return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

uint64_t zbi_ram_size(const void *zbi, size_t size) {
    const void *header;
    const void *payload;
    if (zbi_find_item(zbi, size, ZBI_TYPE_MEM_CONFIG, &header, &payload) != BOOTFS_OK) {
        return 0;
    }
    uint32_t length = rd32((const uint8_t *)header + 4);
    uint64_t total = 0;
    for (size_t at = 0; length - at >= sizeof(zbi_mem_range_t); at += sizeof(zbi_mem_range_t)) {
        const uint8_t *range = (const uint8_t *)payload + at;
        uint64_t bytes = rd64(range + 8);
        if (rd32(range + 16) == ZBI_MEM_TYPE_RAM) {
            total = bytes > UINT64_MAX - total ? UINT64_MAX : total + bytes;
        }
    }
    return total;
}

const char *bootfs_strerror(int status) {
    switch (status) {
    case BOOTFS_OK:
        return "ok";
    case BOOTFS_END:
        return "end of directory";
    case BOOTFS_ERR_TRUNCATED:
        return "truncated BOOTFS image";
    case BOOTFS_ERR_MAGIC:
        return "bad BOOTFS magic";
    case BOOTFS_ERR_RESERVED:
        return "BOOTFS reserved header field is not zero";
    case BOOTFS_ERR_ENTRY:
        return "BOOTFS entry runs past the directory";
    case BOOTFS_ERR_NAME:
        return "bad BOOTFS entry name";
    case BOOTFS_ERR_DATA:
        return "bad BOOTFS file data offset or length";
    case BOOTFS_ERR_NOT_FOUND:
        return "file not found in BOOTFS";
    case ZBI_ERR_CONTAINER:
        return "bad ZBI container";
    case ZBI_ERR_ITEM:
        return "bad ZBI item";
    case ZBI_ERR_NOT_FOUND:
        return "no BOOTFS item in the ZBI";
    default:
        return "unknown BOOTFS error";
    }
}
