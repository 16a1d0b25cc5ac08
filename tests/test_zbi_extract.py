"""zbi_tools.extract: atomic writes and BOOTFS files streamed from the decompressor.

The BOOTFS images here are large enough (several MiB) that files straddle the 1 MiB pieces
the decompressor yields, so the routing of pieces to files is exercised across boundaries.
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import bootfs_tools
from zbi_tools import ZbiCompressionError, ZbiImage, ZbiItem
from zbi_tools import format as fmt
from zbi_tools.extract import extract_bootfs, extract_items, write_atomic

MIB = 1 << 20


def files_of(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    rng = random.Random(7)
    shared = rng.randbytes(300_000)
    out = {f"bin/tool{i}": rng.randbytes(rng.randint(1, 900_000)) + bytes(5000)
           for i in range(12)}
    out.update({"lib/a.so": shared, "lib/b.so": shared, "lib/c.so": shared,
                "empty": b"", "etc/empty-too": b"", "big/blob": bytes(3 * MIB) + b"end"})
    return out


@pytest.mark.parametrize("how", ["lz4", "zstd", "none"])
def test_extract_bootfs_writes_every_file(tmp_path: Path, files: dict[str, bytes],
                                          how: str) -> None:
    item = ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, bootfs_tools.build(files), how)
    extract_bootfs(ZbiImage.parse(ZbiImage([item]).pack()).items[0], tmp_path)
    assert files_of(tmp_path) == files


def test_shared_contents_become_hard_links(tmp_path: Path, files: dict[str, bytes]) -> None:
    item = ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, bootfs_tools.build(files))
    extract_bootfs(item, tmp_path)
    inodes = {os.stat(tmp_path / "lib" / name).st_ino for name in ("a.so", "b.so", "c.so")}
    assert len(inodes) == 1
    assert os.stat(tmp_path / "lib" / "a.so").st_nlink == 3


def test_extracting_again_replaces_the_files(tmp_path: Path, files: dict[str, bytes]) -> None:
    item = ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, bootfs_tools.build(files))
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "tool0").write_bytes(b"old and much longer" * 100000)
    extract_bootfs(item, tmp_path)
    extract_bootfs(item, tmp_path)
    assert files_of(tmp_path) == files


def test_a_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    outside, root = tmp_path / "outside", tmp_path / "root"
    outside.mkdir()
    root.mkdir()
    (root / "lib").symlink_to(outside)
    item = ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, bootfs_tools.build({"lib/x": b"data"}))
    with pytest.raises(bootfs_tools.BootfsNameError) as info:
        extract_bootfs(item, root)
    assert info.value.entry == "lib/x"
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
@pytest.mark.parametrize("shared", [False, True])
def test_an_existing_link_is_replaced_not_written_through(
    tmp_path: Path, link: str, shared: bool
) -> None:
    victim, root = tmp_path / "victim", tmp_path / "root"
    victim.write_bytes(b"precious")
    root.mkdir()
    for name in ("x", "y", "empty"):
        if link == "symlink":
            (root / name).symlink_to(victim)
        else:
            os.link(victim, root / name)
    files = {"x": b"data", "y": b"data" if shared else b"other", "empty": b""}
    extract_bootfs(ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, bootfs_tools.build(files)), root)
    assert victim.read_bytes() == b"precious"
    assert files_of(root) == files
    assert not any((root / name).is_symlink() for name in files)
    assert (os.path.samefile(root / "x", root / "y")) == shared


def test_corrupt_stream_stops_cleanly(tmp_path: Path, files: dict[str, bytes]) -> None:
    image = bootfs_tools.build(files)
    item = ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, image)
    # Shorter than extra says: the error comes once the stream runs dry, mid-extraction.
    short = ZbiItem(item.type, item.payload, extra=len(image) + 1, flags=item.flags)
    threads = threading.active_count()
    with pytest.raises(ZbiCompressionError) as info:
        extract_bootfs(short, tmp_path)
    assert (info.value.field, info.value.actual) == ("extra", len(image))
    assert threading.active_count() == threads  # the decompressing thread is gone


def test_a_write_error_stops_the_decompressor(tmp_path: Path, files: dict[str, bytes]) -> None:
    item = ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, bootfs_tools.build(files))
    # A directory where a file must go, late in the image: the decompressing thread is
    # running by the time the writer fails.
    (tmp_path / "bin" / "tool9").mkdir(parents=True)
    threads = threading.active_count()
    with pytest.raises(IsADirectoryError):
        extract_bootfs(item, tmp_path)
    assert threading.active_count() == threads
    assert (tmp_path / "bin" / "tool0").read_bytes() == files["bin/tool0"]


def test_not_a_bootfs_image(tmp_path: Path) -> None:
    item = ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, b"not a BOOTFS image at all")
    with pytest.raises(bootfs_tools.BootfsMagicError):
        extract_bootfs(item, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("how", ["lz4", "none"])
def test_empty_bootfs_item(tmp_path: Path, how: str) -> None:
    with pytest.raises(bootfs_tools.BootfsTruncatedError):
        extract_bootfs(ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, b"", how), tmp_path)


def test_extract_items_streams_raw_payloads(tmp_path: Path) -> None:
    data = random.Random(3).randbytes(3 * MIB)
    image = ZbiImage([ZbiItem.storage(fmt.TYPE_STORAGE_RAMDISK, data, "zstd"),
                      ZbiItem.cmdline("a b")])
    extract_items(image, tmp_path, raw=True)
    assert files_of(tmp_path) == {"001.ramdisk.bin": data, "002.cmdline.txt": b"a b"}


def test_write_atomic_replaces_or_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "out.bin"
    write_atomic(target, [b"one", memoryview(b"two")])
    assert target.read_bytes() == b"onetwo"

    def failing() -> Iterator[bytes]:
        yield b"partial"
        raise ZbiCompressionError("broken stream")

    with pytest.raises(ZbiCompressionError):
        write_atomic(target, failing())
    assert target.read_bytes() == b"onetwo"
    assert os.listdir(target.parent) == ["out.bin"]
