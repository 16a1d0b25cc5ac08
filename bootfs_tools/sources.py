"""The host-filesystem side of BOOTFS: input trees and manifests in, extracted trees out.

``read_directory(root)``
    Every regular file below ``root`` (symlinks to files are followed), named by its path
    relative to ``root`` with '/' separators. Directories add no entries of their own, so
    empty ones vanish. Anything else (device, socket, FIFO, dangling symlink, symlink to a
    directory) is an error rather than silently left out.
``read_manifest(path)``
    One ``destination=source`` per line, split at the first '='; whitespace around either
    side is ignored, as are blank lines and lines whose first non-blank character is '#'. A
    relative source is taken relative to the manifest's own directory. The text is UTF-8.
    A destination given twice is an error unless ``replace`` (then the later line wins).
``merge_files(inputs)``
    Merges several name -> contents maps in order; a name given twice is an error unless
    ``replace`` (then the later input wins).
``write_directory(root, files)``
    Writes each file below ``root``, creating directories as needed, after refusing any name
    that is not a valid BOOTFS name or that would land outside ``root`` (e.g. through a
    symlink already there). Nothing is written if any name is refused.
``extract(image, root, names=None)``
    ``write_directory`` for the files of a BootfsImage (all, or the named ones), writing data
    that entries share once: the other entries become hard links to the first (copies where
    the file system has no hard links), as ``zbi -x`` does.
``create_fresh(path)`` / ``link_or_copy(source, path)``
    Every file is created new: whatever is at ``path`` (a file, a hard link to a file
    elsewhere, a symlink) is unlinked first and the file is opened with O_CREAT | O_EXCL, so
    extraction never writes through an existing link (and never opens a file with O_TRUNC).

Every name is checked with the same rules ``build`` applies. Reading failures raise
:class:`BootfsSourceError` naming the file and, for manifests, the line; ``write_directory``
lets ``OSError`` through (it names the file).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping

from .errors import BootfsDuplicateError, BootfsNameError, BootfsSourceError
from .image import BootfsImage, Buffer, name_order_key, validate_name

StrPath = str | os.PathLike[str]


def _read(source: str, *, manifest: str | None = None, line: int | None = None) -> bytes:
    """Contents of the regular file ``source``; errors name the manifest line if given."""
    where = f"{source}: " if manifest is not None else ""
    try:
        # O_NONBLOCK keeps a FIFO from blocking the open; it is refused just below.
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise BootfsSourceError(
                    f"{where}not a regular file", path=manifest or source, line=line
                )
            return file.read()
    except OSError as err:
        raise BootfsSourceError(
            f"{where}cannot read: {err.strerror}",
            path=manifest or source,
            line=line,
            actual=err.strerror,
        ) from err


def _checked_name(name: str, path: str, line: int | None = None) -> str:
    """``name`` if it is a valid BOOTFS name, else a BootfsSourceError located at path:line."""
    try:
        validate_name(name)
    except BootfsNameError as err:
        detail = f"BOOTFS name {name!r}: {err.detail}"
        raise BootfsSourceError(detail, path=path, line=line, entry=name) from err
    return name


def read_directory(path: StrPath) -> dict[str, bytes]:
    """Every file below ``path`` by its relative '/'-separated name, in directory order."""
    files: dict[str, bytes] = {}
    pending = [(os.fspath(path), "")]
    while pending:
        directory, prefix = pending.pop()
        try:
            with os.scandir(directory) as scan:
                children = list(scan)
        except OSError as err:
            detail = f"cannot list: {err.strerror}"
            raise BootfsSourceError(detail, path=directory, actual=err.strerror) from err
        for child in children:
            name = prefix + child.name
            if child.is_dir(follow_symlinks=False):
                pending.append((child.path, name + "/"))
            elif child.is_file():
                files[_checked_name(name, child.path)] = _read(child.path)
            else:
                raise BootfsSourceError("not a regular file or a directory", path=child.path)
    return dict(sorted(files.items(), key=lambda item: name_order_key(item[0])))


def read_manifest(path: StrPath, *, replace: bool = False) -> dict[str, bytes]:
    """The files a ``destination=source`` manifest names, by destination, in line order."""
    manifest = os.fspath(path)
    base = os.path.dirname(manifest)
    files: dict[str, bytes] = {}
    first_line: dict[str, int] = {}
    for number, raw in enumerate(_read(manifest).split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8").strip()
        except UnicodeDecodeError as err:
            raise BootfsSourceError("line is not valid UTF-8", path=manifest, line=number) from err
        if not line or line.startswith("#"):
            continue
        dest, sep, source = (part.strip() for part in line.partition("="))
        if not sep or not source:
            raise BootfsSourceError(
                f"expected 'destination=source', got {line!r}", path=manifest, line=number
            )
        _checked_name(dest, manifest, number)
        if dest in first_line and not replace:
            raise BootfsSourceError(
                f"destination {dest!r} is also on line {first_line[dest]}",
                path=manifest,
                line=number,
                entry=dest,
            )
        files[dest] = _read(os.path.join(base, source), manifest=manifest, line=number)
        first_line.setdefault(dest, number)
    return files


def merge_files(
    inputs: Iterable[tuple[str, Mapping[str, Buffer]]], *, replace: bool = False
) -> dict[str, Buffer]:
    """Merge ``(label, files)`` inputs in order; labels name the inputs in errors."""
    merged: dict[str, Buffer] = {}
    origin: dict[str, str] = {}
    for label, files in inputs:
        for name, data in files.items():
            if name in origin and not replace:
                raise BootfsDuplicateError(
                    f"given by both {origin[name]} and {label}", entry=name, field="name"
                )
            merged[name] = data
            origin[name] = label
    return merged


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC


def create_fresh(path: StrPath) -> int:
    """Create the file ``path`` anew and return its descriptor (open for writing).

    Whatever ``path`` names already (a file, a hard link, a symlink) is unlinked first, never
    written through; O_EXCL makes a file that reappears in between an error, not a target.
    """
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    return os.open(path, _CREATE, 0o666)


def _write_fd(fd: int, data: Buffer) -> None:
    """Write all of data to fd, then close it."""
    try:
        view = memoryview(data).cast("B")
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def link_or_copy(source: StrPath, path: StrPath) -> None:
    """Make ``path`` a new hard link to ``source``, or a fresh copy where links fail."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    try:
        os.link(source, path)
    except OSError:
        with open(source, "rb") as file:
            _write_fd(create_fresh(path), file.read())


