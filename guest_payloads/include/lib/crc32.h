// CRC-32/IEEE as zlib's crc32() computes it (lib/crc32.c): crc32(0, buf, len) for a fresh
// checksum; pass the previous result to continue over more bytes.
#pragma once

#include <stddef.h>
#include <stdint.h>

uint32_t crc32(uint32_t crc, const void *buf, size_t len);
