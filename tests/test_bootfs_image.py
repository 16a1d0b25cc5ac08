"""BOOTFS images: the writer's exact layout, every reader rule, and corrupt input.

Expected images are assembled here with ``struct`` directly, independently of the library's
own packing code, so a shared mistake cannot hide.
"""

from __future__ import annotations

import array
import struct
from collections.abc import Callable

import pytest

import bootfs_tools
import bootfs_tools.image
from bootfs_tools import (
    BootfsDuplicateError,
    BootfsEntry,
    BootfsError,
    BootfsImage,
    BootfsLayoutError,
    BootfsLimitError,
    BootfsMagicError,
    BootfsNameError,
    BootfsNotFoundError,
    BootfsOrderError,
    BootfsReservedError,
    BootfsTruncatedError,
    build,
)

MAGIC = 0xA56D3FF9
PAGE = 4096

# name (with NUL), data_len, data_off -> dirent offsets 16, 32, 48, 72; dirsize 76.
GOLDEN_ENTRIES = [
    (b"a/x\0", 3, 0x1000),
    (b"a-b\0", 0, 0x2000),
    (b"bin/hello\0", 3, 0x1000),
    (b"lib/big\0", 5000, 0x2000),
]
GOLDEN_FILES = {"bin/hello": b"hi\n", "a-b": b"", "lib/big": b"\x01" * 5000, "a/x": b"hi\n"}
DIR_END = 16 + 76
ENTRY_INDEX = {16: 0, 32: 1, 48: 2, 72: 3, DIR_END: 4}  # by dirent offset; DIR_END: one past


def assemble(
    entries: list[tuple[bytes, int, int]],
    size: int,
    *,
    dirsize: int | None = None,
    magic: int = MAGIC,
    reserved: tuple[int, int] = (0, 0),
) -> bytearray:
    """A zero-filled image of ``size`` bytes with this header and directory."""
    directory = b"".join(
        struct.pack("<3I", len(name), data_len, data_off) + name + bytes(-len(name) % 4)
        for name, data_len, data_off in entries
    )
    header = struct.pack("<4I", magic, len(directory) if dirsize is None else dirsize, *reserved)
    image = bytearray(size)
    image[: 16 + len(directory)] = header + directory
    return image


def golden_image() -> bytearray:
    image = assemble(GOLDEN_ENTRIES, 0x4000)
    image[0x1000:0x1003] = b"hi\n"
    image[0x2000 : 0x2000 + 5000] = b"\x01" * 5000
    return image


def put32(image: bytearray, offset: int, value: int) -> bytearray:
    struct.pack_into("<I", image, offset, value)
    return image


def poke(image: bytearray, offset: int, value: int) -> bytearray:
    image[offset] = value
    return image


def parse_error(image: bytes | bytearray) -> BootfsError:
    with pytest.raises(BootfsError) as info:
        BootfsImage.parse(image)
    return info.value


# --- the writer ---------------------------------------------------------------------------


def test_build_writes_fuchsia_layout_exactly() -> None:
    assert build(GOLDEN_FILES) == golden_image()


def test_build_of_nothing_is_one_header_page() -> None:
    assert build({}) == assemble([], PAGE)


def test_build_is_deterministic_whatever_the_input_order_and_buffer_type() -> None:
    reordered = dict(reversed(GOLDEN_FILES.items()))
    as_buffers = {
        name: (bytearray(data) if i % 2 else memoryview(data))
        for i, (name, data) in enumerate(GOLDEN_FILES.items())
    }
    assert build(reordered) == build(as_buffers) == build(GOLDEN_FILES)


def test_build_accepts_any_contiguous_buffer_format() -> None:
    words = array.array("I", [0x64636261])
    assert BootfsImage.parse(build({"w": memoryview(words)})).read("w") == b"abcd"


def test_build_stores_identical_contents_once() -> None:
    blob = bytes(range(256)) * 40
    image = BootfsImage.parse(build({"a": blob, "b": bytearray(blob), "c": blob[:-1] + b"!"}))
    a, b, c = image.entries
    assert a.data_off == b.data_off != c.data_off
    assert image.size == PAGE + 2 * page_size(len(blob))
    assert image.read("c") == blob[:-1] + b"!"


