// Copying existing items between ZBIs verbatim (lib/zbiutil.c), for boot shims that build
// the data ZBI from the items of the booted image. Unlike zbi_append() this keeps the item's
// flags (STORAGE_COMPRESSED, CRC32), extra and CRC exactly as they were.
#pragma once

#include <stddef.h>

#include <lib/zbi-format/zbi.h>

// Appends a copy of the item `hdr` with its `payload` (hdr->length bytes) to the container at
// `zbi`, zero-padding it to ZBI_ALIGNMENT. Returns 0, or -1 if the result would exceed
// `capacity` bytes (the container is then unchanged).
int zbi_append_item(void *zbi, size_t capacity, const zbi_header_t *hdr, const void *payload);
