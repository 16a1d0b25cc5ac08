"""Storage compression: the frames we write, bounded decompression, and hostile payloads.

The LZ4 frame layout is walked by hand here (magic, FLG, BD, content size, header checksum,
block sizes, end mark) to pin down Fuchsia's settings: 64 KiB independent blocks, content
size present, no block or content checksums.  Decompression bombs (an item whose `extra`
lies) must fail with ZbiCompressionError naming the item, without producing the output.
"""

from __future__ import annotations

import struct
import tracemalloc
import zlib

import lz4.frame
import pytest
import zstandard

from zbi_tools import (
    Compression,
    ZbiCompressionError,
    ZbiImage,
    ZbiUsageError,
    compression,
)
from zbi_tools import format as fmt

BOOTFS = fmt.TYPE_STORAGE_BOOTFS
DATA = b"".join(b"file %05d: " % i + bytes(range(i % 200)) for i in range(3000))
MIB = 1 << 20


def storage_item(payload: bytes, extra: int) -> bytes:
    """A compressed BOOTFS item with a correct CRC32 but whatever `extra` the test wants."""
    flags = 0x00030001
    zeroed = struct.pack("<8I", BOOTFS, len(payload), extra, flags, 0, 0, 0xB5781729, 0)
    crc = zlib.crc32(zeroed + payload)
    header = zeroed[:28] + struct.pack("<I", crc)
    return header + payload + bytes(-len(payload) % 8)


def image_with(payload: bytes, extra: int) -> bytes:
    """A ZBI whose second item (at offset 0x48) is the compressed one."""
    first = struct.pack("<8I", fmt.TYPE_CMDLINE, 4, 0, 0x00010000, 0, 0, 0xB5781729,
                        0x4A87E8D6) + b"a=b\0" + bytes(4)
    body = first + storage_item(payload, extra)
    return struct.pack("<8I", 0x544F4F42, len(body), 0x868CF7E6, 0x00010000, 0, 0, 0xB5781729,
                       0x4A87E8D6) + body


def check_error(payload: bytes, extra: int) -> ZbiCompressionError:
    """check(), decompressed() and decompressed_view() must all fail the same way, naming
    item 2 at offset 0x48."""
    image = ZbiImage.parse(image_with(payload, extra))
    errors = []
    for attempt in (image.check, image.items[1].decompressed, image.items[1].decompressed_view):
        with pytest.raises(ZbiCompressionError) as info:
            attempt()
        assert (info.value.item_index, info.value.offset) == (2, 0x48), info.value
        errors.append(info.value)
    assert len({str(err) for err in errors}) == 1
    return errors[0]


def lz4_frame(data: bytes, **options: object) -> bytes:
    settings = {"block_size": lz4.frame.BLOCKSIZE_MAX64KB, "block_linked": False,
                "content_checksum": False, "store_size": True, **options}
    return lz4.frame.compress(data, **settings)


def zstd_frame(data: bytes, *, content_size: bool = True) -> bytes:
    return zstandard.ZstdCompressor(write_content_size=content_size).compress(data)


# --- Compression specs --------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("none", Compression("none")), ("lz4", Compression("lz4")), ("LZ4F", Compression("lz4")),
    ("lz4.9", Compression("lz4", 9)), ("lz4f.max", Compression("lz4", 16)),
    ("zstd", Compression("zstd")), ("Zstd.19", Compression("zstd", 19)),
    ("zstd.max", Compression("zstd", 19)),
])
def test_compression_specs(text: str, expected: Compression) -> None:
    assert Compression.parse(text) == expected
    assert bool(expected) is (expected.algorithm != "none")


@pytest.mark.parametrize("text", ["", "gzip", "lz4.", "lz4.fast", "zstd.1.2", "none.1"])
def test_bad_compression_specs(text: str) -> None:
    with pytest.raises(ZbiUsageError) as info:
        Compression.parse(text)
    assert info.value.field == "compression"


# --- what we write ------------------------------------------------------------------------


