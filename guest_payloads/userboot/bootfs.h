// BOOTFS directory parsing and the ZBI walk that finds it (userboot/bootfs.c). Pure
// functions over memory (no syscalls, no writable static data): userboot uses them on
// mapped VMOs, tests/test_userabi.py compiles them natively on the host.
//
// BOOTFS image (every field a little-endian u32; bootfs_tools/format.py is the host twin):
//   0       magic BOOTFS_MAGIC, dirsize, reserved0 = 0, reserved1 = 0
//   16      dirsize bytes of entries: name_len, data_len, data_off, then name_len bytes of
//           name including its NUL, zero-padded to 4 bytes
//   data    each file at a page-aligned data_off past the directory, within the image
#pragma once

#include <stddef.h>
#include <stdint.h>

#define BOOTFS_MAGIC 0xA56D3FF9u
#define BOOTFS_PAGE_SIZE 4096u
#define BOOTFS_HEADER_SIZE 16u
#define BOOTFS_DIRENT_SIZE 12u
#define BOOTFS_MAX_NAME_LEN 256u  // including the NUL

enum bootfs_status {
    BOOTFS_OK = 0,
    BOOTFS_END,            // bootfs_next: no more entries
    BOOTFS_ERR_TRUNCATED,  // image shorter than its header or directory
    BOOTFS_ERR_MAGIC,      // bad magic
    BOOTFS_ERR_RESERVED,   // a reserved header field is not zero
    BOOTFS_ERR_ENTRY,      // an entry runs past the directory
    BOOTFS_ERR_NAME,       // bad name_len or a name not NUL-terminated exactly once
    BOOTFS_ERR_DATA,       // data_off not page-aligned, inside the directory or past the end
    BOOTFS_ERR_NOT_FOUND,  // bootfs_find: no such file
    ZBI_ERR_CONTAINER,     // zbi_find_item: not a ZBI container
    ZBI_ERR_ITEM,          // zbi_find_item: a bad item header or length
    ZBI_ERR_NOT_FOUND,     // zbi_find_item: no item of that type
};

struct bootfs {
    const uint8_t *image;
    size_t size;
    uint32_t dirsize;
};

struct bootfs_entry {
    const char *name;   // NUL-terminated, inside the image
    uint32_t name_len;  // without the NUL
    uint32_t data_len;
    uint32_t data_off;
    const uint8_t *data;  // image + data_off
};

// Checks the header; on BOOTFS_OK *fs describes the image.
int bootfs_open(struct bootfs *fs, const void *image, size_t size);

// The entry at directory offset *cursor (start with 0): BOOTFS_OK and *cursor advanced,
// BOOTFS_END after the last one, or an error. On error *cursor is where the bad entry is.
int bootfs_next(const struct bootfs *fs, size_t *cursor, struct bootfs_entry *entry);

// The entry named `name` (checking every entry before it).
int bootfs_find(const struct bootfs *fs, const char *name, struct bootfs_entry *entry);

// The first item of `type` in the ZBI container at zbi[0..size): its header and payload.
int zbi_find_item(const void *zbi, size_t size, uint32_t type, const void **header,
                  const void **payload);

// Bytes of RAM (type ZBI_MEM_TYPE_RAM, saturating at UINT64_MAX) in the first MEM_CONFIG item
// of the ZBI container at zbi[0..size), or 0 if there is none.
uint64_t zbi_ram_size(const void *zbi, size_t size);

const char *bootfs_strerror(int status);
