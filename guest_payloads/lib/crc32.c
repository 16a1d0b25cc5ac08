// CRC-32/IEEE (zlib's crc32(), <lib/crc32.h>): reflected polynomial 0xEDB88320, initial value
// and final XOR all ones. Slicing by 8: table[0] is the classic byte table, table[k][i] the
// register after byte i and k zero bytes, so one aligned 8-byte load and eight lookups
// advance the CRC by eight bytes (both targets are little-endian, so the word's low byte is
// the first). Bytes go one at a time up to alignment and at the end: only aligned loads, as
// the arm64 shim runs with the MMU off. Tables built on first use (lib has no constructors).
#include <lib/crc32.h>

#include <stdbool.h>
#include <stdint.h>

#define CRC32_POLY_REFLECTED 0xedb88320u
#define SLICES 8

typedef uint64_t __attribute__((may_alias)) crc_word_t;

static uint32_t crc32_table[SLICES][256];
static bool crc32_table_ready;

static void crc32_init_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int bit = 0; bit < 8; bit++) {
            c = (c & 1) ? (c >> 1) ^ CRC32_POLY_REFLECTED : c >> 1;
        }
        crc32_table[0][i] = c;
    }
    for (int k = 1; k < SLICES; k++) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t prev = crc32_table[k - 1][i];
            crc32_table[k][i] = (prev >> 8) ^ crc32_table[0][prev & 0xff];
        }
    }
    crc32_table_ready = true;
}

// Continues the checksum `crc` (0 for a fresh one) over len bytes at buf.
uint32_t crc32(uint32_t crc, const void *buf, size_t len) {
    if (!crc32_table_ready) {
        crc32_init_table();
    }
    const unsigned char *p = buf;
    uint32_t c = ~crc;
    for (; len > 0 && ((uintptr_t)p & (sizeof(crc_word_t) - 1)) != 0; len--) {
        c = crc32_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    }
    for (; len >= sizeof(crc_word_t); len -= sizeof(crc_word_t), p += sizeof(crc_word_t)) {
        uint64_t w = *(const crc_word_t *)p ^ c;
        c = crc32_table[7][w & 0xff] ^ crc32_table[6][(w >> 8) & 0xff] ^
            crc32_table[5][(w >> 16) & 0xff] ^ crc32_table[4][(w >> 24) & 0xff] ^
            crc32_table[3][(w >> 32) & 0xff] ^ crc32_table[2][(w >> 40) & 0xff] ^
            crc32_table[1][(w >> 48) & 0xff] ^ crc32_table[0][w >> 56];
    }
    for (; len > 0; len--) {
        c = crc32_table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
    }
    return ~c;
}