def test_lz4_frame_is_written_as_fuchsias_tool_writes_it() -> None:
    data = DATA * 4
    frame = compression.compress(data, Compression("lz4"))
    magic, flg, bd = struct.unpack_from("<IBB", frame)
    assert magic == 0x184D2204
    assert flg == 0x68  # version 01, independent blocks, content size; no checksums
    assert bd == 0x40  # 64 KiB maximum block size
    assert struct.unpack_from("<Q", frame, 6)[0] == len(data)
    position, blocks = 6 + 8 + 1, 0
    while True:
        (word,) = struct.unpack_from("<I", frame, position)
        position += 4
        if word == 0:
            break
        size = word & 0x7FFFFFFF
        assert size <= 64 * 1024
        position += size
        blocks += 1
    assert position == len(frame)  # the end mark is last: no content checksum
    assert blocks == -(-len(data) // (64 * 1024))
    assert lz4.frame.decompress(frame) == data


def test_lz4_level_is_configurable() -> None:
    fast = compression.compress(DATA, Compression("lz4", 1))
    default = compression.compress(DATA, Compression("lz4"))
    assert fast != default
    assert compression.decompress(fast, len(DATA)) == DATA


def test_zstd_frame_has_the_content_size() -> None:
    frame = compression.compress(DATA, Compression("zstd"))
    assert struct.unpack_from("<I", frame)[0] == 0xFD2FB528
    assert zstandard.frame_content_size(frame) == len(DATA)
    assert zstandard.ZstdDecompressor().decompress(frame) == DATA


def test_none_stores_the_data() -> None:
    assert compression.compress(memoryview(DATA), Compression("none")) == DATA


def test_detect_by_magic() -> None:
    assert compression.detect(lz4_frame(b"x")) == "lz4"
    assert compression.detect(zstd_frame(b"x")) == "zstd"
    assert compression.detect(b"\x04\x22\x4d") is None
    assert compression.detect(b"BOOT....") is None


@pytest.mark.parametrize("data", [b"", b"x", DATA, DATA * 20])
@pytest.mark.parametrize("how", ["lz4", "zstd"])
def test_round_trip(data: bytes, how: str) -> None:
    frame = compression.compress(data, Compression.parse(how))
    assert compression.decompress(frame, len(data)) == data
    view = compression.decompress_view(frame, len(data))
    assert view.readonly
    assert view == data
    compression.verify(frame, len(data))


# --- foreign producers --------------------------------------------------------------------


@pytest.mark.parametrize("options", [
    {"block_size": lz4.frame.BLOCKSIZE_MAX4MB, "block_linked": True},
    {"block_size": lz4.frame.BLOCKSIZE_MAX256KB, "block_checksum": True},
    {"content_checksum": True, "store_size": False},
    {"compression_level": 12},
])
def test_lz4_frames_with_other_settings_are_accepted(options: dict[str, object]) -> None:
    frame = lz4_frame(DATA * 8, **options)
    item = ZbiImage.parse(image_with(frame, len(DATA) * 8)).items[1]
    assert item.decompressed() == DATA * 8


def test_zstd_without_content_size_is_accepted() -> None:
    ZbiImage.parse(image_with(zstd_frame(DATA, content_size=False), len(DATA))).check()


# --- hostile and broken payloads -----------------------------------------------------------


@pytest.mark.parametrize("frame", [lz4_frame(DATA), lz4_frame(DATA, store_size=False),
                                   zstd_frame(DATA), zstd_frame(DATA, content_size=False)],
                         ids=["lz4-size", "lz4-nosize", "zstd-size", "zstd-nosize"])
def test_extra_smaller_than_the_output_is_refused(frame: bytes) -> None:
    err = check_error(frame, len(DATA) - 1)
    assert (err.field, err.expected) == ("extra", len(DATA) - 1)
    assert err.actual in (len(DATA), None)  # declared by the frame, or "more than extra"


@pytest.mark.parametrize("frame", [lz4_frame(DATA), lz4_frame(DATA, store_size=False),
                                   zstd_frame(DATA), zstd_frame(DATA, content_size=False)],
                         ids=["lz4-size", "lz4-nosize", "zstd-size", "zstd-nosize"])
def test_extra_larger_than_the_output_is_refused(frame: bytes) -> None:
    err = check_error(frame, len(DATA) + 1)
    assert (err.field, err.expected, err.actual) == ("extra", len(DATA) + 1, len(DATA))


def _lz4_bomb(blocks: int) -> bytes:
    """An LZ4 frame without content size: `blocks` copies of one 64 KiB block of zeros."""
    frame = lz4_frame(bytes(64 * 1024), store_size=False)
    header, block, end = frame[:7], frame[7:-4], frame[-4:]
    return header + block * blocks + end


def _zstd_bomb(mib: int) -> bytes:
    """A zstd frame without content size that expands to `mib` MiB of zeros."""
    compressor = zstandard.ZstdCompressor(level=1).compressobj()
    zeros = bytes(MIB)
    return b"".join([*(compressor.compress(zeros) for _ in range(mib)), compressor.flush()])


@pytest.mark.parametrize(("bomb", "output"), [(_lz4_bomb(16384), 1024 * MIB),
                                              (_zstd_bomb(64), 64 * MIB)],
                         ids=["lz4-1GiB", "zstd-64MiB"])
def test_decompression_bomb_is_stopped_at_extra(bomb: bytes, output: int) -> None:
    extra = MIB
    image = ZbiImage.parse(image_with(bomb, extra))
    item = image.items[1]
    for attempt in (image.check, item.decompressed, item.decompressed_view):
        tracemalloc.start()
        try:
            with pytest.raises(ZbiCompressionError) as info:
                attempt()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        err = info.value
        assert (err.item_index, err.offset, err.field, err.expected, err.actual) == (
            2, 0x48, "extra", extra, None)
        assert "more than 0x100000" in str(err)
        assert peak < 4 * extra < output


def test_truncated_lz4_frame() -> None:
    frame = lz4_frame(DATA)
    err = check_error(frame[: len(frame) // 2], len(DATA))
    assert err.field == "payload"
    assert "truncated" in str(err)


def test_truncated_zstd_frame_is_short() -> None:
    frame = zstd_frame(DATA, content_size=False)
    err = check_error(frame[: len(frame) // 2], len(DATA))
    assert (err.field, err.expected) == ("extra", len(DATA))
    assert isinstance(err.actual, int) and err.actual < len(DATA)


@pytest.mark.parametrize("frame", [lz4_frame(DATA), zstd_frame(DATA)], ids=["lz4", "zstd"])
def test_data_after_the_frame_is_refused(frame: bytes) -> None:
    assert "frame" in str(check_error(frame + b"junk", len(DATA)))


def test_second_zstd_frame_counts_as_excess_output() -> None:
    frames = zstd_frame(DATA, content_size=False) * 2
    err = check_error(frames, len(DATA))
    assert (err.field, err.actual) == ("extra", None)


def test_corrupt_lz4_header_checksum() -> None:
    frame = bytearray(lz4_frame(DATA))
    frame[14] ^= 0xFF  # the header checksum byte after the 8-byte content size
    err = check_error(bytes(frame), len(DATA))
    assert err.field == "payload"
    assert "corrupt lz4" in str(err)


def test_corrupt_zstd_frame_with_checksum() -> None:
    frame = bytearray(zstandard.ZstdCompressor(write_checksum=True).compress(DATA))
    frame[len(frame) // 2] ^= 0x55
    err = check_error(bytes(frame), len(DATA))
    assert err.field == "payload"
    assert "corrupt zstd" in str(err)


def test_unknown_compression_magic() -> None:
    err = check_error(b"\x1f\x8b\x08\x00gzip data", 100)
    assert err.field == "payload"
    assert "1f8b0800" in str(err)
