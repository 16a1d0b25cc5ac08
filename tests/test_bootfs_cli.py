"""The ``bootfs`` command line, through ``main(argv)`` and once as a real process."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from bootfs_tools import BootfsImage, build, read_directory
from bootfs_tools.cli import main

TREE = {"bin/hello": b"hello\n", "lib/libc.so": b"\x7fELF" + bytes(5000), "etc/empty": b""}


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch cwd holding ``tree/`` (TREE) and ``image.bootfs`` built from it."""
    for name, data in TREE.items():
        (tmp_path / "tree" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "tree" / name).write_bytes(data)
    (tmp_path / "image.bootfs").write_bytes(build(TREE))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The single stderr line of a failed command."""
    err: str = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert err.startswith("bootfs: error: ")
    return err.removeprefix("bootfs: error: ").rstrip("\n")


# --- create -------------------------------------------------------------------------------


def test_create_from_directory_matches_build(work: Path) -> None:
    assert main(["create", "-o", "out.bootfs", "tree"]) == 0
    assert (work / "out.bootfs").read_bytes() == build(TREE)


def test_create_merges_directories_and_manifests_in_any_argument_order(work: Path) -> None:
    (work / "extra").write_bytes(b"extra")
    (work / "boot.manifest").write_text("# extra files\ncfg/extra=extra\n")
    (work / "more" / "x").mkdir(parents=True)
    (work / "more" / "x" / "y").write_bytes(b"y")
    argv = ["create", "tree", "--manifest", "boot.manifest", "-o", "out.bootfs", "more"]
    assert main(argv) == 0
    image = BootfsImage.parse((work / "out.bootfs").read_bytes())
    assert dict(image.files()) == {**TREE, "cfg/extra": b"extra", "x/y": b"y"}


def test_create_refuses_duplicates_unless_replace(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "new").write_bytes(b"new hello")
    (work / "m").write_text("bin/hello=new\n")
    assert main(["create", "-o", "out.bootfs", "-m", "m", "tree"]) == 1
    assert error_line(capsys) == "'bin/hello': given by both tree and m"
    assert not (work / "out.bootfs").exists()

    assert main(["create", "--replace", "-o", "out.bootfs", "-m", "m", "tree"]) == 0
    assert BootfsImage.parse((work / "out.bootfs").read_bytes()).read("bin/hello") == b"new hello"


def test_create_failure_leaves_the_old_output_and_no_temporary_file(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "out.bootfs").write_bytes(b"old")
    assert main(["create", "-o", "out.bootfs", "tree", "-m", "missing.manifest"]) == 1
    assert error_line(capsys) == "missing.manifest: cannot read: No such file or directory"
    assert (work / "out.bootfs").read_bytes() == b"old"
    assert sorted(p.name for p in work.iterdir()) == ["image.bootfs", "out.bootfs", "tree"]


def test_create_failure_while_writing_cleans_up(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "taken").mkdir()
    assert main(["create", "-o", "taken", "tree"]) == 1
    assert error_line(capsys) == "taken: Is a directory"
    assert main(["create", "-o", "nodir/out.bootfs", "tree"]) == 1
    assert error_line(capsys) == "nodir/out.bootfs: No such file or directory"
    assert sorted(p.name for p in work.iterdir()) == ["image.bootfs", "taken", "tree"]


def test_create_output_gets_ordinary_permissions(work: Path) -> None:
    old = os.umask(0o027)
    try:
        assert main(["create", "-o", "out.bootfs", "tree"]) == 0
    finally:
        os.umask(old)
    assert (work / "out.bootfs").stat().st_mode & 0o777 == 0o640


def test_create_can_rewrite_its_own_input(work: Path) -> None:
    (work / "tree" / "image.bootfs").write_bytes(b"stale")
    assert main(["create", "-o", "tree/image.bootfs", "tree"]) == 0
    image = BootfsImage.parse((work / "tree" / "image.bootfs").read_bytes())
    assert image.read("image.bootfs") == b"stale"


def test_create_with_a_bad_source_name_reports_the_manifest_line(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "m").write_text("ok=tree/bin/hello\n../up=tree/bin/hello\n")
    assert main(["create", "-o", "out.bootfs", "-m", "m"]) == 1
    assert error_line(capsys) == "m:2: BOOTFS name '../up': name has a '..' component"


def test_create_needs_an_input(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["create", "-o", "out.bootfs"])
    assert info.value.code == 2
    assert "at least one DIR or --manifest" in capsys.readouterr().err


# --- list ---------------------------------------------------------------------------------


def test_list_prints_offset_size_and_name(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "image.bootfs"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "    OFFSET        SIZE  NAME",
        "0x00001000           6  bin/hello",
        "0x00002000           0  etc/empty",
        "0x00002000        5004  lib/libc.so",
    ]


def test_list_json_uses_zbi_content_keys(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--json", "image.bootfs"]) == 0
    assert json.loads(capsys.readouterr().out) == [
        {"name": "bin/hello", "offset": 0x1000, "length": 6, "size": 0x1000},
        {"name": "etc/empty", "offset": 0x2000, "length": 0, "size": 0},
        {"name": "lib/libc.so", "offset": 0x2000, "length": 5004, "size": 0x2000},
    ]


def test_list_escapes_unprintable_names(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (work / "odd.bootfs").write_bytes(build({"a\nb": b""}))
    assert main(["list", "odd.bootfs"]) == 0
    assert capsys.readouterr().out.splitlines()[1].endswith("  'a\\nb'")


# --- extract ------------------------------------------------------------------------------


def test_extract_everything(work: Path) -> None:
    assert main(["extract", "image.bootfs", "-o", "out"]) == 0
    assert read_directory(work / "out") == TREE


def test_extract_selected_names(work: Path) -> None:
    assert main(["extract", "-o", "out", "image.bootfs", "bin/hello", "etc/empty"]) == 0
    assert read_directory(work / "out") == {"bin/hello": b"hello\n", "etc/empty": b""}


def test_extract_unknown_name(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", "image.bootfs", "-o", "out", "bin/hello", "nope"]) == 1
    assert error_line(capsys) == "image.bootfs: 'nope': no such file in the image"
    assert not (work / "out").exists()


def test_extract_refuses_to_escape_the_directory(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (work / "outside").mkdir()
    (work / "out").mkdir()
    (work / "out" / "lib").symlink_to(work / "outside")
    assert main(["extract", "image.bootfs", "-o", "out"]) == 1
    assert error_line(capsys) == "image.bootfs: 'lib/libc.so': would be written outside out"
    assert list((work / "outside").iterdir()) == []
    assert sorted(p.name for p in (work / "out").iterdir()) == ["lib"]


def test_extract_never_writes_through_a_hard_link(work: Path) -> None:
    victim = work / "victim"
    victim.write_bytes(b"precious")
    (work / "out" / "bin").mkdir(parents=True)
    os.link(victim, work / "out" / "bin" / "hello")
    assert main(["extract", "image.bootfs", "-o", "out"]) == 0
    assert victim.read_bytes() == b"precious"
    assert read_directory(work / "out") == TREE


def test_extract_hard_links_entries_that_share_data(work: Path) -> None:
    shared = bytes(range(256)) * 4096  # 1 MiB
    names = [f"copy{n:03d}" for n in range(300)]
    (work / "dedup.bootfs").write_bytes(build({**{name: shared for name in names},
                                               "other": b"x", "e1": b"", "e2": b""}))
    assert (work / "dedup.bootfs").stat().st_size < 2 << 20
    assert main(["extract", "dedup.bootfs", "-o", "out"]) == 0
    first = os.stat(work / "out" / names[0])
    assert first.st_nlink == len(names)
    assert all(os.path.samefile(work / "out" / names[0], work / "out" / name) for name in names)
    assert os.stat(work / "out" / "e1").st_ino != os.stat(work / "out" / "e2").st_ino
    used = sum(os.stat(path).st_blocks * 512 for path in {
        os.stat(p).st_ino: p for p in (work / "out").iterdir()}.values())
    assert used < 3 << 20, f"{used >> 20} MiB on disk"
    assert read_directory(work / "out")[names[-1]] == shared
    # Extracting only some of them links those.
    assert main(["extract", "dedup.bootfs", "-o", "some", names[5], names[7]]) == 0
    assert os.path.samefile(work / "some" / names[5], work / "some" / names[7])


# --- check --------------------------------------------------------------------------------


def test_check_ok(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "image.bootfs"]) == 0
    assert capsys.readouterr().out == "image.bootfs: ok (3 files, 16384 bytes)\n"


def test_check_reports_the_first_problem(work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = bytearray((work / "image.bootfs").read_bytes())
    struct.pack_into("<I", image, 16 + 24 + 8, 0x2001)  # data_off of entry 1, etc/empty
    (work / "bad.bootfs").write_bytes(image)
    assert main(["check", "bad.bootfs"]) == 1
    assert error_line(capsys) == (
        "bad.bootfs: entry 1 'etc/empty' at offset 0x28: data_off 0x2001 is not page-aligned"
    )


def test_check_reports_nonzero_reserved_fields(
    work: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = bytearray((work / "image.bootfs").read_bytes())
    image[12] = 1
    (work / "bad.bootfs").write_bytes(image)
    assert main(["check", "bad.bootfs"]) == 1
    assert error_line(capsys) == "bad.bootfs: at offset 0x0: reserved1 is 0x1, not 0"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "missing.bootfs"], "missing.bootfs: No such file or directory"),
        (["check", "tree"], "tree: Is a directory"),
        (["list", "tree/bin/hello"], "tree/bin/hello: at offset 0x0: image is 6 bytes"),
    ],
)
def test_unreadable_input_is_one_line(
    work: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 1
    assert error_line(capsys).startswith(message)


# --- usage --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv", [[], ["frobnicate"], ["list"], ["check", "a", "b"], ["create", "tree"], ["list", "-x"]]
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "usage: bootfs" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["create", "list", "extract", "check"])
def test_help_describes_each_command(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert command in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    assert f"usage: bootfs {command} " in capsys.readouterr().out


def test_python_m_reports_errors_without_traceback(work: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "bootfs_tools", "check", "image.bootfs"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (ok.returncode, ok.stdout, ok.stderr) == (
        0,
        "image.bootfs: ok (3 files, 16384 bytes)\n",
        "",
    )
    (work / "bad.bootfs").write_bytes(b"\0" * 4096)
    bad = subprocess.run(
        [sys.executable, "-m", "bootfs_tools", "check", "bad.bootfs"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode == 1
    assert bad.stdout == ""
    assert "Traceback" not in bad.stderr
    assert bad.stderr.splitlines() == [
        "bootfs: error: bad.bootfs: at offset 0x0: magic 0x00000000 is not BOOTFS_MAGIC 0xa56d3ff9"
    ]
