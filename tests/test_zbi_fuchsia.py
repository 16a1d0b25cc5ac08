"""Conformance on the three real ZBIs from Fuchsia's build (tests/data, see its README).

Listing, JSON, full checks (CRC32 included), byte-identical re-serialisation, and the zstd
STORAGE_KERNEL item of zbi-chain-load-hello-world-test.zbi decompressed to exactly its
`extra` size (0xdb90) by the library and by ``zbi -R``.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest

from zbi_tools import ZbiCrcError, ZbiImage
from zbi_tools import format as fmt
from zbi_tools.cli import main

DATA = Path(__file__).parent / "data"
CHAIN_LOAD = DATA / "chain-load-test.zbi"
SHIM_TESTS = DATA / "x86-boot-shim-tests.zbi"
HELLO = DATA / "zbi-chain-load-hello-world-test.zbi"

# From tests/data/README-fuchsia-zbi.md: file -> sha256 prefix/suffix, (type, length, flags).
EXPECTED = {
    CHAIN_LOAD: ("d92d73f5", "a962", [(fmt.TYPE_KERNEL_X64, 203528, 0x10000)]),
    SHIM_TESTS: ("b9531ba8", "edf52", [(fmt.TYPE_KERNEL_X64, 106520, 0x10000),
                                        (fmt.TYPE_KERNEL_X64, 101248, 0x10000),
                                        (fmt.TYPE_KERNEL_X64, 56144, 0x10000)]),
    HELLO: ("a3ba1f5e", "b051", [(fmt.TYPE_KERNEL_X64, 203528, 0x10000),
                                 (fmt.TYPE_STORAGE_KERNEL, 24467, 0x30001)]),
}
KSTR_OFFSET = 0x31B48
KSTR_SIZE = 0xDB90


@pytest.mark.parametrize("path", list(EXPECTED), ids=lambda path: path.name)
def test_items_match_the_readme(path: Path) -> None:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    prefix, suffix, items = EXPECTED[path]
    assert digest.startswith(prefix) and digest.endswith(suffix)
    image = ZbiImage.parse(data)
    assert [(item.type, item.length, item.flags) for item in image.items] == items


@pytest.mark.parametrize("path", list(EXPECTED), ids=lambda path: path.name)
def test_check_passes_and_pack_is_byte_identical(path: Path) -> None:
    data = path.read_bytes()
    image = ZbiImage.parse(data)
    image.check(bootable="x64")
    assert image.pack() == data


@pytest.mark.parametrize("path", list(EXPECTED), ids=lambda path: path.name)
def test_zbi_check_command(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check", "--complete=x64", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok\n"


def test_kernel_items_start_with_zbi_kernel_t() -> None:
    kernel = ZbiImage.parse(HELLO.read_bytes()).items[0]
    entry, reserve = struct.unpack_from("<QQ", kernel.payload)
    assert (entry, reserve) == (0x8F11, 0x8D5B8)  # entry is an offset into the load image


def test_storage_kernel_decompresses_to_exactly_extra() -> None:
    item = ZbiImage.parse(HELLO.read_bytes()).items[1]
    assert (item.index, item.offset, item.type_name, item.extra) == (2, KSTR_OFFSET, "KERNEL",
                                                                     KSTR_SIZE)
    assert bytes(item.payload[:4]) == b"\x28\xb5\x2f\xfd"  # zstd
    data = item.decompressed()
    assert len(data) == KSTR_SIZE
    # What Fuchsia stores there is itself a ZBI holding the real kernel.
    inner = ZbiImage.parse(data)
    inner.check(bootable="x64")
    assert [(item.type, item.length) for item in inner.items] == [(fmt.TYPE_KERNEL_X64, 0xDB50)]


def test_extract_raw_writes_the_decompressed_storage_kernel(tmp_path: Path) -> None:
    assert main(["-R", "-D", str(tmp_path), str(HELLO)]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["001.kernel_x64.bin",
                                                               "002.kernel.bin"]
    raw = (tmp_path / "002.kernel.bin").read_bytes()
    assert len(raw) == KSTR_SIZE
    assert raw == ZbiImage.parse(HELLO.read_bytes()).items[1].decompressed()
    kernel = (tmp_path / "001.kernel_x64.bin").read_bytes()
    assert kernel == HELLO.read_bytes()[0x40:0x40 + 203528]


def test_extract_items_are_single_item_zbis(tmp_path: Path) -> None:
    assert main(["-X", "-D", str(tmp_path), str(HELLO)]) == 0
    original = ZbiImage.parse(HELLO.read_bytes())
    for number, item in enumerate(original.items, start=1):
        name = f"{number:03d}.{item.type_name.lower()}.zbi"
        extracted = ZbiImage.parse((tmp_path / name).read_bytes())
        extracted.check()
        assert extracted.items == [item]  # every header field, CRC32 included


def test_listing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-t", str(HELLO)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "00000020: 00031b08 KERNEL_X64 (type=4c4e524b)",
        "        :          MAGIC=b5781729 NO CRC FLAGS=00010000",
        "00031b48: 00005f93 KERNEL (type=5254534b) (size=0000db90)",
        "        :          MAGIC=b5781729 CRC=9d0920d0 FLAGS=00030001",
        "BOOTABLE: bootable image",
    ]


def test_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json-output", "-", str(HELLO)]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"offset": 0x20, "type": "KERNEL_X64", "size": 203528},
        {"offset": KSTR_OFFSET, "type": "KERNEL", "size": 24467,
         "uncompressed_size": KSTR_SIZE, "crc32": 0x9D0920D0},
    ]


def test_corrupted_storage_kernel_is_a_crc_error() -> None:
    data = bytearray(HELLO.read_bytes())
    data[KSTR_OFFSET + 32 + 100] ^= 0x10
    with pytest.raises(ZbiCrcError) as info:
        ZbiImage.parse(bytes(data)).check()
    assert (info.value.item_index, info.value.offset, info.value.actual) == (2, KSTR_OFFSET,
                                                                             0x9D0920D0)


def test_rewriting_through_the_cli_keeps_every_item(tmp_path: Path) -> None:
    out = tmp_path / "copy.zbi"
    assert main(["-o", str(out), str(SHIM_TESTS)]) == 0
    assert out.read_bytes() == SHIM_TESTS.read_bytes()