def page_size(length: int) -> int:
    return -(-length // PAGE) * PAGE


def test_build_places_empty_files_at_the_current_end() -> None:
    image = BootfsImage.parse(build({"a": b"", "b": b"x", "c": b"", "d": b"y"}))
    offsets = {entry.name: (entry.data_off, entry.data_len) for entry in image}
    assert offsets == {"a": (0x1000, 0), "b": (0x1000, 1), "c": (0x2000, 0), "d": (0x2000, 1)}
    assert image.size == 0x3000


def test_build_sorts_component_by_component() -> None:
    files = dict.fromkeys(["ab", "a-b", "a/x/y", "a/x-", "a.c", "b"], b"")
    names = [entry.name for entry in BootfsImage.parse(build(files))]
    assert names == ["a/x/y", "a/x-", "a-b", "a.c", "ab", "b"]


def test_build_rejects_invalid_names() -> None:
    with pytest.raises(BootfsNameError) as info:
        build({"ok": b"", "bin/../etc": b""})
    assert info.value.entry == "bin/../etc"


def test_build_rejects_a_name_that_is_also_a_directory() -> None:
    with pytest.raises(BootfsDuplicateError) as info:
        build({"lib/x": b"1", "lib": b"2", "lib-y": b"3"})
    assert info.value.entry == "lib/x"


def test_build_rejects_a_file_beyond_32_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bootfs_tools.image, "U32_MAX", 0xFFF)
    with pytest.raises(BootfsLimitError) as info:
        build({"small": b"x", "big": bytes(0x1000)})
    assert (info.value.entry, info.value.field, info.value.actual) == ("big", "data_len", 0x1000)


def test_build_rejects_an_image_beyond_32_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bootfs_tools.image, "U32_MAX", 0x3FFF)
    assert len(build({"a": b"a" * 0x1000, "b": b"b" * 0x1000})) == 0x3000
    with pytest.raises(BootfsLimitError) as info:
        build({"a": b"a" * 0x1000, "b": b"b" * 0x1001})
    assert (info.value.entry, info.value.field, info.value.actual) == ("b", "data_off", 0x4000)


def test_build_rejects_a_directory_beyond_32_bits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bootfs_tools.image, "U32_MAX", 0xFFF)
    with pytest.raises(BootfsLimitError) as info:
        build({"a": b""})
    assert (info.value.field, info.value.actual) == ("dirsize", 0x1000)


# --- reading a valid image ----------------------------------------------------------------


def test_parse_reads_the_golden_image() -> None:
    image = BootfsImage.parse(bytes(golden_image()))
    assert [(e.name, e.data_len, e.data_off) for e in image] == [
        (name[:-1].decode(), data_len, data_off) for name, data_len, data_off in GOLDEN_ENTRIES
    ]
    assert (len(image), image.size, image.dirsize, image.data_start) == (4, 0x4000, 76, 0x1000)
    assert dict(image.files()) == GOLDEN_FILES
    image.check()


def test_image_lookup_by_name_or_entry() -> None:
    image = BootfsImage.parse(golden_image())
    entry = image.entries[3]
    assert image.read("lib/big") == image.read(entry) == b"\x01" * 5000
    assert "lib/big" in image
    assert "lib" not in image
    assert 3 not in image
    view = image.view("bin/hello")
    assert view.readonly
    assert bytes(view) == b"hi\n"
    with pytest.raises(BootfsNotFoundError) as info:
        image.read("nope")
    assert info.value.entry == "nope"
    assert isinstance(info.value, LookupError)
    with pytest.raises(BootfsNotFoundError):
        image.read(BootfsEntry("lib/big", 0x1000, 3))  # same name, another image's entry
    assert repr(image) == "<BootfsImage: 4 files, 16384 bytes>"


def test_parse_accepts_empty_file_at_the_very_end() -> None:
    image = BootfsImage.parse(assemble([(b"e\0", 0, 0x1000)], 0x1000))
    assert image.read("e") == b""


def test_parse_accepts_component_order_and_rejects_byte_order() -> None:
    assert len(BootfsImage.parse(assemble([(b"a/x\0", 0, PAGE), (b"a-b\0", 0, PAGE)], PAGE))) == 2
    err = parse_error(assemble([(b"a-b\0", 0, PAGE), (b"a/x\0", 0, PAGE)], PAGE))
    assert type(err) is BootfsOrderError
    assert (err.offset, err.index, err.entry) == (32, 1, "a/x")


