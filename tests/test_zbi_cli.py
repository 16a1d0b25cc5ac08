"""The ``zbi`` command, driven through ``main([...])`` (and once as ``python -m zbi_tools``).

Every built image is read back with the library and its BOOTFS with bootfs_tools, so the
assertions are about the bytes written, not about what the command printed.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

import bootfs_tools
from zbi_tools import ZbiImage, ZbiItem
from zbi_tools import format as fmt
from zbi_tools.cli import main

KERNEL = struct.pack("<QQ", 0x100000, 0x40000) + b"\x90" * 200  # 8-aligned: 216 bytes
VERSION_CRC, COMPRESSED = 0x00030000, 0x00000001


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    (root / "bin").mkdir(parents=True)
    (root / "lib" / "x").mkdir(parents=True)
    (root / "bin" / "app").write_bytes(b"\x7fELF app" * 100)
    (root / "lib" / "x" / "libc.so").write_bytes(b"libc" * 3000)
    (root / "lib" / "empty").write_bytes(b"")
    return root


@pytest.fixture
def kernel(tmp_path: Path) -> Path:
    path = tmp_path / "kernel.bin"
    path.write_bytes(KERNEL)
    return path


def run(*argv: str | Path) -> int:
    return main([str(arg) for arg in argv])


def image_at(path: Path) -> ZbiImage:
    image = ZbiImage.parse(path.read_bytes())
    image.check()
    return image


def bootfs_files(item: ZbiItem) -> dict[str, bytes]:
    assert item.type == fmt.TYPE_STORAGE_BOOTFS
    return {name: bytes(data) for name, data in
            bootfs_tools.BootfsImage.parse(item.decompressed()).files()}


def tree_files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for path in root.rglob("*") if path.is_file()}


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


# --- building -----------------------------------------------------------------------------


def test_directory_becomes_one_lz4_bootfs_item(tmp_path: Path, tree: Path) -> None:
    out = tmp_path / "out.zbi"
    assert run("-o", out, tree) == 0
    (item,) = image_at(out).items
    assert item.flags == VERSION_CRC | COMPRESSED
    assert bytes(item.payload[:4]) == b"\x04\x22\x4d\x18"
    assert bootfs_files(item) == tree_files(tree)
    assert item.extra == len(bootfs_tools.build(tree_files(tree)))


def test_bootable_image_in_command_line_order(tmp_path: Path, tree: Path, kernel: Path) -> None:
    out = tmp_path / "boot.zbi"
    assert run("-o", out, "-T", "KERNEL_X64", kernel, "-T", "cmdline", "-e", "userboot.shutdown",
               "-F", tree, "--complete=x64") == 0
    image = image_at(out)
    image.check(bootable="x64")
    kernel_item, cmdline, bootfs = image.items
    assert (kernel_item.type, kernel_item.payload, kernel_item.flags) == (
        fmt.TYPE_KERNEL_X64, KERNEL, VERSION_CRC)
    assert (cmdline.type, cmdline.payload) == (fmt.TYPE_CMDLINE, b"userboot.shutdown\0")
    assert bootfs_files(bootfs) == tree_files(tree)


def test_complete_moves_the_kernel_first(tmp_path: Path, tree: Path, kernel: Path) -> None:
    out = tmp_path / "boot.zbi"
    assert run("-o", out, tree, "-T", "kernel_arm64", kernel, "-B", "arm64") == 0
    assert [item.type for item in image_at(out).items] == [fmt.TYPE_KERNEL_ARM64,
                                                           fmt.TYPE_STORAGE_BOOTFS]


def test_complete_refuses_the_wrong_arch_and_writes_nothing(
        tmp_path: Path, kernel: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "boot.zbi"
    assert run("-o", out, "-T", "kernel_x64", kernel, "--bootable=arm64") == 1
    assert error_line(capsys) == ("zbi: error: item 1 at offset 0x20: kernel item is KERNEL_X64,"
                                  " not KERNEL_ARM64 for arm64")
    assert not out.exists()
    assert os.listdir(tmp_path) == ["kernel.bin"]  # no temporary file left behind


def test_cmdline_items_merge_into_one(tmp_path: Path, kernel: Path) -> None:
    first = tmp_path / "first.zbi"
    first.write_bytes(ZbiImage([ZbiItem.cmdline("a=1 "), ZbiItem(fmt.TYPE_CMDLINE, b" b=2")])
                      .pack())
    out = tmp_path / "out.zbi"
    assert run("-o", out, "-T", "kernel_x64", kernel, "-F", first, "-T", "CMDLINE", "-e", "c=3",
               "-e", "  ") == 0
    items = image_at(out).items
    assert [item.type for item in items] == [fmt.TYPE_KERNEL_X64, fmt.TYPE_CMDLINE]
    assert items[1].payload == b"a=1  b=2 c=3\0"


def test_compression_switches_apply_to_what_follows(tmp_path: Path, tree: Path,
                                                    kernel: Path) -> None:
    out = tmp_path / "out.zbi"
    assert run("-o", out, "-u", "-T", "ramdisk", kernel, "-czstd", "-T", "RAMDISK", kernel,
               "--compressed=lz4.1", "-F", tree, "--compressed", "-T", "bootfs_factory",
               kernel) == 0
    plain, zstd, bootfs, factory = image_at(out).items
    assert (plain.flags, plain.payload, plain.extra) == (VERSION_CRC, KERNEL, len(KERNEL))
    assert (zstd.flags, bytes(zstd.payload[:4])) == (VERSION_CRC | 1, b"\x28\xb5\x2f\xfd")
    assert zstd.decompressed() == KERNEL
    # The BOOTFS built from files takes the last setting on the command line (lz4 default).
    assert bytes(bootfs.payload[:4]) == b"\x04\x22\x4d\x18"
    assert factory.flags == VERSION_CRC  # not a storage type: never compressed


def test_separate_compression_value_unless_it_names_a_file(
        tmp_path: Path, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("-o", "a.zbi", "-c", "zstd", tree) == 0
    assert bytes(image_at(tmp_path / "a.zbi").items[0].payload[:4]) == b"\x28\xb5\x2f\xfd"
    assert run("-o", "b.zbi", "-u", "-c", tree) == 0  # a bare -c: the default, LZ4
    assert bytes(image_at(tmp_path / "b.zbi").items[0].payload[:4]) == b"\x04\x22\x4d\x18"
    Path("zstd").write_text("lib/from-manifest=tree/bin/app\n")
    assert run("-o", "c.zbi", "-u", "-c", "zstd") == 0  # the file wins: a manifest input
    (item,) = image_at(tmp_path / "c.zbi").items
    assert bytes(item.payload[:4]) == b"\x04\x22\x4d\x18"
    assert list(bootfs_files(item)) == ["lib/from-manifest"]


def test_uncompressed_bootfs(tmp_path: Path, tree: Path) -> None:
    out = tmp_path / "out.zbi"
    assert run("-o", out, tree, "-u") == 0
    (item,) = image_at(out).items
    assert (item.flags, item.extra) == (VERSION_CRC, item.length)


def test_manifest_entries_and_directories_merge(tmp_path: Path, tree: Path) -> None:
    manifest = tmp_path / "boot.manifest"
    manifest.write_text("etc/config=tree/bin/app\n")
    out = tmp_path / "out.zbi"
    assert run("-o", out, tree, manifest, "-e", f"data/lib={tree / 'lib'}",
               "-e", f"bin/extra={tree / 'bin' / 'app'}") == 0
    (item,) = image_at(out).items
    expected = tree_files(tree)
    expected["etc/config"] = expected["bin/extra"] = expected["bin/app"]
    expected["data/lib/x/libc.so"] = expected["lib/x/libc.so"]
    expected["data/lib/empty"] = b""
    assert bootfs_files(item) == expected


def test_existing_bootfs_items_merge_with_new_files(tmp_path: Path, tree: Path,
                                                    kernel: Path) -> None:
    old = tmp_path / "old.bootfs"
    old.write_bytes(bootfs_tools.build({"old/file": b"old contents"}))
    out = tmp_path / "out.zbi"
    assert run("-o", out, "-T", "kernel_x64", kernel, "-T", "bootfs", old, "-T", "cmdline",
               "-e", "x", "-F", tree) == 0
    items = image_at(out).items
    assert [item.type for item in items] == [fmt.TYPE_KERNEL_X64, fmt.TYPE_STORAGE_BOOTFS,
                                             fmt.TYPE_CMDLINE]
    assert bootfs_files(items[1]) == {**tree_files(tree), "old/file": b"old contents"}


def test_bootfs_items_pass_through_when_no_files_are_added(tmp_path: Path) -> None:
    old = tmp_path / "old.bootfs"
    old.write_bytes(bootfs_tools.build({"a": b"1"}))
    out = tmp_path / "out.zbi"
    assert run("-o", out, "-T", "bootfs", "-u", old, old) == 0
    assert [item.length for item in image_at(out).items] == [len(old.read_bytes())] * 2


def test_duplicate_target_names_are_an_error(tmp_path: Path, tree: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert run("-o", tmp_path / "out.zbi", tree, "-e", f"bin/app={tree / 'bin' / 'app'}") == 1
    assert "bin/app" in error_line(capsys)


def test_update_in_place(tmp_path: Path, tree: Path, kernel: Path) -> None:
    image = tmp_path / "boot.zbi"
    assert run("-o", image, "-T", "kernel_x64", kernel, "-F", tree) == 0
    before = image.stat().st_ino
    assert run("-o", image, image, "-e", f"extra={kernel}") == 0
    items = image_at(image).items
    assert image.stat().st_ino != before  # replaced by rename, not rewritten in place
    assert bootfs_files(items[1]) == {**tree_files(tree), "extra": KERNEL}
    assert sorted(os.listdir(tmp_path)) == ["boot.zbi", "kernel.bin", "tree"]


def test_output_file_mode_follows_umask(tmp_path: Path, kernel: Path) -> None:
    out = tmp_path / "out.zbi"
    old = os.umask(0o022)
    try:
        assert run("-o", out, "-T", "kernel_x64", kernel) == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o644


def test_type_container_takes_only_zbis(tmp_path: Path, kernel: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert run("-o", tmp_path / "o.zbi", "-T", "container", kernel) == 1
    assert error_line(capsys) == f"zbi: error: {kernel}: not a Zircon Boot Image file"


def test_directories_go_to_bootfs_even_after_type(tmp_path: Path, tree: Path,
                                                   kernel: Path) -> None:
    out = tmp_path / "o.zbi"
    assert run("-o", out, "-T", "KERNEL_X64", kernel, "-T", "CMDLINE", "-e", "userboot.shutdown",
               tree) == 0
    kernel_item, cmdline, bootfs = image_at(out).items
    assert (kernel_item.type, cmdline.payload) == (fmt.TYPE_KERNEL_X64, b"userboot.shutdown\0")
    assert bootfs_files(bootfs) == tree_files(tree)


def test_numeric_type(tmp_path: Path, kernel: Path) -> None:
    out = tmp_path / "o.zbi"
    assert run("-o", out, "-T", "0x12345678", kernel, "-T", "42", "-e", "text") == 0
    assert [(item.type, bytes(item.payload)) for item in image_at(out).items] == [
        (0x12345678, KERNEL), (42, b"text")]


# --- listing, JSON, extraction -----------------------------------------------------------


def test_verbose_listing(tmp_path: Path, kernel: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "boot.zbi"
    files = tmp_path / "files"
    files.mkdir()
    (files / "hello").write_bytes(b"hi")
    assert run("-o", out, "-T", "kernel_x64", kernel, "-T", "cmdline", "-e", "a=1  b",
               "-F", files) == 0
    capsys.readouterr()
    assert run("-tv", out) == 0
    image = image_at(out)
    kernel_item, cmdline, bootfs = image.items
    assert capsys.readouterr().out.splitlines() == [
        f"00000020: {len(KERNEL):08x} KERNEL_X64 (type=4c4e524b)",
        f"        :          MAGIC=b5781729 CRC={kernel_item.crc32:08x} FLAGS=00030000",
        f"{0x40 + len(KERNEL):08x}: 00000007 CMDLINE (type=4c444d43)",
        f"        :          MAGIC=b5781729 CRC={cmdline.crc32:08x} FLAGS=00030000",
        "        : a=1",
        "        : b",
        (f"{0x40 + len(KERNEL) + 0x28:08x}: {bootfs.length:08x} BOOTFS (type=42534642)"
         " (size=00002000)"),
        f"        :          MAGIC=b5781729 CRC={bootfs.crc32:08x} FLAGS=00030001",
        "        : 00001000 00000002 hello",
        "BOOTABLE: bootable image",
    ]


def test_listing_says_why_an_image_is_not_bootable(
        tmp_path: Path, kernel: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.zbi"
    out.write_bytes(ZbiImage([ZbiItem(0x0BADCAFE, b"x", extra=5),
                              ZbiItem.kernel("x64", KERNEL)]).pack())
    assert run("--list", out) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "00000020: 00000001 UNKNOWN (type=0badcafe) (extra=00000005)"
    assert lines[-1] == "UNBOOTABLE: kernel item out of order: must be first"
    assert run("-t", "--complete=arm64", out) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == "UNBOOTABLE: kernel item out of order: must be first"


def test_json_output_file(tmp_path: Path, tree: Path, kernel: Path) -> None:
    out, described = tmp_path / "o.zbi", tmp_path / "o.json"
    assert run("-o", out, "-j", described, "-T", "kernel_x64", kernel, "-T", "cmdline", "-e",
               "x=1", "-F", tree) == 0
    kernel_item, cmdline, bootfs = image_at(out).items
    description = json.loads(described.read_text())
    assert description[0] == {"offset": 32, "type": "KERNEL_X64", "size": len(KERNEL),
                              "crc32": kernel_item.crc32}
    assert description[1] == {"offset": 32 + 32 + fmt.align(len(KERNEL)), "type": "CMDLINE",
                              "size": 4, "crc32": cmdline.crc32, "contents": "x=1"}
    entries = bootfs_tools.BootfsImage.parse(bootfs.decompressed()).entries
    assert description[2]["uncompressed_size"] == bootfs.extra
    assert description[2]["contents"] == [
        {"name": e.name, "offset": e.data_off, "length": e.data_len,
         "size": (e.data_len + 4095) // 4096 * 4096} for e in entries]


def test_json_shows_unusual_fields_and_unknown_types(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "odd.zbi"
    path.write_bytes(ZbiImage([ZbiItem(0x0BADCAFE, b"", extra=1, flags=0x10000 | 0x80,
                                       reserved1=2)]).pack())
    assert run("--json-output=-", path) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"offset": 32, "type": 0x0BADCAFE, "size": 0, "extra": 1, "flags": 0x10080,
         "reserved1": 2}]


def test_extract_bootfs_files(tmp_path: Path, tree: Path) -> None:
    image, out = tmp_path / "o.zbi", tmp_path / "extracted"
    assert run("-o", image, tree) == 0
    assert run("-x", "-D", out, image) == 0
    assert tree_files(out) == tree_files(tree)


def test_extract_items_and_raw_payloads(tmp_path: Path, kernel: Path) -> None:
    image = tmp_path / "o.zbi"
    assert run("-o", image, "-T", "kernel_x64", kernel, "-T", "cmdline", "-e", "a b",
               "-T", "0xabcdef01", kernel, "-T", "ramdisk", kernel) == 0
    assert run("-X", "-D", tmp_path / "items", image) == 0
    assert run("-R", "-D", tmp_path / "raw", image) == 0
    items = image_at(image).items
    names = ["001.kernel_x64", "002.cmdline", "003.abcdef01", "004.ramdisk"]
    for name, item in zip(names, items, strict=True):
        assert ZbiImage.parse((tmp_path / "items" / f"{name}.zbi").read_bytes()).items == [item]
    raw = {path.name: path.read_bytes() for path in (tmp_path / "raw").iterdir()}
    assert raw == {"001.kernel_x64.bin": KERNEL, "002.cmdline.txt": b"a b",
                   "003.abcdef01.bin": KERNEL, "004.ramdisk.bin": KERNEL}


def test_list_and_extract_work_on_inputs_without_writing(tmp_path: Path, tree: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    assert run("-t", tree) == 0
    assert "BOOTFS" in capsys.readouterr().out
    assert run("-x", "-D", tmp_path / "x", tree) == 0
    assert tree_files(tmp_path / "x") == tree_files(tree)


# --- --check ------------------------------------------------------------------------------


def test_check_reports_ok_per_file(tmp_path: Path, kernel: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.zbi", tmp_path / "b.zbi"
    assert run("-o", a, "-T", "kernel_x64", kernel) == 0
    assert run("-o", b, "-T", "cmdline", "-e", "x") == 0
    capsys.readouterr()
    assert run("--check", a, b) == 0
    assert capsys.readouterr().out == f"{a}: ok\n{b}: ok\n"
    assert run("--check", "--complete=x64", a, b) == 1
    assert error_line(capsys) == (f"zbi: error: {b}: item 1 at offset 0x20: no kernel item"
                                  " found [type: expected KERNEL_X64, actual CMDLINE]")


def test_check_names_item_offset_field_expected_and_actual(
        tmp_path: Path, tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "o.zbi"
    assert run("-o", image, "-T", "cmdline", "-e", "x", "-F", tree) == 0
    data = bytearray(image.read_bytes())
    data[0x48 + 32 + 10] ^= 0xFF  # inside the BOOTFS item's compressed payload
    image.write_bytes(bytes(data))
    item = ZbiImage.parse(bytes(data)).items[1]
    capsys.readouterr()
    assert run("--check", image) == 1
    assert error_line(capsys) == (f"zbi: error: {image}: item 2 at offset 0x48: crc32 expected"
                                  f" {item.computed_crc32():#x} got {item.crc32:#x}")


def test_check_reports_truncation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "short.zbi"
    image.write_bytes(ZbiImage([ZbiItem.cmdline("abcdefgh")]).pack()[:-8])
    assert run("--check", image) == 1
    assert error_line(capsys) == (
        f"zbi: error: {image}: item 1 at offset 0x20: length 0x9 runs past the end of the image"
        " at 0x48 [length: expected 0x8, actual 0x9]")


# --- errors and usage ---------------------------------------------------------------------


@pytest.mark.parametrize("argv", [
    [],
    ["-t"],
    ["some.zbi"],
    ["-t", "-o", "x", "y"],
    ["-T", "bogus", "x"],
    ["-cgzip", "x"],
    ["--check", "-o", "x", "y"],
    ["--check", "-T", "cmdline", "y"],
    ["--complete=mips", "-t", "x"],
    ["-q", "x"],
    ["-o"],
])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "zbi: error:" in capsys.readouterr().err


def test_entry_without_target_is_a_usage_error(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert run("-o", tmp_path / "o.zbi", "-e", "no-equals-sign") == 2
    assert error_line(capsys) == "zbi: error: --entry 'no-equals-sign' is not TARGET=SOURCE"


def test_missing_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.zbi"
    assert run("-t", missing) == 1
    assert error_line(capsys) == f"zbi: error: {missing}: No such file or directory"


def test_corrupt_input_zbi_names_the_file(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.zbi"
    bad.write_bytes(ZbiImage([ZbiItem.cmdline("x")]).pack() + b"extra!!!")
    assert run("-t", bad) == 1
    assert error_line(capsys).startswith(f"zbi: error: {bad}: item 0 at offset 0x0: length")


def test_not_a_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x00\x01garbage")
    assert run("-t", junk) == 1
    assert error_line(capsys).startswith(f"zbi: error: {junk}:1:")


def test_help_lists_the_switches(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for switch in ("--output", "--list", "--verbose", "--extract", "--extract-items",
                   "--extract-raw", "--output-dir", "--type", "--entry", "--compressed",
                   "--uncompressed", "--json-output", "--check", "--complete", "--bootable",
                   "--files"):
        assert switch in out


def test_python_m_zbi_tools_fails_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zbi"
    bad.write_bytes(ZbiImage([ZbiItem.cmdline("x")]).pack()[:40])
    done = subprocess.run([sys.executable, "-m", "zbi_tools", "--check", str(bad)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"zbi: error: {bad}: item ")


# --- issue 13: listings read only the directory, escape names; --check; duplicates --------

BOMB_SIZE = 0xFFFF_F000  # the largest page-aligned BOOTFS image: 4 GiB less one page
ZSTD_BLOCK = 128 * 1024


def zstd_zero_bomb(head: bytes, size: int) -> bytes:
    """A zstd frame of `size` bytes: `head` as a raw block, then zeros as RLE blocks of
    128 KiB (4 bytes each), with a 128 KiB window (a 4 GiB frame is ~128 KiB)."""
    frame = bytearray(struct.pack("<IBBI", fmt.ZSTD_FRAME_MAGIC, 0x80, 0x38, size))
    frame += ((len(head) << 3) | 0).to_bytes(3, "little") + head
    left = size - len(head)
    while left:
        block = min(left, ZSTD_BLOCK)
        left -= block
        frame += ((block << 3) | (1 << 1) | (left == 0)).to_bytes(3, "little") + b"\0"
    return bytes(frame)


@pytest.fixture
def bomb(tmp_path: Path) -> Path:
    """A ~128 KiB ZBI whose zstd BOOTFS item expands to 4 GiB: one 4 GiB file of zeros."""
    entry = bootfs_tools.BootfsEntry("big\nfake 00000000 line", 0x1000, BOMB_SIZE - 0x1000)
    directory = entry.pack()
    head = bootfs_tools.format.HEADER.pack(bootfs_tools.format.BOOTFS_MAGIC, len(directory),
                                           0, 0) + directory
    head += bytes(0x1000 - len(head))
    item = ZbiItem(fmt.TYPE_STORAGE_BOOTFS, zstd_zero_bomb(head, BOMB_SIZE), extra=BOMB_SIZE,
                   flags=VERSION_CRC | COMPRESSED)
    path = tmp_path / "bomb.zbi"
    path.write_bytes(ZbiImage([item]).pack())
    return path


# Peak RSS from VmHWM: it belongs to the process's own address space, whereas ru_maxrss
# carries over across exec the peak of the (pytest) process that forked it.
MEASURED = """
import re, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
from zbi_tools.cli import main
status = main(sys.argv[1:])
sys.stdout.flush()
with open("/proc/self/status") as status_file:
    peak_kib = re.search(r"VmHWM:\\s*(\\d+) kB", status_file.read()).group(1)
