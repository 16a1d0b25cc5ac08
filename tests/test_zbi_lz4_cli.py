"""Differential tests against the reference ``lz4`` CLI (scripts/setup installs it).

Our LZ4 storage payloads must decode with ``lz4 -d``; frames the CLI writes under every
setting a producer might use (block sizes, linked blocks, content size, frame and block
checksums, levels) must be accepted inside a STORAGE item and decode to the same bytes.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from zbi_tools import ZbiCompressionError, ZbiImage, ZbiItem
from zbi_tools import format as fmt

pytestmark = pytest.mark.skipif(shutil.which("lz4") is None, reason="needs the lz4 CLI")

DATA = b"".join(b"%06d bootfs block\n" % i + bytes(i % 97) for i in range(40000))


def lz4_cli(*args: str, data: bytes) -> bytes:
    return subprocess.run(["lz4", "-q", *args], input=data, stdout=subprocess.PIPE,
                          check=True).stdout


def cli_item(frame: bytes, extra: int = len(DATA)) -> ZbiItem:
    """A compressed RAMDISK item holding a frame written by the CLI."""
    return ZbiItem(fmt.TYPE_STORAGE_RAMDISK, frame, extra=extra, flags=0x00030001)


@pytest.mark.parametrize("how", ["lz4", "lz4.1", "lz4.max"])
def test_our_frames_decode_with_lz4_d(how: str) -> None:
    item = ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, DATA, compression=how)
    assert lz4_cli("-d", "-c", data=bytes(item.payload)) == DATA


def test_our_frames_pass_lz4_integrity_test() -> None:
    frame = bytes(ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, DATA).payload)
    assert subprocess.run(["lz4", "-q", "-t"], input=frame, check=False).returncode == 0
    assert subprocess.run(["lz4", "-q", "-t"], input=frame[:-8], capture_output=True,
                          check=False).returncode != 0


@pytest.mark.parametrize("settings", [
    ["-B4"], ["-B5"], ["-B6"], ["-B7"], ["-BD"], ["-B4", "-BD"],
    ["--content-size"], ["--no-frame-crc"], ["-BX"], ["-BX", "-BD", "--content-size"],
    ["-1"], ["-9"], ["-12", "-B4", "--content-size", "--no-frame-crc"],
])
def test_lz4_cli_frames_are_accepted(settings: list[str]) -> None:
    frame = lz4_cli(*settings, "-c", data=DATA)
    packed = ZbiImage([ZbiItem.cmdline("x"), cli_item(frame)]).pack()
    image = ZbiImage.parse(packed)
    image.check()
    assert image.items[1].decompressed() == DATA


def test_lz4_cli_frame_with_a_lying_extra_is_refused() -> None:
    frame = lz4_cli("-c", data=DATA)  # no content size: only decoding can tell
    image = ZbiImage.parse(ZbiImage([cli_item(frame, extra=len(DATA) // 2)]).pack())
    with pytest.raises(ZbiCompressionError) as info:
        image.check()
    assert (info.value.item_index, info.value.offset) == (1, 0x20)
    assert (info.value.field, info.value.expected) == ("extra", len(DATA) // 2)


def test_lz4_cli_frame_with_a_corrupt_content_checksum_is_refused() -> None:
    frame = bytearray(lz4_cli("-c", data=DATA))  # the CLI adds a content checksum
    frame[-1] ^= 0xFF
    with pytest.raises(ZbiCompressionError) as info:
        ZbiImage.parse(ZbiImage([cli_item(bytes(frame))]).pack()).check()
    assert info.value.field == "payload"


def test_lz4_legacy_format_is_not_a_frame() -> None:
    legacy = lz4_cli("-l", "-c", data=DATA)
    with pytest.raises(ZbiCompressionError) as info:
        ZbiImage([cli_item(legacy)]).check()
    assert (info.value.item_index, info.value.field) == (1, "payload")
    assert "02214c18" in str(info.value)