@pytest.mark.parametrize(
    ("names", "error", "offset"),
    [
        ([b"a\0", b"a\0"], BootfsDuplicateError, 32),
        ([b"a\0", b"a/x\0"], BootfsDuplicateError, 32),
        ([b"a/x\0", b"a\0"], BootfsOrderError, 32),
        ([b"b\0", b"c\0", b"a\0"], BootfsOrderError, 48),
        ([b"a\0", b"bin/\0"], BootfsNameError, 32),
        ([b"a\0", b"x/./y\0"], BootfsNameError, 32),
    ],
)
def test_parse_rejects_bad_directories(
    names: list[bytes], error: type[BootfsError], offset: int
) -> None:
    err = parse_error(assemble([(name, 0, PAGE) for name in names], PAGE))
    assert type(err) is error
    assert (err.offset, err.index) == (offset, len(names) - 1)


# --- corrupt input ------------------------------------------------------------------------

DATA_LEN_FIELD = 4
DATA_OFF_FIELD = 8


@pytest.mark.parametrize(
    ("cut", "error", "offset", "field"),
    [
        (0, BootfsTruncatedError, 0, None),
        (4, BootfsTruncatedError, 0, None),
        (8, BootfsTruncatedError, 0, None),
        (12, BootfsTruncatedError, 0, None),
        (15, BootfsTruncatedError, 0, None),
        (16, BootfsTruncatedError, 0, "dirsize"),
        (32, BootfsTruncatedError, 0, "dirsize"),
        (48, BootfsTruncatedError, 0, "dirsize"),
        (72, BootfsTruncatedError, 0, "dirsize"),
        (DIR_END - 1, BootfsTruncatedError, 0, "dirsize"),
        (DIR_END, BootfsTruncatedError, 0, None),
        (0xFFF, BootfsTruncatedError, 0, None),
        (0x1000, BootfsLayoutError, 16, "data_off"),
        (0x1003, BootfsLayoutError, 16, "data_len"),
        (0x2000, BootfsLayoutError, 72, "data_off"),
        (0x3000, BootfsLayoutError, 72, "data_len"),
        (0x3FFF, BootfsLayoutError, 72, "data_len"),
    ],
)
def test_truncation_at_every_boundary(
    cut: int, error: type[BootfsError], offset: int, field: str | None
) -> None:
    err = parse_error(golden_image()[:cut])
    assert type(err) is error
    assert (err.offset, err.field) == (offset, field)


Corruption = Callable[[bytearray], bytearray]

CORRUPTIONS: list[tuple[str, Corruption, type[BootfsError], int, str | None]] = [
    ("magic", lambda b: put32(b, 0, MAGIC ^ 0x80), BootfsMagicError, 0, "magic"),
    ("dirsize high byte", lambda b: put32(b, 4, 0x0100004C), BootfsTruncatedError, 0, "dirsize"),
    ("dirsize -4", lambda b: put32(b, 4, 72), BootfsTruncatedError, 72, "name_len"),
    ("dirsize +4", lambda b: put32(b, 4, 80), BootfsTruncatedError, DIR_END, "name_len"),
    ("dirsize unaligned", lambda b: put32(b, 4, 77), BootfsTruncatedError, DIR_END, "name_len"),
    ("name_len 0", lambda b: put32(b, 48, 0), BootfsNameError, 48, "name_len"),
    ("name_len 1", lambda b: put32(b, 48, 1), BootfsNameError, 48, "name_len"),
    ("name_len 257", lambda b: put32(b, 48, 257), BootfsNameError, 48, "name_len"),
    ("name_len high byte", lambda b: put32(b, 48, 0x0100000A), BootfsNameError, 48, "name_len"),
    ("name_len -1", lambda b: put32(b, 48, 9), BootfsNameError, 48, "name"),
    ("name_len +1", lambda b: put32(b, 48, 11), BootfsNameError, 48, "name"),
    ("name_len +12", lambda b: put32(b, 72, 20), BootfsTruncatedError, 72, "name_len"),
    ("name byte", lambda b: poke(b, 48 + 12 + 3, 0), BootfsNameError, 48, "name"),
    ("data_off +1", lambda b: put32(b, 16 + 8, 0x1001), BootfsLayoutError, 16, "data_off"),
    ("data_off 0", lambda b: put32(b, 16 + 8, 0), BootfsLayoutError, 16, "data_off"),
    ("data_off in dir", lambda b: put32(b, 32 + 8, 0), BootfsLayoutError, 32, "data_off"),
    ("data_off past end", lambda b: put32(b, 72 + 8, 0x4000), BootfsLayoutError, 72, "data_off"),
    ("data_off 32-bit", lambda b: put32(b, 16 + 8, 0xFFFFF000), BootfsLimitError, 16, "data_len"),
    ("data_len +1 page", lambda b: put32(b, 72 + 4, 0x2001), BootfsLayoutError, 72, "data_len"),
    ("data_len max", lambda b: put32(b, 48 + 4, 0xFFFFFFFF), BootfsLimitError, 48, "data_len"),
]