def _targets(root: str, names: Iterable[str]) -> dict[str, str]:
    """Each name's path below root; refuses (before anything is written) names that escape."""
    real_root = os.path.realpath(root)
    targets = {}
    for name in names:
        validate_name(name)
        target = os.path.join(root, *name.split("/"))
        if os.path.commonpath([real_root, os.path.realpath(target)]) != real_root:
            raise BootfsNameError(f"would be written outside {root}", entry=name, field="name")
        targets[name] = target
    return targets


def _write_groups(path: StrPath, groups: Iterable[tuple[list[str], Buffer]]) -> None:
    """Write each group's data once below path, as its first name; the other names of the
    group become hard links to it. Every name is checked before anything is written."""
    root = os.fspath(path)
    pending = list(groups)
    targets = _targets(root, (name for names, _ in pending for name in names))
    for names, data in pending:
        first, *others = (targets[name] for name in names)
        for target in (first, *others):
            os.makedirs(os.path.dirname(target), exist_ok=True)
        _write_fd(create_fresh(first), data)
        for other in others:
            link_or_copy(first, other)


def write_directory(path: StrPath, files: Mapping[str, Buffer]) -> None:
    """Write ``files`` below ``path``; refuse (before writing anything) names that escape it."""
    _write_groups(path, (([name], data) for name, data in files.items()))


def extract(image: BootfsImage, path: StrPath, names: Iterable[str] | None = None) -> None:
    """Write the named files of image (default: all) below path, shared data once."""
    entries = image.entries if names is None else [image.entry(name) for name in names]
    groups: dict[tuple[int, int], list[str]] = {}
    for entry in entries:
        # Empty files share nothing: each is its own (empty) file.
        key = (entry.data_off, entry.data_len) if entry.data_len else (-1, len(groups))
        names_here = groups.setdefault(key, [])
        if entry.name not in names_here:
            names_here.append(entry.name)
    _write_groups(path, ((group, image.view(group[0])) for group in groups.values()))
