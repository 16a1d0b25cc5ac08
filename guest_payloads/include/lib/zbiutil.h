// Walking, checking and extending ZBIs in memory (lib/zbiutil.c), shared by the boot shims
// and the kernel. All functions work on an image whose container header is at `zbi`.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <lib/zbi-format/zbi.h>

// Validates the container and every item: magics, version flag, container extra/flags,
// 8-byte alignment, lengths within the container and within `capacity` bytes, reserved
// fields, CRC32 of items that carry ZBI_FLAGS_CRC32 (else crc32 == ZBI_ITEM_NO_CRC32).
// If `kernel_type` is nonzero the first item must be a kernel item of exactly that type,
// holding a zbi_kernel_t; later items may be of any type, kernel items included.
// Returns 0 if valid, else -1 with *why set to a static message naming the problem.
int zbi_check(const void *zbi, size_t capacity, uint32_t kernel_type, const char **why);

// Calls fn(hdr, payload, ctx) for every item after the container header, in order.
// Stops early and returns fn's value when fn returns nonzero; returns 0 otherwise.
// Assumes the image passed zbi_check().
typedef int (*zbi_item_fn)(const zbi_header_t *hdr, const void *payload, void *ctx);
int zbi_for_each(const void *zbi, zbi_item_fn fn, void *ctx);

// Total bytes of the image: container header plus its length.
size_t zbi_size(const void *zbi);

// Writes an empty container header at `zbi`.
void zbi_init(void *zbi);

// Appends one item (flags ZBI_FLAGS_VERSION, no CRC) with a copy of `payload`, zero-padding
// it to ZBI_ALIGNMENT. Returns 0, or -1 if the result would exceed `capacity` bytes.
int zbi_append(void *zbi, size_t capacity, uint32_t type, uint32_t extra,
               const void *payload, uint32_t length);
