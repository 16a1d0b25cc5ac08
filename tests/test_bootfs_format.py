"""BOOTFS constants, helpers, the BootfsEntry record and the naming rules."""

from __future__ import annotations

import struct

import pytest

from bootfs_tools import BootfsEntry, BootfsError, BootfsLimitError, BootfsNameError
from bootfs_tools.errors import BootfsSourceError, BootfsTruncatedError
from bootfs_tools.format import (
    BOOTFS_MAGIC,
    DIRENT,
    HEADER,
    MAX_NAME_LEN,
    PAGE_SIZE,
    U32_MAX,
    dirent_size,
    page_align,
)
from bootfs_tools.image import name_order_key, validate_name


def test_constants_match_zircon() -> None:
    assert BOOTFS_MAGIC == 0xA56D3FF9
    assert PAGE_SIZE == 4096
    assert MAX_NAME_LEN == 256
    assert U32_MAX == 2**32 - 1
    assert HEADER.size == 16
    assert DIRENT.size == 12
    assert (HEADER.format, DIRENT.format) == ("<4I", "<3I")


@pytest.mark.parametrize(
    ("name_len", "size"),
    [(2, 16), (4, 16), (5, 20), (8, 20), (9, 24), (10, 24), (255, 268), (256, 268)],
)
def test_dirent_size_rounds_to_four(name_len: int, size: int) -> None:
    assert dirent_size(name_len) == size


@pytest.mark.parametrize(
    ("size", "aligned"),
    [(0, 0), (1, 4096), (4095, 4096), (4096, 4096), (4097, 8192), (U32_MAX, 2**32)],
)
def test_page_align(size: int, aligned: int) -> None:
    assert page_align(size) == aligned


def test_entry_pack_layout() -> None:
    packed = BootfsEntry("bin/hello", 0x3000, 6).pack()
    assert packed == struct.pack("<3I", 10, 6, 0x3000) + b"bin/hello\0" + b"\0\0"
    assert len(packed) == BootfsEntry("bin/hello", 0, 0).size == 24


def test_entry_unpack_at_offset_and_derived_fields() -> None:
    body = BootfsEntry("é/x", 0x2000, 5000).pack()
    entry = BootfsEntry.unpack(b"JUNK" + body + b"more", 4)
    assert entry == BootfsEntry("é/x", 0x2000, 5000)
    assert entry.name_len == len("é/x".encode()) + 1 == 5
    assert entry.data_end == 0x2000 + 8192


def test_entry_unpack_needs_whole_fixed_part() -> None:
    with pytest.raises(BootfsTruncatedError) as info:
        BootfsEntry.unpack(bytes(20), 12)
    assert info.value.offset == 12
    assert info.value.actual == 8


def test_entry_unpack_needs_whole_padded_name() -> None:
    body = BootfsEntry("abcdefgh", 0x1000, 1).pack()  # 12 + 9 -> 24 bytes
    with pytest.raises(BootfsTruncatedError) as info:
        BootfsEntry.unpack(body[:23], 0)
    assert (info.value.offset, info.value.field, info.value.expected) == (0, "name_len", 24)


@pytest.mark.parametrize(
    ("raw_name", "name_len", "message"),
    [
        (b"ab", 2, "not NUL-terminated"),
        (b"a\0b\0", 4, "NUL byte at position 1"),
        (b"\xff\xfe\0", 3, "not valid UTF-8"),
        (b"/a\0", 3, "starts with '/'"),
        (b"\0", 1, "is outside"),
        (b"", 0, "is outside"),
    ],
)
def test_entry_unpack_rejects_bad_names(raw_name: bytes, name_len: int, message: str) -> None:
    buf = b"\xaa" * 8 + struct.pack("<3I", name_len, 0, 0) + raw_name + bytes(8)
    with pytest.raises(BootfsNameError, match=message) as info:
        BootfsEntry.unpack(buf, 8)
    assert info.value.offset == 8


def test_entry_unpack_rejects_overlong_name_len_before_reading_it() -> None:
    buf = struct.pack("<3I", MAX_NAME_LEN + 1, 0, 0) + b"a" * 300
    with pytest.raises(BootfsNameError) as info:
        BootfsEntry.unpack(buf, 0)
    assert (info.value.field, info.value.actual) == ("name_len", MAX_NAME_LEN + 1)


@pytest.mark.parametrize("field", ["data_off", "data_len"])
@pytest.mark.parametrize("value", [-1, 2**32])
def test_entry_fields_must_fit_32_bits(field: str, value: int) -> None:
    fields = {"data_off": 0, "data_len": 0, field: value}
    with pytest.raises(BootfsLimitError) as info:
        BootfsEntry("a", **fields)
    assert (info.value.field, info.value.actual, info.value.entry) == (field, value, "a")


VALID_NAMES = ["a", "bin/foo", "a-b.c/d e/f~", "é/日本", "x" * 255, "/".join("ab" * 40)]


@pytest.mark.parametrize("name", VALID_NAMES)
def test_valid_names(name: str) -> None:
    assert validate_name(name) == name.encode()
    assert BootfsEntry.unpack(BootfsEntry(name, 0, 0).pack()).name == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "outside"),
        ("x" * 256, "name_len 257 is outside"),
        ("é" * 128, "name_len 257 is outside"),
        ("/bin/foo", "starts with '/'"),
        ("bin/", "ends with '/'"),
        ("bin//foo", "an empty component"),
        ("./foo", "a '.' component"),
        ("bin/./foo", "a '.' component"),
        ("bin/../foo", "a '..' component"),
        ("..", "a '..' component"),
        ("a\0b", "NUL byte"),
        ("\udcff", "not valid UTF-8"),
    ],
)
def test_invalid_names(name: str, message: str) -> None:
    with pytest.raises(BootfsNameError, match=message) as info:
        validate_name(name, offset=0x40)
    assert (info.value.entry, info.value.offset) == (name, 0x40)
    with pytest.raises(BootfsNameError):
        BootfsEntry(name, 0, 0)


def test_name_order_is_component_by_component() -> None:
    names = ["a-b", "a/x", "a/x/y", "a.c", "ab", "a"]
    assert sorted(names, key=name_order_key) == ["a", "a/x", "a/x/y", "a-b", "a.c", "ab"]
    assert sorted(names) != sorted(names, key=name_order_key)


def test_error_message_names_entry_offset_and_detail() -> None:
    err = BootfsError("data_off 0x1001 is not page-aligned", offset=0x40, entry="bin/foo", index=3)
    assert str(err) == "entry 3 'bin/foo' at offset 0x40: data_off 0x1001 is not page-aligned"
    assert str(BootfsError("bad", entry=2)) == "entry 2: bad"
    assert str(BootfsError("bad", entry="a\nb")) == "'a\\nb': bad"
    assert str(BootfsError("plain")) == "plain"


def test_source_error_message_names_file_and_line() -> None:
    assert str(BootfsSourceError("bad line", path="m.txt", line=3)) == "m.txt:3: bad line"
    assert str(BootfsSourceError("gone", path="dir/f")) == "dir/f: gone"
    assert isinstance(BootfsSourceError("x"), BootfsError)