print(int(peak_kib) * 1024, file=sys.stderr)
sys.exit(status)
"""


def run_measured(*argv: str | Path) -> tuple[subprocess.CompletedProcess[str], int, float]:
    """Run the zbi command in a child limited to 1 GiB of address space: (its result, its
    peak RSS in bytes, the wall time in seconds)."""
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", MEASURED, *map(str, argv)],
                          capture_output=True, text=True, check=False, timeout=120)
    elapsed = time.monotonic() - start
    *err, rss = done.stderr.splitlines() or ["0"]
    done.stderr = "".join(f"{line}\n" for line in err)
    return done, int(rss), elapsed


@pytest.mark.parametrize("argv", [["-t", "-v"], ["--json-output", "-"]])
def test_listing_a_4gib_bomb_reads_only_its_directory(bomb: Path, argv: list[str]) -> None:
    assert bomb.stat().st_size < 140 * 1024
    done, rss, elapsed = run_measured(*argv, bomb)
    assert done.returncode == 0, done.stderr
    assert rss < 64 << 20, f"peak RSS {rss >> 20} MiB"
    assert elapsed < 20
    if argv[0] == "-t":
        assert "        : 00001000 ffffe000 'big\\nfake 00000000 line'" in done.stdout
    else:
        contents = json.loads(done.stdout)[0]["contents"]
        assert contents == [{"name": "big\nfake 00000000 line", "offset": 0x1000,
                             "length": BOMB_SIZE - 0x1000, "size": BOMB_SIZE - 0x1000}]


def test_verbose_listing_escapes_names_and_words(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "odd.zbi"
    bootfs = bootfs_tools.build({"a\nb": b"x", "tab\there": b"y", "ok": b"z"})
    out.write_bytes(ZbiImage([ZbiItem.cmdline("x=1\x1b[2J y\x07z"),
                              ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, bootfs)]).pack())
    assert run("-tv", out) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "        : 'x=1\\x1b[2J'" in lines
    assert "        : 'y\\x07z'" in lines
    assert any(line.endswith(" 'a\\nb'") for line in lines)
    assert any(line.endswith(" 'tab\\there'") for line in lines)
    assert any(line.endswith(" ok") for line in lines)
    assert all(line.isprintable() for line in lines)


def test_check_prints_only_the_fields_that_have_values(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "garbage.zbi"
    image.write_bytes(ZbiImage([ZbiItem(fmt.TYPE_STORAGE_BOOTFS, b"garbage!", extra=64,
                                        flags=VERSION_CRC | COMPRESSED)]).pack())
    assert run("--check", image) == 1
    line = error_line(capsys)
    assert line == (f"zbi: error: {image}: item 1 at offset 0x20: compressed payload starts"
                    " with 67617262, not an LZ4 or zstd frame magic")
    assert "None" not in line


def two_bootfs_items(tmp_path: Path) -> Path:
    """A ZBI with two BOOTFS items that both hold bin/app (and one file each of their own)."""
    first = bootfs_tools.build({"bin/app": b"first", "one": b"1"})
    second = bootfs_tools.build({"bin/app": b"second", "two": b"2"})
    path = tmp_path / "two.zbi"
    path.write_bytes(ZbiImage([ZbiItem.cmdline("c"),
                               ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, first),
                               ZbiItem.storage(fmt.TYPE_STORAGE_BOOTFS, second, "zstd")]).pack())
    return path


def test_extract_refuses_a_name_two_bootfs_items_hold(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = two_bootfs_items(tmp_path)
    assert run("-x", "-D", tmp_path / "out", image) == 1
    assert error_line(capsys) == (
        "zbi: error: item 3: BOOTFS items 2 and 3 both hold bin/app; use --duplicates=first or"
        " --duplicates=last to say which item's file wins")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("which", "app"), [("first", b"first"), ("last", b"second")])
def test_extract_duplicates_option_says_which_item_wins(
        tmp_path: Path, which: str, app: bytes) -> None:
    image = two_bootfs_items(tmp_path)
    assert run("-x", f"--duplicates={which}", "-D", tmp_path / "out", image) == 0
    assert tree_files(tmp_path / "out") == {"bin/app": app, "one": b"1", "two": b"2"}


def test_duplicates_option_needs_extract(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        run("-t", "--duplicates=last", two_bootfs_items(tmp_path))
    assert caught.value.code == 2
    assert "--duplicates applies to --extract only" in capsys.readouterr().err


def test_help_documents_duplicates(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run("--help")
    assert "--duplicates WHICH" in capsys.readouterr().out


def test_extract_never_writes_through_a_hard_link(tmp_path: Path, tree: Path) -> None:
    image, out = tmp_path / "t.zbi", tmp_path / "out"
    assert run("-o", image, tree) == 0
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (out / "bin").mkdir(parents=True)
    os.link(victim, out / "bin" / "app")
    assert run("-x", "-D", out, image) == 0
    assert victim.read_bytes() == b"precious"
    assert (out / "bin" / "app").read_bytes() == (tree / "bin" / "app").read_bytes()
