// CRC-32/IEEE (zlib's crc32(), <lib/crc32.h>): reflected polynomial 0xEDB88320, initial value
// and final XOR all ones. One 256-entry table, built on first use (lib has no constructors).
#include <lib/crc32.h>

#include <stdbool.h>

#define CRC32_POLY_REFLECTED 0xedb88320u

static uint32_t crc32_table[256];
static bool crc32_table_ready;

// Fills crc32_table: entry i is the CRC register after shifting byte i through it.
static void crc32_init_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int bit = 0; bit < 8; bit++) {
            c = (c & 1) ? (c >> 1) ^ CRC32_POLY_REFLECTED : c >> 1;
        }
        crc32_table[i] = c;
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
    while (len-- > 0) {
        c = crc32_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    }
    return ~c;
}
