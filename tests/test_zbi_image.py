"""ZbiItem / ZbiImage: building, exact packing, parsing, every check() rule and corrupt input.

Expected images are assembled here with struct and zlib directly, independently of the
library's own packing code, so that a shared mistake cannot hide.  Errors are asserted by
class AND by their item_index / offset / field / expected / actual fields.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zbi_tools import (
    ZbiAlignmentError,
    ZbiBootableError,
    ZbiCompressionError,
    ZbiCrcError,
    ZbiError,
    ZbiHeaderError,
    ZbiImage,
    ZbiItem,
    ZbiMagicError,
    ZbiTruncatedError,
    ZbiUsageError,
)
from zbi_tools import format as fmt

VERSION, CRC = 0x00010000, 0x00020000
ITEM_MAGIC, NO_CRC, CONTAINER_MAGIC = 0xB5781729, 0x4A87E8D6, 0x868CF7E6
KERNEL_X64, CMDLINE, RAMDISK, BOOTFS = 0x4C4E524B, 0x4C444D43, 0x4B534452, 0x42534642
KERNEL_PAYLOAD = struct.pack("<QQ", 0x1000, 0x20000) + b"kernel image"


def raw_item(type_: int, payload: bytes, *, extra: int = 0, flags: int = VERSION | CRC,
             reserved: tuple[int, int] = (0, 0), magic: int = ITEM_MAGIC,
             crc: int | None = None) -> bytes:
    """One item as bytes: header (CRC32 computed with zlib unless given), payload, padding."""
    if crc is None:
        if flags & CRC:
            zeroed = struct.pack("<8I", type_, len(payload), extra, flags, *reserved, magic, 0)
            crc = zlib.crc32(zeroed + payload)
        else:
            crc = NO_CRC
    header = struct.pack("<8I", type_, len(payload), extra, flags, *reserved, magic, crc)
    return header + payload + bytes(-len(payload) % 8)


def raw_image(*items: bytes) -> bytes:
    body = b"".join(items)
    return struct.pack("<8I", 0x544F4F42, len(body), CONTAINER_MAGIC, VERSION, 0, 0,
                       ITEM_MAGIC, NO_CRC) + body


def patched(buf: bytes, offset: int, value: int) -> bytes:
    """buf with the u32 at offset replaced."""
    return buf[:offset] + struct.pack("<I", value) + buf[offset + 4:]


def error_of(cls: type[ZbiError], buf: bytes, *, bootable: str | None = None) -> ZbiError:
    """The error parse + check raise for buf; it must be exactly of class cls."""
    with pytest.raises(ZbiError) as info:
        ZbiImage.parse(buf).check(bootable=bootable)
    assert type(info.value) is cls, repr(info.value)
    return info.value


SAMPLE = raw_image(
    raw_item(KERNEL_X64, KERNEL_PAYLOAD),
    raw_item(CMDLINE, b"userboot.shutdown\0"),
    raw_item(RAMDISK, b"ramdisk!" * 3, extra=24),
)
SAMPLE_OFFSETS = (0x20, 0x20 + 32 + 32, 0x20 + 64 + 32 + 24)


# --- building and packing ---------------------------------------------------------------


def test_pack_matches_hand_built_bytes() -> None:
    image = ZbiImage([
        ZbiItem.kernel("x64", KERNEL_PAYLOAD),
        ZbiItem.cmdline("userboot.shutdown"),
        ZbiItem.storage(fmt.TYPE_STORAGE_RAMDISK, b"ramdisk!" * 3, compression="none"),
    ])
    assert image.pack() == SAMPLE


def test_empty_image_is_just_the_container_header() -> None:
    assert ZbiImage().pack() == raw_image()
    assert ZbiImage.parse(raw_image()).items == []


def test_new_items_are_versioned_with_crc32_computed_at_pack_time() -> None:
    item = ZbiItem(0x11223344, b"abc")
    assert item.flags == VERSION | CRC
    assert item.crc32 is None
    packed = ZbiImage([item]).pack()
    assert packed == raw_image(raw_item(0x11223344, b"abc"))
    assert ZbiImage.parse(packed).items[0].crc32 == item.computed_crc32()


def test_item_without_crc_flag_packs_no_crc32_value() -> None:
    packed = ZbiImage([ZbiItem(CMDLINE, b"x", flags=VERSION)]).pack()
    assert struct.unpack_from("<I", packed, 32 + 28)[0] == NO_CRC


def test_cmdline_item_is_nul_terminated_text() -> None:
    item = ZbiItem.cmdline("a=b c")
    assert (item.type, item.payload, item.type_name) == (CMDLINE, b"a=b c\0", "CMDLINE")


@pytest.mark.parametrize(("arch", "type_"), [("x64", 0x4C4E524B), ("arm64", 0x384E524B),
                                              ("riscv64", 0x564E524B)])
def test_kernel_item_type_follows_arch(arch: str, type_: int) -> None:
    item = ZbiItem.kernel(arch, KERNEL_PAYLOAD)
    assert (item.type, item.payload) == (type_, KERNEL_PAYLOAD)


def test_kernel_item_needs_a_zbi_kernel_t() -> None:
    with pytest.raises(ZbiUsageError) as info:
        ZbiItem.kernel("x64", bytes(15))
    assert (info.value.field, info.value.expected, info.value.actual) == ("length", 16, 15)


def test_kernel_item_rejects_unknown_arch() -> None:
    with pytest.raises(ZbiUsageError):
        ZbiItem.kernel("sparc", KERNEL_PAYLOAD)


@pytest.mark.parametrize(("how", "magic"), [("lz4", b"\x04\x22\x4d\x18"),
                                            ("zstd", b"\x28\xb5\x2f\xfd"),
                                            ("lz4.9", b"\x04\x22\x4d\x18"),
                                            ("zstd.max", b"\x28\xb5\x2f\xfd")])
def test_storage_item_compresses_and_records_the_size(how: str, magic: bytes) -> None:
    data = b"bootfs contents " * 1000
    item = ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, data, compression=how)
    assert item.flags == VERSION | CRC | 1
    assert item.extra == len(data)
    assert item.payload[:4] == magic
    assert item.length < len(data)
    assert item.compressed
    assert item.decompressed() == data


def test_storage_item_uncompressed() -> None:
    item = ZbiItem.storage(fmt.TYPE_STORAGE_KERNEL, b"abc", compression="none")
    assert (item.flags, item.extra, item.payload, item.compressed) == (VERSION | CRC, 3, b"abc",
                                                                       False)
    assert item.decompressed() == b"abc"
    assert item.decompressed_view() == b"abc"


def test_storage_item_counts_bytes_of_wide_buffers() -> None:
    data = memoryview(struct.pack("<4I", 1, 2, 3, 4)).cast("I")
    item = ZbiItem.storage(fmt.TYPE_STORAGE_RAMDISK, data)
    assert item.extra == 16
    assert item.decompressed() == struct.pack("<4I", 1, 2, 3, 4)


def test_storage_rejects_non_storage_types_and_bad_compression() -> None:
    with pytest.raises(ZbiUsageError) as info:
        ZbiItem.storage(fmt.TYPE_CMDLINE, b"x")
    assert info.value.field == "type"
    with pytest.raises(ZbiUsageError) as info:
        ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, b"x", compression="gzip")
    assert info.value.field == "compression"


@pytest.mark.parametrize("name", ["type", "extra", "flags", "reserved0", "reserved1", "magic",
                                  "crc32"])
def test_header_fields_must_fit_in_32_bits(name: str) -> None:
    fields: dict[str, Any] = {name: 1 << 32}
    with pytest.raises(ZbiUsageError) as info:
        replace(ZbiItem(CMDLINE, b""), **fields)
    assert (info.value.field, info.value.actual) == (name, 1 << 32)


def test_compressed_flag_means_nothing_on_non_storage_items() -> None:
    item = ZbiItem(CMDLINE, b"abc", flags=VERSION | CRC | 1)
    assert not item.compressed
    assert item.decompressed() == b"abc"


# --- parsing ------------------------------------------------------------------------------


def test_parse_reads_items_with_index_offset_and_view_payloads() -> None:
    image = ZbiImage.parse(SAMPLE)
    assert [(item.index, item.offset) for item in image.items] == [
        (1, SAMPLE_OFFSETS[0]), (2, SAMPLE_OFFSETS[1]), (3, SAMPLE_OFFSETS[2])]
    assert [offset for _, offset, _ in image.enumerate_items()] == list(SAMPLE_OFFSETS)
    kernel, cmdline, ramdisk = image.items
    assert kernel.payload == KERNEL_PAYLOAD
    assert isinstance(cmdline.payload, memoryview)
    assert cmdline.payload.readonly
    assert (ramdisk.type_name, ramdisk.extra, ramdisk.length) == ("RAMDISK", 24, 24)
    image.check(bootable="x64")


def test_parse_keeps_unusual_header_fields_exactly() -> None:
    odd = raw_item(0xDEADBEEF, b"12345", extra=7, flags=0xFFFF0000 & ~CRC,
                   reserved=(3, 4), crc=0x12345678)
    buf = raw_image(odd, raw_item(CMDLINE, b"", flags=0))
    item, empty = ZbiImage.parse(buf).items
    assert (item.type, item.extra, item.flags, item.reserved0, item.reserved1, item.crc32) == (
        0xDEADBEEF, 7, 0xFFFF0000 & ~CRC, 3, 4, 0x12345678)
    assert (empty.length, empty.flags, empty.crc32) == (0, 0, NO_CRC)
    assert ZbiImage.parse(buf).pack() == buf


def test_parse_keeps_the_container_header() -> None:
    buf = patched(patched(SAMPLE, 16, 5), 12, VERSION | CRC)
    image = ZbiImage.parse(buf)
    assert (image.container.flags, image.container.reserved0) == (VERSION | CRC, 5)
    assert image.pack() == buf


def test_parse_accepts_bytearray_and_memoryview() -> None:
    for buf in (bytearray(SAMPLE), memoryview(SAMPLE)):
        assert ZbiImage.parse(buf).pack() == SAMPLE


def test_is_zbi_looks_at_type_extra_and_magic() -> None:
    assert ZbiImage.is_zbi(SAMPLE)
    assert not ZbiImage.is_zbi(SAMPLE[:31])
    assert not ZbiImage.is_zbi(patched(SAMPLE, 8, 0))
    assert not ZbiImage.is_zbi(b"bin/foo=out/foo\n" * 4)


def _cut_location(cut: int) -> tuple[int, int]:
    """Where parse reports SAMPLE cut to `cut` bytes: the item whose header or payload is cut
    (strictly inside it), else the container (at a boundary or inside padding)."""
    ends = [offset + 32 + length for offset, length in zip(SAMPLE_OFFSETS, (28, 18, 24),
                                                           strict=True)]
    for index, (offset, end) in enumerate(zip(SAMPLE_OFFSETS, ends, strict=True), start=1):
        if offset < cut < end:
            return index, offset
    return 0, 0


@pytest.mark.parametrize("cut", range(len(SAMPLE)))
def test_truncation_anywhere_names_the_cut_item(cut: int) -> None:
    with pytest.raises(ZbiTruncatedError) as info:
        ZbiImage.parse(SAMPLE[:cut])
    err = info.value
    assert (err.item_index, err.offset) == _cut_location(cut)
    if cut < 32:
        assert (err.field, err.expected, err.actual) == ("length", 32, cut)
    elif err.item_index == 0:
        assert (err.field, err.actual) == ("length", len(SAMPLE) - 32)
        assert err.expected == cut - 32


def test_truncated_header_fields() -> None:
    with pytest.raises(ZbiTruncatedError) as info:
        ZbiImage.parse(SAMPLE[:SAMPLE_OFFSETS[1] + 10])
    assert (info.value.item_index, info.value.offset, info.value.field) == (
        2, SAMPLE_OFFSETS[1], "header")
    assert (info.value.expected, info.value.actual) == (32, 10)
    assert str(info.value) == (f"item 2 at offset {SAMPLE_OFFSETS[1]:#x}: header needs 0x20"
                               " bytes but only 0xa remain")


def test_item_longer_than_the_container() -> None:
    # The kernel item claims more payload than the whole image holds.
    buf = patched(SAMPLE, 0x20 + 4, 0x1000)
    with pytest.raises(ZbiTruncatedError) as info:
        ZbiImage.parse(buf)
    assert (info.value.item_index, info.value.offset, info.value.field) == (1, 0x20, "length")
    assert (info.value.expected, info.value.actual) == (len(SAMPLE) - 64, 0x1000)


@pytest.mark.parametrize(("offset", "field", "expected"), [(0, "type", 0x544F4F42),
                                                           (8, "extra", CONTAINER_MAGIC),
                                                           (24, "magic", ITEM_MAGIC)])
def test_bad_container_magics(offset: int, field: str, expected: int) -> None:
    with pytest.raises(ZbiMagicError) as info:
        ZbiImage.parse(patched(SAMPLE, offset, 0x11111111))
    err = info.value
    assert (err.item_index, err.offset, err.field, err.expected, err.actual) == (
        0, 0, field, expected, 0x11111111)
    assert str(err) == f"item 0 at offset 0x0: {field} expected {expected:#x} got 0x11111111"


@pytest.mark.parametrize("index", [1, 2, 3])
def test_bad_item_magic(index: int) -> None:
    offset = SAMPLE_OFFSETS[index - 1]
    with pytest.raises(ZbiMagicError) as info:
        ZbiImage.parse(patched(SAMPLE, offset + 24, 0xB5781728))
    assert (info.value.item_index, info.value.offset, info.value.field) == (index, offset,
                                                                            "magic")
    assert (info.value.expected, info.value.actual) == (ITEM_MAGIC, 0xB5781728)


def test_misaligned_container_length() -> None:
    buf = raw_image(raw_item(CMDLINE, b"abc\0"))[:-1]  # the last padding byte is missing
    buf = patched(buf, 4, len(buf) - 32)
    with pytest.raises(ZbiAlignmentError) as info:
        ZbiImage.parse(buf)
    err = info.value
    assert (err.item_index, err.offset, err.field, err.actual, err.expected) == (
        0, 0, "length", 0x27, 0x28)
    assert str(err) == "item 0 at offset 0x0: length 0x27 is not 8-aligned"


def test_data_after_the_container_end() -> None:
    with pytest.raises(ZbiHeaderError) as info:
        ZbiImage.parse(SAMPLE + bytes(8))
    assert (info.value.item_index, info.value.field, info.value.expected,
            info.value.actual) == (0, "length", len(SAMPLE) - 32 + 8, len(SAMPLE) - 32)


def test_nonzero_padding() -> None:
    buf = bytearray(SAMPLE)
    buf[SAMPLE_OFFSETS[1] + 32 + 18 + 3] = 0x5A  # padding after the 18-byte CMDLINE
    with pytest.raises(ZbiHeaderError) as info:
        ZbiImage.parse(bytes(buf))
    assert (info.value.item_index, info.value.offset, info.value.field) == (
        2, SAMPLE_OFFSETS[1], "padding")


# --- check() ------------------------------------------------------------------------------


@pytest.mark.parametrize("index", [1, 2, 3])
def test_payload_bit_flip_is_a_crc_error(index: int) -> None:
    offset = SAMPLE_OFFSETS[index - 1]
    buf = bytearray(SAMPLE)
    buf[offset + 32] ^= 0x01
    header = bytearray(buf[offset:offset + 32])
    stored = struct.unpack_from("<I", header, 28)[0]
    header[28:32] = bytes(4)
    length = struct.unpack_from("<I", header, 4)[0]
    computed = zlib.crc32(bytes(header) + bytes(buf[offset + 32:offset + 32 + length]))
    err = error_of(ZbiCrcError, bytes(buf))
    assert (err.item_index, err.offset, err.field, err.expected, err.actual) == (
        index, offset, "crc32", computed, stored)
    assert str(err) == (f"item {index} at offset {offset:#x}: crc32 expected {computed:#x}"
                        f" got {stored:#x}")


def test_header_bit_flip_is_a_crc_error() -> None:
    err = error_of(ZbiCrcError, patched(SAMPLE, SAMPLE_OFFSETS[2] + 8, 25))  # RAMDISK extra
    assert (err.item_index, err.offset) == (3, SAMPLE_OFFSETS[2])


def test_no_crc_flag_requires_the_no_crc32_value() -> None:
    buf = raw_image(raw_item(CMDLINE, b"a", flags=VERSION, crc=0))
    err = error_of(ZbiCrcError, buf)
    assert (err.item_index, err.offset, err.field, err.expected, err.actual) == (
        1, 0x20, "crc32", NO_CRC, 0)


def test_missing_version_flag() -> None:
    buf = raw_image(raw_item(CMDLINE, b"a"), raw_item(CMDLINE, b"b", flags=CRC))
    err = error_of(ZbiHeaderError, buf)
    assert (err.item_index, err.offset, err.field, err.actual) == (2, 0x48, "flags", CRC)


@pytest.mark.parametrize(("reserved", "field"), [((1, 0), "reserved0"), ((0, 9), "reserved1")])
def test_reserved_fields_must_be_zero(reserved: tuple[int, int], field: str) -> None:
    err = error_of(ZbiHeaderError, raw_image(raw_item(CMDLINE, b"a", reserved=reserved)))
    assert (err.item_index, err.offset, err.field, err.expected) == (1, 0x20, field, 0)
    assert err.actual == max(reserved)


@pytest.mark.parametrize(("offset", "value", "cls", "field"), [
    (12, VERSION | CRC, ZbiHeaderError, "flags"),
    (12, 0, ZbiHeaderError, "flags"),
    (16, 1, ZbiHeaderError, "reserved0"),
    (20, 1, ZbiHeaderError, "reserved1"),
    (28, 0, ZbiCrcError, "crc32"),
])
def test_container_header_rules(offset: int, value: int, cls: type[ZbiError],
                                field: str) -> None:
    err = error_of(cls, patched(SAMPLE, offset, value))
    assert (err.item_index, err.offset, err.field, err.actual) == (0, 0, field, value)


def test_uncompressed_storage_extra_must_equal_length() -> None:
    buf = raw_image(raw_item(RAMDISK, b"12345678", extra=9))
    err = error_of(ZbiHeaderError, buf)
    assert (err.item_index, err.field, err.expected, err.actual) == (1, "extra", 8, 9)


def test_check_reports_the_first_problem_in_item_order() -> None:
    buf = raw_image(raw_item(CMDLINE, b"a", reserved=(1, 0)),
                    raw_item(CMDLINE, b"b", crc=1))
    assert error_of(ZbiHeaderError, buf).item_index == 1


def test_crc_error_outranks_a_bad_compressed_payload() -> None:
    item = raw_item(BOOTFS, b"\x04\x22\x4d\x18garbage", extra=100, flags=VERSION | CRC | 1,
                    crc=1)
    assert error_of(ZbiCrcError, raw_image(item)).item_index == 1


def test_built_images_check_clean() -> None:
    image = ZbiImage([ZbiItem.kernel("arm64", KERNEL_PAYLOAD), ZbiItem.cmdline("x"),
                      ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, bytes(10000)),
                      ZbiItem.storage(fmt.TYPE_STORAGE_RAMDISK, b"r" * 999, "zstd")])
    image.check(bootable="arm64")
    ZbiImage.parse(image.pack()).check(bootable="arm64")


# --- bootability --------------------------------------------------------------------------


@pytest.mark.parametrize(("items", "reason", "index"), [
    ([], "empty ZBI", 0),
    ([raw_item(CMDLINE, b"x")], "no kernel item found", 1),
    ([raw_item(CMDLINE, b"x"), raw_item(KERNEL_X64, KERNEL_PAYLOAD)],
     "kernel item out of order: must be first", 1),
    ([raw_item(0x384E524B, KERNEL_PAYLOAD)], "kernel item is KERNEL_ARM64, not KERNEL_X64 for x64",
     1),
])
def test_unbootable_images(items: list[bytes], reason: str, index: int) -> None:
    err = error_of(ZbiBootableError, raw_image(*items), bootable="x64")
    assert (err.reason, err.item_index) == (reason, index)


def test_kernel_payload_must_hold_zbi_kernel_t() -> None:
    err = error_of(ZbiBootableError, raw_image(raw_item(KERNEL_X64, bytes(8))), bootable="x64")
    assert (err.item_index, err.offset, err.field, err.expected, err.actual) == (
        1, 0x20, "length", 16, 8)


def test_bootable_with_several_kernels_and_any_arch() -> None:
    image = ZbiImage.parse(raw_image(raw_item(KERNEL_X64, KERNEL_PAYLOAD),
                                     raw_item(KERNEL_X64, KERNEL_PAYLOAD)))
    image.check_bootable("x64")
    image.check_bootable(None)
    with pytest.raises(ZbiBootableError):
        image.check_bootable("riscv64")


def test_check_without_bootable_ignores_kernels() -> None:
    ZbiImage.parse(raw_image(raw_item(CMDLINE, b"x"))).check()


# --- whole-image transformations ---------------------------------------------------------


def test_kernel_moves_first_and_others_keep_their_order() -> None:
    a, b = ZbiItem.cmdline("a"), ZbiItem(0x1234, b"b")
    kernel = ZbiItem.kernel("x64", KERNEL_PAYLOAD)
    second_kernel = ZbiItem.kernel("arm64", KERNEL_PAYLOAD)
    image = ZbiImage([a, kernel, b, second_kernel]).with_kernel_first()
    assert image.items == [kernel, a, b, second_kernel]
    assert ZbiImage([a, b]).with_kernel_first().items == [a, b]


def test_cmdlines_merge_like_fuchsias_tool() -> None:
    other = ZbiItem(0x1234, b"x")
    image = ZbiImage([other, ZbiItem(CMDLINE, b"  one\0"), ZbiItem.kernel("x64", KERNEL_PAYLOAD),
                      ZbiItem(CMDLINE, b"two\tthree \0\0"), ZbiItem(CMDLINE, b"\0")])
    merged = image.with_merged_cmdlines().items
    assert [item.type for item in merged] == [0x1234, CMDLINE, KERNEL_X64]
    assert merged[1].payload == b"one two\tthree\0"
    assert merged[1].flags == VERSION | CRC


def test_cmdlines_that_are_all_blank_disappear() -> None:
    image = ZbiImage([ZbiItem(CMDLINE, b" \0"), ZbiItem(CMDLINE, b"")])
    assert image.with_merged_cmdlines().items == []


# --- errors -------------------------------------------------------------------------------


def test_error_messages_and_detail() -> None:
    plain = ZbiError("broken")
    assert str(plain) == "broken"
    generated = ZbiCrcError(item_index=3, offset=0x1040, field="crc32", expected=1, actual=2)
    assert str(generated) == "item 3 at offset 0x1040: crc32 expected 0x1 got 0x2"
    assert generated.detail() == str(generated)
    custom = ZbiAlignmentError("length 0x7 is not 8-aligned", item_index=3, offset=0x1040,
                               field="length", expected=8, actual=7)
    assert custom.detail() == ("item 3 at offset 0x1040: length 0x7 is not 8-aligned"
                               " [length: expected 0x8, actual 0x7]")
    payload = ZbiCompressionError("corrupt lz4 frame", item_index=2, offset=0x40, field="payload")
    assert payload.detail() == "item 2 at offset 0x40: corrupt lz4 frame"
    one_sided = ZbiCompressionError("too short", field="extra", expected=0x10)
    assert one_sided.detail() == "too short [extra: expected 0x10]"
    moved = custom.located(4, 0x2000)
    assert type(moved) is ZbiAlignmentError
    assert (moved.item_index, moved.offset, moved.field, moved.actual) == (4, 0x2000, "length", 7)
    assert str(moved).startswith("item 4 at offset 0x2000: ")
    assert (custom.item_index, custom.offset) == (3, 0x1040)


# --- properties ---------------------------------------------------------------------------

U32 = st.integers(min_value=0, max_value=0xFFFFFFFF)
TYPES = st.sampled_from([KERNEL_X64, CMDLINE, RAMDISK, BOOTFS, 0x12345678, fmt.TYPE_DISCARD])


@st.composite
def any_items(draw: st.DrawFn) -> ZbiItem:
    """Items with arbitrary header fields (checked or not), CRC computed or given."""
    return ZbiItem(draw(TYPES), draw(st.binary(max_size=40)), extra=draw(U32), flags=draw(U32),
                   reserved0=draw(U32), reserved1=draw(U32), magic=ITEM_MAGIC,
                   crc32=draw(st.none() | U32))


@st.composite
def valid_items(draw: st.DrawFn) -> ZbiItem:
    """Items that pass check(): what the builders make."""
    data = draw(st.binary(max_size=300))
    kind = draw(st.sampled_from(["raw", "cmdline", "lz4", "zstd", "none", "nocrc"]))
    if kind in ("lz4", "zstd", "none"):
        return ZbiItem.storage(draw(st.sampled_from([RAMDISK, BOOTFS])), data, kind)
    if kind == "cmdline":
        return ZbiItem.cmdline(data.decode("latin-1"))
    return ZbiItem(draw(TYPES.filter(lambda t: not fmt.is_storage(t))), data,
                   flags=VERSION if kind == "nocrc" else VERSION | CRC)


@settings(max_examples=200)
@given(st.lists(any_items(), max_size=6))
def test_pack_then_parse_gives_the_same_headers_and_payloads(items: list[ZbiItem]) -> None:
    packed = ZbiImage(items).pack()
    parsed = ZbiImage.parse(packed)
    assert [item.header() for item in parsed.items] == [item.header() for item in items]
    assert [bytes(item.payload) for item in parsed.items] == [item.payload for item in items]
    assert parsed.pack() == packed


@settings(max_examples=100)
@given(st.lists(valid_items(), max_size=5))
def test_built_images_round_trip_and_check(items: list[ZbiItem]) -> None:
    packed = ZbiImage(items).pack()
    parsed = ZbiImage.parse(packed)
    parsed.check()
    assert [item.decompressed() for item in parsed.items] == [item.decompressed()
                                                              for item in items]
    assert ZbiImage.parse(parsed.pack()).pack() == packed


@settings(max_examples=200)
@given(st.lists(valid_items(), min_size=1, max_size=3), st.data())
def test_any_single_byte_flip_is_caught(items: list[ZbiItem], data: st.DataObject) -> None:
    packed = bytearray(ZbiImage(items).pack())
    position = data.draw(st.integers(min_value=0, max_value=len(packed) - 1))
    packed[position] ^= data.draw(st.integers(min_value=1, max_value=255))
    try:
        ZbiImage.parse(bytes(packed)).check()
    except ZbiError:
        return
    # The container, CRC32-protected items and all padding are covered by some rule; only a
    # change inside an item without FLAGS_CRC32 may go unnoticed.
    assert any(offset <= position < offset + 32 + item.length
               for _, offset, item in ZbiImage(items).enumerate_items()
               if not item.flags & CRC), position
