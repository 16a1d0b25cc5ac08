// LZ4 frame decoder and xxHash32: see lz4.h for the format summary.
#include "lz4.h"

#include <stdbool.h>

#define LZ4_FRAME_MAGIC 0x184D2204u
#define LZ4_SKIPPABLE_MAGIC 0x184D2A50u  // low 4 bits: any
#define LZ4_SKIPPABLE_MASK 0xFFFFFFF0u

#define FLG_VERSION_SHIFT 6
#define FLG_BLOCK_INDEPENDENT 0x20u
#define FLG_BLOCK_CHECKSUM 0x10u
#define FLG_CONTENT_SIZE 0x08u
#define FLG_CONTENT_CHECKSUM 0x04u
#define FLG_RESERVED 0x02u
#define FLG_DICT_ID 0x01u
#define BD_RESERVED 0x8Fu
#define BLOCK_UNCOMPRESSED 0x80000000u
#define MIN_MATCH 4

#define PRIME1 2654435761u
#define PRIME2 2246822519u
#define PRIME3 3266489917u
#define PRIME4 668265263u
#define PRIME5 374761393u

static uint32_t rotl32(uint32_t x, unsigned r) {
    return (x << r) | (x >> (32 - r));
}

static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p) {
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint32_t xxh32_round(uint32_t acc, uint32_t lane) {
    return rotl32(acc + lane * PRIME2, 13) * PRIME1;
}

uint32_t xxh32(const void *data, size_t len, uint32_t seed) {
    const uint8_t *p = data;
    const uint8_t *end = p + len;
    uint32_t h;
    if (len >= 16) {
        uint32_t v1 = seed + PRIME1 + PRIME2;
        uint32_t v2 = seed + PRIME2;
        uint32_t v3 = seed;
        uint32_t v4 = seed - PRIME1;
        for (; end - p >= 16; p += 16) {
            v1 = xxh32_round(v1, le32(p));
            v2 = xxh32_round(v2, le32(p + 4));
            v3 = xxh32_round(v3, le32(p + 8));
            v4 = xxh32_round(v4, le32(p + 12));
        }
        h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
    } else {
        h = seed + PRIME5;
    }
    h += (uint32_t)len;
    for (; end - p >= 4; p += 4) {
        h = rotl32(h + le32(p) * PRIME3, 17) * PRIME4;
    }
    for (; p < end; p++) {
        h = rotl32(h + *p * PRIME5, 11) * PRIME1;
    }
    h ^= h >> 15;
    h *= PRIME2;
    h ^= h >> 13;
    h *= PRIME3;
    h ^= h >> 16;
    return h;
}

// Decoding state of one call: input cursor, output buffer, and where an error was found.
struct lz4_reader {
    const uint8_t *src;
    size_t len;
    size_t pos;
    uint8_t *dst;
    size_t cap;
    size_t out;
    size_t err_pos;
};

static int fail(struct lz4_reader *r, size_t where, int status) {
    r->err_pos = where;
    return status;
}

static bool have(const struct lz4_reader *r, size_t n) {
    return r->len - r->pos >= n;
}

// A length continued in 255-valued bytes (literal run or match length of 15).
static int read_extra_length(struct lz4_reader *r, size_t end, size_t *length) {
    uint8_t byte;
    do {
        if (r->pos >= end) {
            return fail(r, r->pos, LZ4_ERR_CORRUPT_BLOCK);
        }
        byte = r->src[r->pos++];
        *length += byte;
    } while (byte == 255);
    return LZ4_OK;
}

// Room for n more output bytes in this block (whose output may not pass block_end).
static int check_room(struct lz4_reader *r, size_t n, size_t block_end) {
    if (n > r->cap - r->out) {
        return fail(r, r->pos, LZ4_ERR_OUTPUT_TOO_SMALL);
    }
    if (n > block_end - r->out) {
        return fail(r, r->pos, LZ4_ERR_CORRUPT_BLOCK);
    }
    return LZ4_OK;
}

// One compressed block of `size` input bytes at r->pos; matches may reach back to
// window_start. block_max bounds its output.
static int decode_block(struct lz4_reader *r, size_t size, size_t window_start, size_t block_max) {
    size_t end = r->pos + size;
    size_t block_end = r->out + block_max;
    int status;
    for (;;) {
        if (r->pos >= end) {
            return fail(r, r->pos, LZ4_ERR_CORRUPT_BLOCK);
        }
        uint8_t token = r->src[r->pos++];
        size_t literals = token >> 4;
        if (literals == 15 && (status = read_extra_length(r, end, &literals)) != LZ4_OK) {
            return status;
        }
        if (literals > end - r->pos) {
            return fail(r, r->pos, LZ4_ERR_CORRUPT_BLOCK);
        }
        if ((status = check_room(r, literals, block_end)) != LZ4_OK) {
            return status;
        }
        for (size_t i = 0; i < literals; i++) {
            r->dst[r->out + i] = r->src[r->pos + i];
        }
        r->pos += literals;
        r->out += literals;
        if (r->pos == end) {
            return LZ4_OK;  // the last sequence has literals only
        }
        if (end - r->pos < 2) {
            return fail(r, r->pos, LZ4_ERR_CORRUPT_BLOCK);
        }
        size_t offset = (size_t)r->src[r->pos] | (size_t)r->src[r->pos + 1] << 8;
        if (offset == 0 || offset > r->out - window_start) {
            return fail(r, r->pos, LZ4_ERR_CORRUPT_BLOCK);
        }
        r->pos += 2;
        size_t match = token & 15u;
        if (match == 15 && (status = read_extra_length(r, end, &match)) != LZ4_OK) {
            return status;
        }
        match += MIN_MATCH;
        if ((status = check_room(r, match, block_end)) != LZ4_OK) {
            return status;
        }
        for (size_t i = 0; i < match; i++) {  // byte by byte: a match may overlap itself
            r->dst[r->out + i] = r->dst[r->out + i - offset];
        }
        r->out += match;
    }
}

static int read_descriptor(struct lz4_reader *r, uint8_t *flg, size_t *block_max,
                           uint64_t *content_size) {
    size_t start = r->pos;
    if (!have(r, 3)) {
        return fail(r, r->pos, LZ4_ERR_TRUNCATED);
    }
    *flg = r->src[r->pos];
    uint8_t bd = r->src[r->pos + 1];
    if ((*flg >> FLG_VERSION_SHIFT) != 1) {
        return fail(r, r->pos, LZ4_ERR_VERSION);
    }
    if ((*flg & FLG_RESERVED) || (bd & BD_RESERVED)) {
        return fail(r, r->pos, LZ4_ERR_RESERVED);
    }
    if (*flg & FLG_DICT_ID) {
        return fail(r, r->pos, LZ4_ERR_DICTIONARY);
    }
    unsigned id = (bd >> 4) & 7u;
    if (id < 4) {
        return fail(r, r->pos + 1, LZ4_ERR_BLOCK_MAX);
    }
    *block_max = (size_t)1 << (8 + 2 * id);  // 4: 64 KiB, 5: 256 KiB, 6: 1 MiB, 7: 4 MiB
    r->pos += 2;
    if (*flg & FLG_CONTENT_SIZE) {
        if (!have(r, 9)) {
            return fail(r, r->pos, LZ4_ERR_TRUNCATED);
        }
        *content_size = le64(r->src + r->pos);
        r->pos += 8;
    }
    uint8_t expected = (uint8_t)(xxh32(r->src + start, r->pos - start, 0) >> 8);
    if (r->src[r->pos] != expected) {
        return fail(r, r->pos, LZ4_ERR_HEADER_CHECKSUM);
    }
    r->pos++;
    return LZ4_OK;
}

static int check_checksum(struct lz4_reader *r, const uint8_t *data, size_t len, int status) {
    if (!have(r, 4)) {
        return fail(r, r->pos, LZ4_ERR_TRUNCATED);
    }
    if (le32(r->src + r->pos) != xxh32(data, len, 0)) {
        return fail(r, r->pos, status);
    }
    r->pos += 4;
    return LZ4_OK;
}

// One frame, r->pos just past its magic.
static int decode_frame(struct lz4_reader *r) {
    uint8_t flg;
    size_t block_max;
    uint64_t content_size = 0;
    int status = read_descriptor(r, &flg, &block_max, &content_size);
    if (status != LZ4_OK) {
        return status;
    }
    size_t frame_start = r->out;
    for (;;) {
        if (!have(r, 4)) {
            return fail(r, r->pos, LZ4_ERR_TRUNCATED);
        }
        size_t header_pos = r->pos;
        uint32_t word = le32(r->src + r->pos);
        r->pos += 4;
        if (word == 0) {
            break;
        }
        size_t size = word & ~BLOCK_UNCOMPRESSED;
        if (size > block_max) {
            return fail(r, header_pos, LZ4_ERR_BLOCK_SIZE);
        }
        if (!have(r, size)) {
            return fail(r, r->pos, LZ4_ERR_TRUNCATED);
        }
        const uint8_t *data = r->src + r->pos;
        if (word & BLOCK_UNCOMPRESSED) {
            if (size > r->cap - r->out) {
                return fail(r, r->pos, LZ4_ERR_OUTPUT_TOO_SMALL);
            }
            for (size_t i = 0; i < size; i++) {
                r->dst[r->out + i] = data[i];
            }
            r->out += size;
            r->pos += size;
        } else {
            size_t window = (flg & FLG_BLOCK_INDEPENDENT) ? r->out : frame_start;
            if ((status = decode_block(r, size, window, block_max)) != LZ4_OK) {
                return status;
            }
        }
        if ((flg & FLG_BLOCK_CHECKSUM) &&
            (status = check_checksum(r, data, size, LZ4_ERR_BLOCK_CHECKSUM)) != LZ4_OK) {
            return status;
        }
    }
    size_t produced = r->out - frame_start;
    if ((flg & FLG_CONTENT_SIZE) && content_size != produced) {
        return fail(r, r->pos, LZ4_ERR_CONTENT_SIZE);
    }
    if (flg & FLG_CONTENT_CHECKSUM) {
        return check_checksum(r, r->dst + frame_start, produced, LZ4_ERR_CONTENT_CHECKSUM);
    }
    return LZ4_OK;
}

int lz4_decompress(const void *src, size_t src_len, void *dst, size_t dst_cap, size_t *out_len,
                   size_t *err_offset) {
    struct lz4_reader r = {.src = src, .len = src_len, .dst = dst, .cap = dst_cap};
    int status = LZ4_OK;
    if (src_len < 4) {
        status = fail(&r, 0, LZ4_ERR_TRUNCATED);
    }
    while (status == LZ4_OK && r.pos < r.len) {
        if (!have(&r, 4)) {
            status = fail(&r, r.pos, LZ4_ERR_TRUNCATED);
            break;
        }
        uint32_t magic = le32(r.src + r.pos);
        if (magic == LZ4_FRAME_MAGIC) {
            r.pos += 4;
            status = decode_frame(&r);
        } else if ((magic & LZ4_SKIPPABLE_MASK) == LZ4_SKIPPABLE_MAGIC) {
            if (!have(&r, 8) || le32(r.src + r.pos + 4) > r.len - r.pos - 8) {
                status = fail(&r, r.pos, LZ4_ERR_TRUNCATED);
            } else {
                r.pos += 8 + (size_t)le32(r.src + r.pos + 4);
            }
        } else {
            status = fail(&r, r.pos, LZ4_ERR_MAGIC);
        }
    }
    if (status == LZ4_OK) {
        *out_len = r.out;
    } else if (err_offset != NULL) {
        *err_offset = r.err_pos;
    }
    return status;
}

const char *lz4_strerror(int status) {
    switch (status) {
    case LZ4_OK:
        return "ok";
    case LZ4_ERR_TRUNCATED:
        return "truncated LZ4 frame";
    case LZ4_ERR_MAGIC:
        return "bad LZ4 frame magic";
    case LZ4_ERR_VERSION:
        return "unsupported LZ4 frame version";
    case LZ4_ERR_RESERVED:
        return "reserved LZ4 descriptor bit set";
    case LZ4_ERR_DICTIONARY:
        return "LZ4 dictionaries are not supported";
    case LZ4_ERR_BLOCK_MAX:
        return "bad LZ4 block maximum size";
    case LZ4_ERR_HEADER_CHECKSUM:
        return "bad LZ4 header checksum";
    case LZ4_ERR_BLOCK_SIZE:
        return "LZ4 block larger than its maximum size";
    case LZ4_ERR_CORRUPT_BLOCK:
        return "corrupt LZ4 block";
    case LZ4_ERR_BLOCK_CHECKSUM:
        return "bad LZ4 block checksum";
    case LZ4_ERR_CONTENT_CHECKSUM:
        return "bad LZ4 content checksum";
    case LZ4_ERR_CONTENT_SIZE:
        return "LZ4 content size mismatch";
    case LZ4_ERR_OUTPUT_TOO_SMALL:
        return "LZ4 output larger than expected";
    default:
        return "unknown LZ4 error";
    }
}