@pytest.mark.parametrize(
    ("corrupt", "error", "offset", "field"),
    [case[1:] for case in CORRUPTIONS],
    ids=[case[0] for case in CORRUPTIONS],
)
def test_corrupt_fields(
    corrupt: Corruption, error: type[BootfsError], offset: int, field: str | None
) -> None:
    err = parse_error(corrupt(golden_image()))
    assert type(err) is error
    assert (err.offset, err.field, err.index) == (offset, field, ENTRY_INDEX.get(offset))


def test_error_message_locates_the_entry() -> None:
    err = parse_error(put32(golden_image(), 48 + 8, 0x1001))
    assert str(err) == "entry 2 'bin/hello' at offset 0x30: data_off 0x1001 is not page-aligned"
    assert (err.entry, err.index, err.expected, err.actual) == (
        "bin/hello",
        2,
        "a multiple of 0x1000",
        0x1001,
    )


def test_overlong_name_is_rejected() -> None:
    name = b"x" * 256 + b"\0"
    err = parse_error(assemble([(name, 0, 0x1000)], 0x1000))
    assert type(err) is BootfsNameError
    assert (err.offset, err.field, err.actual) == (16, "name_len", 257)


# --- check(): what parse tolerates --------------------------------------------------------


@pytest.mark.parametrize(
    ("position", "offset", "field", "index"),
    [
        (8, 0, "reserved0", None),
        (12, 0, "reserved1", None),
        (48 + 12 + 10, 48, "padding", 2),  # after the NUL of "bin/hello"
        (DIR_END, DIR_END, "padding", None),  # between the directory and its page end
        (0xFFF, DIR_END, "padding", None),
        (0x1003, 16, "padding", 0),  # after the 3 bytes of a/x (shared by bin/hello)
        (0x3FFF, 72, "padding", 3),
    ],
)
def test_check_rejects_nonzero_reserved_fields_and_padding(
    position: int, offset: int, field: str, index: int | None
) -> None:
    image_bytes = golden_image()
    image_bytes[position] = 0x5A
    image = BootfsImage.parse(image_bytes)  # readers do not depend on these bytes
    with pytest.raises(BootfsReservedError) as info:
        image.check()
    assert (info.value.offset, info.value.field, info.value.index) == (offset, field, index)
    assert info.value.actual == 0x5A


def test_check_catches_a_dropped_last_entry() -> None:
    image = BootfsImage.parse(put32(golden_image(), 4, 56))  # dirsize one entry short
    assert len(image) == 3
    with pytest.raises(BootfsReservedError) as info:
        image.check()
    assert (info.value.offset, info.value.field) == (72, "padding")


def test_parse_directory_needs_only_the_directory() -> None:
    image = build({"a": b"1" * 5000, "b/c": b"2"})
    size = len(image)
    end = bootfs_tools.directory_end(image[:16])
    assert bootfs_tools.directory_end(image[:15]) is None
    assert end is not None
    entries = bootfs_tools.parse_directory(image[:end], size)
    assert entries == BootfsImage.parse(image).entries
    with pytest.raises(BootfsLayoutError):  # the data must still fit the size given
        bootfs_tools.parse_directory(image[:end], size - 4096)
