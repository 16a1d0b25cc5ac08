"""Writing files: atomic outputs, extracted items, and BOOTFS files streamed to disk.

``write_atomic(path, chunks)``
    Writes a temporary file beside ``path`` and renames it over ``path``, so readers never
    see a partial file and ``zbi -o a.zbi a.zbi`` can read the old image while writing.
``extract_items(image, root, raw=False)``
    Each item as a single-item ZBI (``-X``) or its uncompressed payload (``-R``), named by
    ``describe.extracted_name``.
``extract_bootfs(item, root, names=None)``
    Every file of a BOOTFS item (or only those in ``names``) below ``root`` (``-x``).  The
    payload is decompressed piece by piece: as soon as the directory at its start is complete
    it is validated by bootfs_tools and the files are created (refusing, as
    bootfs_tools.write_directory does, names that would land outside ``root``); then each
    piece goes straight into the files whose data it holds while a second thread decompresses
    the next pieces.  The image is never held whole, and decompression overlaps the writes.
    Each file is created anew (bootfs_tools.create_fresh: what is at its path, even a hard
    link to a file elsewhere, is unlinked, never written through).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import tempfile
from collections.abc import Container, Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue
from threading import Event, Thread

import bootfs_tools
from zbi_tools import format as fmt
from zbi_tools.compression import Buffer
from zbi_tools.describe import bootfs_directory, extracted_name
from zbi_tools.image import ZbiImage, ZbiItem

_PREFETCH = 4
"""Decompressed pieces (of up to 1 MiB) that may wait for the writer."""


def _umask() -> int:
    """The process umask (reading it means setting it, so set it back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: str | Path, chunks: Iterable[Buffer]) -> None:
    """Write the chunks to path through a temporary file in the same directory + rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def extract_items(image: ZbiImage, root: Path, *, raw: bool = False) -> None:
    """Write each item as NNN.<type>.zbi, or with raw=True its payload as NNN.<type>.<ext>
    (decompressed; a CMDLINE without its trailing NUL, as Fuchsia's tool does)."""
    for index, _, item in image.enumerate_items():
        chunks: Iterable[Buffer]
        if not raw:
            chunks = [ZbiImage([item]).pack()]
        elif item.type == fmt.TYPE_CMDLINE:
            chunks = [bytes(item.payload).removesuffix(b"\0")]
        else:
            chunks = item.decompressed_pieces()
        write_atomic(root / extracted_name(index, item, raw=raw), chunks)


def extract_bootfs(item: ZbiItem, root: Path, names: Container[str] | None = None) -> None:
    """Write every file of the BOOTFS item (or those in `names`) below root (see the module
    docstring)."""
    entries, head, pieces = bootfs_directory(item)
    if names is not None:
        entries = tuple(entry for entry in entries if entry.name in names)
    writer = _RegionWriter(root, entries)
    rest = _prefetched(pieces)
    try:
        position = 0
        for piece in itertools.chain(head, rest):
            writer.write(position, memoryview(piece))
            position += len(piece)
    finally:
        rest.close()  # stops the decompressing thread now, even after an error
        writer.close()


def _prefetched(items: Iterator[Buffer]) -> Generator[Buffer, None, None]:
    """Yield what items yields, advancing it on a second thread a few items ahead.

    The decompressor releases the GIL while it works, so the next piece decompresses while
    the caller writes the last one.  An exception from items is re-raised here; if the
    caller stops early, the thread is drained and stopped.
    """
    queue: Queue[tuple[Buffer | None, Exception | None]] = Queue(maxsize=_PREFETCH)
    stop = Event()

    def advance() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                queue.put((item, None))
        except Exception as err:  # noqa: BLE001 - handed to the consumer, which re-raises it
            queue.put((None, err))
            return
        queue.put((None, None))

    thread = Thread(target=advance, name="zbi-decompress", daemon=True)
    thread.start()
    try:
        while True:
            item, error = queue.get()
            if error is not None:
                raise error
            if item is None:
                return
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # unblock a put() waiting for room
            with contextlib.suppress(Empty):
                queue.get(timeout=0.01)
        thread.join()


@dataclass
class _Region:
    """One stretch of file data, and the files (several when contents are shared) it fills."""

    start: int
    end: int
    paths: list[Path]
    fd: int = -1
    """The first file, open while the region is being filled."""


class _RegionWriter:
    """Routes pieces of the BOOTFS image, in order, to the files whose data they hold.

    Directories (and empty files) are created up front, refusing (with the rule of
    bootfs_tools.write_directory) a name that would land outside root through a symlink
    already there: each directory is resolved before it is created, and files are created
    anew, never opened through a symlink or hard link already there.  Files
    that share their contents get them once: the first is written, the others become hard
    links to it when it is complete, as Fuchsia's zbi tool extracts them (or copies, where
    the file system has no hard links).
    """

    def __init__(self, root: Path, entries: Iterable[bootfs_tools.BootfsEntry]) -> None:
        self._root = os.path.realpath(root)
        self._directories: set[Path] = set()
        regions: dict[tuple[int, int], _Region] = {}
        for entry in entries:
            path = root / entry.name
            self._make_directory(path.parent, entry.name)
            if not entry.data_len:
                os.close(bootfs_tools.create_fresh(path))
            else:
                end = entry.data_off + entry.data_len
                region = regions.setdefault((entry.data_off, end),
                                            _Region(entry.data_off, end, []))
                region.paths.append(path)
        self._pending = sorted(regions.values(), key=lambda region: region.start, reverse=True)
        self._active: list[_Region] = []

    def _make_directory(self, directory: Path, name: str) -> None:
        """Create directory (for the file called name) unless it resolves outside root."""
        if directory in self._directories:
            return
        if os.path.commonpath([self._root, os.path.realpath(directory)]) != self._root:
            raise bootfs_tools.BootfsNameError(f"would be written outside {self._root}",
                                               entry=name, field="name")
        directory.mkdir(parents=True, exist_ok=True)
        self._directories.add(directory)

    def write(self, position: int, piece: memoryview) -> None:
        """Write the piece that starts at `position` in the image to the files it overlaps."""
        end = position + len(piece)
        while self._pending and self._pending[-1].start < end:
            region = self._pending.pop()
            region.fd = bootfs_tools.create_fresh(region.paths[0])
            self._active.append(region)
        for region in list(self._active):
            low, high = max(region.start, position), min(region.end, end)
            chunk = piece[low - position:high - position]
            while chunk:
                chunk = chunk[os.write(region.fd, chunk):]
            if region.end <= end:
                self._finish(region)

    def _finish(self, region: _Region) -> None:
        self._close(region)
        first, *others = region.paths
        for other in others:
            bootfs_tools.link_or_copy(first, other)

    def _close(self, region: _Region) -> None:
        self._active.remove(region)
        os.close(region.fd)

    def close(self) -> None:
        """Close every file still open (after the last piece, or after an error)."""
        for region in list(self._active):
            self._close(region)
