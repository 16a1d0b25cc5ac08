// LZ4 frame decompression and xxHash32 (userboot/lz4.c), written from the LZ4 frame and
// block format specifications. Pure functions over memory: no syscalls, no allocation, no
// writable static data, so they run in userboot (an RODSO) and compile natively on the host.
//
// Frame: magic 0x184D2204, FLG, BD, [content size u64], [dictionary id u32], HC =
// (xxh32(FLG..last descriptor byte, 0) >> 8) & 0xff; blocks, each a u32 size (bit 31 set:
// stored uncompressed) then data and, with FLG.B.Checksum, xxh32 of the stored data; a zero
// u32 ends the blocks; with FLG.C.Checksum, xxh32 of the frame's decompressed content.
// Linked blocks may copy from the previous 64 KiB of output; independent blocks only from
// their own. Skippable frames (magic 0x184D2A50..5F) are skipped; concatenated frames
// decompress back to back. Dictionaries (FLG.DictID) are not supported.
#pragma once

#include <stddef.h>
#include <stdint.h>

enum lz4_status {
    LZ4_OK = 0,
    LZ4_ERR_TRUNCATED,         // input ends inside a header, block or checksum
    LZ4_ERR_MAGIC,             // not an LZ4 frame or skippable frame
    LZ4_ERR_VERSION,           // FLG version bits are not 01
    LZ4_ERR_RESERVED,          // a reserved FLG/BD bit is set
    LZ4_ERR_DICTIONARY,        // FLG.DictID: dictionaries are not supported
    LZ4_ERR_BLOCK_MAX,         // BD block maximum size id is not 4..7
    LZ4_ERR_HEADER_CHECKSUM,   // HC does not match the descriptor
    LZ4_ERR_BLOCK_SIZE,        // a block is larger than the block maximum size
    LZ4_ERR_CORRUPT_BLOCK,     // bad sequence: overrun, zero or too-far match offset
    LZ4_ERR_BLOCK_CHECKSUM,    // a block checksum does not match
    LZ4_ERR_CONTENT_CHECKSUM,  // the content checksum does not match
    LZ4_ERR_CONTENT_SIZE,      // the frame's content size does not match its output
    LZ4_ERR_OUTPUT_TOO_SMALL,  // the output does not fit the destination
};

// xxHash32 of data[0..len) with seed.
uint32_t xxh32(const void *data, size_t len, uint32_t seed);

// Decompresses every frame of src[0..src_len) into dst[0..dst_cap). On success returns
// LZ4_OK with *out_len the output size. On failure returns the lz4_status and, if
// err_offset is not NULL, sets it to the input offset where the problem was found.
int lz4_decompress(const void *src, size_t src_len, void *dst, size_t dst_cap, size_t *out_len,
                   size_t *err_offset);

// A short static description of a status ("bad block checksum").
const char *lz4_strerror(int status);
