"""Directory trees and manifests in, extracted trees out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bootfs_tools import (
    BootfsDuplicateError,
    BootfsNameError,
    BootfsSourceError,
    merge_files,
    read_directory,
    read_manifest,
    write_directory,
)


def make_tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


# --- read_directory -----------------------------------------------------------------------


def test_read_directory_names_files_relative_with_slashes(tmp_path: Path) -> None:
    files = {"bin/hello": b"hi", "lib/x/y.so": b"\x7fELF", "top": b"", "a-b": b"1", "a/x": b"2"}
    make_tree(tmp_path / "in", files)
    (tmp_path / "in" / "empty" / "dir").mkdir(parents=True)
    result = read_directory(tmp_path / "in")
    assert result == files
    assert list(result) == ["a/x", "a-b", "bin/hello", "lib/x/y.so", "top"]


def test_read_directory_follows_symlinks_to_files(tmp_path: Path) -> None:
    make_tree(tmp_path / "in", {"real": b"data"})
    (tmp_path / "in" / "link").symlink_to("real")
    assert read_directory(tmp_path / "in") == {"link": b"data", "real": b"data"}


@pytest.mark.parametrize("kind", ["dangling", "dir-link", "fifo"])
def test_read_directory_refuses_other_file_types(tmp_path: Path, kind: str) -> None:
    root = make_tree(tmp_path / "in", {"sub/ok": b""})
    odd = root / "odd"
    if kind == "dangling":
        odd.symlink_to("missing")
    elif kind == "dir-link":
        odd.symlink_to("sub")
    else:
        os.mkfifo(odd)
    with pytest.raises(BootfsSourceError, match="not a regular file") as info:
        read_directory(root)
    assert info.value.path == str(odd)


def test_read_directory_refuses_names_bootfs_cannot_hold(tmp_path: Path) -> None:
    root = tmp_path / "in"
    root.mkdir()
    (root / os.fsdecode(b"bad\xff")).write_bytes(b"")
    with pytest.raises(BootfsSourceError, match="not valid UTF-8") as info:
        read_directory(root)
    assert info.value.path == str(root / os.fsdecode(b"bad\xff"))


def test_read_directory_of_a_missing_path(tmp_path: Path) -> None:
    with pytest.raises(BootfsSourceError, match="No such file") as info:
        read_directory(tmp_path / "nope")
    assert info.value.path == str(tmp_path / "nope")


# --- read_manifest ------------------------------------------------------------------------


def test_read_manifest_lines_comments_and_relative_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_tree(tmp_path / "m", {"src/a": b"A", "b": b"B"})
    absolute = make_tree(tmp_path / "abs", {"c": b"C"}) / "c"
    manifest = tmp_path / "m" / "boot.manifest"
    manifest.write_text(
        f"# a comment\n\nbin/a=src/a\r\n  lib/b = b  \n   # indented comment\nc={absolute}"
    )
    monkeypatch.chdir(tmp_path)  # sources resolve against the manifest, not the cwd
    result = read_manifest(manifest)
    assert result == {"bin/a": b"A", "lib/b": b"B", "c": b"C"}
    assert list(result) == ["bin/a", "lib/b", "c"]


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("a=x\nno separator here\n", 2, "expected 'destination=source'"),
        ("a=x\nb=\n", 2, "expected 'destination=source'"),
        ("a=x\n\n=x\n", 3, "BOOTFS name ''"),
        ("a=x\n/abs=x\n", 2, "starts with '/'"),
        ("a=x\nb/../c=x\n", 2, "'..' component"),
        ("a=x\nb=missing\n", 2, "missing: cannot read: No such file"),
        ("a=x\nb=.\n", 2, "Is a directory"),
        ("a=x\nb=fifo\n", 2, "fifo: not a regular file"),
        ("a=x\nb=x\na=x\n", 3, "destination 'a' is also on line 1"),
    ],
)
def test_read_manifest_errors_name_the_line(
    tmp_path: Path, text: str, line: int, message: str
) -> None:
    (tmp_path / "x").write_bytes(b"")
    os.mkfifo(tmp_path / "fifo")  # must be refused, not block the read
    manifest = tmp_path / "boot.manifest"
    manifest.write_text(text)
    with pytest.raises(BootfsSourceError, match=message) as info:
        read_manifest(manifest)
    assert (info.value.path, info.value.line) == (str(manifest), line)
    assert str(info.value).startswith(f"{manifest}:{line}: ")


def test_read_manifest_rejects_non_utf8_lines(tmp_path: Path) -> None:
    manifest = tmp_path / "boot.manifest"
    manifest.write_bytes(b"# ok\nb\xff=x\n")
    with pytest.raises(BootfsSourceError, match="not valid UTF-8") as info:
        read_manifest(manifest)
    assert info.value.line == 2


def test_read_manifest_replace_lets_the_later_line_win(tmp_path: Path) -> None:
    make_tree(tmp_path, {"one": b"1", "two": b"2"})
    manifest = tmp_path / "boot.manifest"
    manifest.write_text("a=one\nb=one\na=two\n")
    assert read_manifest(manifest, replace=True) == {"a": b"2", "b": b"1"}


def test_read_manifest_that_is_missing(tmp_path: Path) -> None:
    with pytest.raises(BootfsSourceError, match="No such file") as info:
        read_manifest(tmp_path / "nope")
    assert (info.value.path, info.value.line) == (str(tmp_path / "nope"), None)


# --- merge_files --------------------------------------------------------------------------


def test_merge_files_refuses_duplicates_naming_both_inputs() -> None:
    with pytest.raises(BootfsDuplicateError) as info:
        merge_files([("dir1", {"a": b"1", "b": b""}), ("m.txt", {"c": b"", "a": b"1"})])
    assert info.value.entry == "a"
    assert str(info.value) == "'a': given by both dir1 and m.txt"


def test_merge_files_replace_lets_the_later_input_win() -> None:
    merged = merge_files([("x", {"a": b"1", "b": b"2"}), ("y", {"a": b"3"})], replace=True)
    assert merged == {"a": b"3", "b": b"2"}


# --- write_directory ----------------------------------------------------------------------


def test_write_directory_round_trips_read_directory(tmp_path: Path) -> None:
    files = {"bin/hello": b"hi", "lib/x/y.so": b"\x7fELF", "empty": b""}
    write_directory(tmp_path / "out", {name: memoryview(data) for name, data in files.items()})
    assert read_directory(tmp_path / "out") == files


@pytest.mark.parametrize("name", ["../evil", "/etc/evil", "a/../../evil"])
def test_write_directory_refuses_invalid_names_before_writing(tmp_path: Path, name: str) -> None:
    with pytest.raises(BootfsNameError):
        write_directory(tmp_path / "out", {"first": b"1", name: b"2"})
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "evil").exists()


def test_write_directory_refuses_escape_through_a_symlink(tmp_path: Path) -> None:
    (tmp_path / "outside").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "bin").symlink_to(tmp_path / "outside")
    with pytest.raises(BootfsNameError, match="outside") as info:
        write_directory(tmp_path / "out", {"a": b"1", "bin/x": b"2"})
    assert info.value.entry == "bin/x"
    assert list((tmp_path / "outside").iterdir()) == []
    assert not (tmp_path / "out" / "a").exists()
