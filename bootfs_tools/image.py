"""BOOTFS records and images: :class:`BootfsEntry`, :class:`BootfsImage` (read) and :func:`build`.

The byte layout is described in ``format``. This module owns the rules, and applies the same
ones when reading (``BootfsImage.parse``) and when writing (``build``):

* names: valid UTF-8 with no NUL; ``name_len`` (counting the NUL) in [2, MAX_NAME_LEN]; no
  leading or trailing '/'; no empty, '.' or '..' component;
* the directory is sorted in strictly increasing *component-by-component* order (each
  '/'-separated component compared as bytes), the order Fuchsia's ``zbi`` tool emits from its
  per-directory tree; it differs from plain byte order only for bytes below '/', e.g. ``a/x``
  sorts before ``a-b``. Strictly increasing rules out duplicates; a name is also rejected when
  an earlier name is one of its directories (``a`` and ``a/x``);
* ``data_off`` is page-aligned and at or after the page-aligned end of the directory, and the
  page-rounded file data lies inside the image;
* every size and offset, including the page-rounded end of each file, fits in 32 bits.

``parse`` enforces all of these. ``check`` adds what readers do not depend on: the reserved
header fields and every padding byte (after names, after the directory, after file data)
must be zero, as the writer leaves them.

``build`` writes Fuchsia's layout, so the same files always give byte-identical output: header,
sorted directory, zeros to a page boundary, then each distinct file content once (in directory
order) at the current page-aligned end, zero-padded to a page. Entries with identical contents
share one ``data_off``; an empty file gets ``data_len`` 0 and the current end as ``data_off``.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import NoReturn

from .errors import (
    BootfsDuplicateError,
    BootfsError,
    BootfsLayoutError,
    BootfsLimitError,
    BootfsMagicError,
    BootfsNameError,
    BootfsNotFoundError,
    BootfsOrderError,
    BootfsReservedError,
    BootfsTruncatedError,
)
from .format import (
    BOOTFS_MAGIC,
    DIRENT,
    HEADER,
    MAX_NAME_LEN,
    PAGE_SIZE,
    U32_MAX,
    dirent_size,
    page_align,
)

Buffer = bytes | bytearray | memoryview
NameKey = tuple[bytes, ...]

_ZERO_PAGE = bytes(PAGE_SIZE)


def validate_name(name: str, *, offset: int | None = None) -> bytes:
    """Return ``name`` as UTF-8 (without NUL) if it is a valid BOOTFS name; else raise."""

    def bad(detail: str) -> BootfsNameError:
        return BootfsNameError(detail, offset=offset, entry=name, field="name")

    try:
        raw = name.encode("utf-8")
    except UnicodeEncodeError as err:
        raise bad("name is not valid UTF-8") from err
    if b"\0" in raw:
        raise bad("name contains a NUL byte")
    name_len = len(raw) + 1
    if not 2 <= name_len <= MAX_NAME_LEN:
        raise BootfsNameError(
            f"name_len {name_len} is outside [2, {MAX_NAME_LEN}]",
            offset=offset,
            entry=name,
            field="name_len",
            expected=f"2..{MAX_NAME_LEN}",
            actual=name_len,
        )
    if raw.startswith(b"/"):
        raise bad("name starts with '/'")
    if raw.endswith(b"/"):
        raise bad("name ends with '/'")
    for component in raw.split(b"/"):
        if component in (b"", b".", b".."):
            what = "an empty" if not component else f"a {component.decode()!r}"
            raise bad(f"name has {what} component")
    return raw


def printable_name(name: str) -> str:
    """``name`` as is if printable, else its repr, so a listing row stays one honest line (a
    newline or control character in a name cannot split or spoof rows)."""
    return name if name.isprintable() else repr(name)


def name_order_key(name: str) -> NameKey:
    """Sort key for directory order: the name's '/'-separated components, as bytes."""
    return tuple(name.encode("utf-8").split(b"/"))


def _check_follows(
    prev: str,
    prev_key: NameKey,
    key: NameKey,
    *,
    entry: str,
    offset: int | None = None,
    index: int | None = None,
) -> None:
    """Raise unless the name ``entry`` (sort key ``key``) may follow ``prev`` in the directory."""
    if key == prev_key:
        detail = f"duplicate of the previous name {prev!r}"
        raise BootfsDuplicateError(detail, offset=offset, entry=entry, index=index, field="name")
    if key < prev_key:
        raise BootfsOrderError(
            f"name sorts before the previous name {prev!r}",
            offset=offset,
            entry=entry,
            index=index,
            field="name",
            expected=f"after {prev!r}",
            actual=entry,
        )
    if key[: len(prev_key)] == prev_key:
        detail = f"name is below {prev!r}, which is a file"
        raise BootfsDuplicateError(detail, offset=offset, entry=entry, index=index, field="name")


@dataclass(frozen=True, slots=True)
class BootfsEntry:
    """One directory entry: a valid name and where its data lies in the image."""

    name: str
    data_off: int
    data_len: int

    def __post_init__(self) -> None:
        validate_name(self.name)
        for field in ("data_off", "data_len"):
            value = getattr(self, field)
            if not 0 <= value <= U32_MAX:
                raise BootfsLimitError(
                    f"{field} {value:#x} does not fit in 32 bits",
                    entry=self.name,
                    field=field,
                    expected=f"0..{U32_MAX:#x}",
                    actual=value,
                )

    @property
    def name_len(self) -> int:
        """The on-disk ``name_len``: UTF-8 bytes of the name plus its NUL."""
        return len(self.name.encode("utf-8")) + 1

    @property
    def size(self) -> int:
        """Bytes this entry occupies in the directory, padding included."""
        return dirent_size(self.name_len)

    @property
    def data_end(self) -> int:
        """Offset just past this file's page-rounded data."""
        return self.data_off + page_align(self.data_len)

    @classmethod
    def unpack(cls, buf: Buffer, offset: int = 0) -> BootfsEntry:
        """Decode the entry at ``offset`` in ``buf``; all of it, padding included, must fit."""
        left = len(buf) - offset
        if left < DIRENT.size:
            raise BootfsTruncatedError(
                f"entry needs {DIRENT.size} bytes, only {max(left, 0)} remain",
                offset=offset,
                field="name_len",
                expected=DIRENT.size,
                actual=max(left, 0),
            )
        name_len, data_len, data_off = DIRENT.unpack_from(buf, offset)
        if not 2 <= name_len <= MAX_NAME_LEN:
            raise BootfsNameError(
                f"name_len {name_len:#x} is outside [2, {MAX_NAME_LEN}]",
                offset=offset,
                field="name_len",
                expected=f"2..{MAX_NAME_LEN}",
                actual=name_len,
            )
        size = dirent_size(name_len)
        if left < size:
            raise BootfsTruncatedError(
                f"entry with name_len {name_len} needs {size} bytes, only {left} remain",
                offset=offset,
                field="name_len",
                expected=size,
                actual=left,
            )
        start = offset + DIRENT.size
        raw = bytes(buf[start : start + name_len])
        if raw[-1] != 0:
            raise BootfsNameError("name is not NUL-terminated", offset=offset, field="name")
        if 0 in raw[:-1]:
            raise BootfsNameError(
                f"name has a NUL byte at position {raw.index(0)}", offset=offset, field="name"
            )
        try:
            name = raw[:-1].decode("utf-8")
        except UnicodeDecodeError as err:
            raise BootfsNameError(
                f"name is not valid UTF-8: {raw[:-1]!r}", offset=offset, field="name"
            ) from err
        validate_name(name, offset=offset)
        return cls(name, data_off, data_len)

    def pack(self) -> bytes:
        """Encode this entry as it appears in the directory: fields, name, NUL, zero padding."""
        raw = self.name.encode("utf-8")
        header = DIRENT.pack(len(raw) + 1, self.data_len, self.data_off)
        return header + raw + bytes(self.size - DIRENT.size - len(raw))


class BootfsImage:
    """A parsed and validated BOOTFS image.

    Build one with :meth:`parse`. It keeps a read-only view of the caller's buffer rather than
    a copy, so the buffer must not change while the image is in use. Iterating yields the
    entries in directory order; ``name in image`` tests for a file.
    """

    def __init__(self, view: memoryview, dirsize: int, entries: tuple[BootfsEntry, ...]) -> None:
        """Wrap already-validated parts; use :meth:`parse` instead."""
        self._view = view
        self.dirsize = dirsize
        self.entries = entries
        self._by_name = {entry.name: entry for entry in entries}

    @property
    def size(self) -> int:
        """Total bytes in the image."""
        return len(self._view)

    @property
    def data_start(self) -> int:
        """First offset file data may use: the page-aligned end of the directory."""
        return page_align(HEADER.size + self.dirsize)

    @classmethod
    def parse(cls, buf: Buffer) -> BootfsImage:
        """Validate ``buf`` against every format rule and index its directory."""
        view = memoryview(buf).cast("B").toreadonly()
        dirsize, entries = _parse_directory(view, len(view))
        return cls(view, dirsize, entries)

    def _lookup(self, name_or_entry: str | BootfsEntry) -> BootfsEntry:
        name = name_or_entry.name if isinstance(name_or_entry, BootfsEntry) else name_or_entry
        entry = self._by_name.get(name)
        if entry is None or (isinstance(name_or_entry, BootfsEntry) and entry != name_or_entry):
            raise BootfsNotFoundError("no such file in the image", entry=name)
        return entry

    def entry(self, name: str) -> BootfsEntry:
        """The entry called ``name``; BootfsNotFoundError if there is none."""
        return self._lookup(name)

    def view(self, name_or_entry: str | BootfsEntry) -> memoryview:
        """A file's contents as a read-only view into the image (no copy)."""
        entry = self._lookup(name_or_entry)
        return self._view[entry.data_off : entry.data_off + entry.data_len]

    def read(self, name_or_entry: str | BootfsEntry) -> bytes:
        """A file's contents as bytes."""
        return self.view(name_or_entry).tobytes()

    def files(self) -> Iterator[tuple[str, memoryview]]:
        """Yield ``(name, contents)`` for every entry in directory order, without copying."""
        for entry in self.entries:
            yield entry.name, self._view[entry.data_off : entry.data_off + entry.data_len]

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[BootfsEntry]:
        return iter(self.entries)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._by_name

    def __repr__(self) -> str:
        return f"<BootfsImage: {len(self.entries)} files, {self.size} bytes>"

    def check(self) -> None:
        """Raise BootfsReservedError unless reserved fields and all padding bytes are zero."""
        _, _, *reserved = HEADER.unpack_from(self._view)
        for field, value in zip(("reserved0", "reserved1"), reserved, strict=True):
            if value:
                raise BootfsReservedError(
                    f"{field} is {value:#x}, not 0", offset=0, field=field, expected=0, actual=value
                )
        offsets = []
        offset = HEADER.size
        for index, entry in enumerate(self.entries):
            name_end = offset + DIRENT.size + entry.name_len
            self._check_zero("name padding", name_end, offset + entry.size, offset, entry, index)
            offsets.append(offset)
            offset += entry.size
        self._check_zero("directory padding", offset, self.data_start, offset)
        for index, (entry, offset) in enumerate(zip(self.entries, offsets, strict=True)):
            data_end = entry.data_off + entry.data_len
            self._check_zero("data padding", data_end, entry.data_end, offset, entry, index)

    def _check_zero(
        self,
        what: str,
        start: int,
        end: int,
        offset: int,
        entry: BootfsEntry | None = None,
        index: int | None = None,
    ) -> None:
        """Raise BootfsReservedError for the first nonzero byte in [start, end)."""
        chunk = self._view[start:end].tobytes()
        rest = chunk.lstrip(b"\0")
        if rest:
            where = end - len(rest)
            raise BootfsReservedError(
                f"{what} byte at {where:#x} is {rest[0]:#04x}, not 0",
                offset=offset,
                entry=None if entry is None else entry.name,
                index=index,
                field="padding",
                expected=0,
                actual=rest[0],
            )


def directory_end(head: Buffer) -> int | None:
    """Where the directory of the BOOTFS image starting with ``head`` ends (header + dirsize),
    or None while ``head`` is shorter than the header."""
    if len(head) < HEADER.size:
        return None
    return HEADER.size + HEADER.unpack_from(head)[1]


def parse_directory(head: Buffer, size: int) -> tuple[BootfsEntry, ...]:
    """The entries of a BOOTFS image of ``size`` bytes, of which ``head`` holds the start.

    Applies every rule ``BootfsImage.parse`` applies to the header and directory, checking
    each entry's data against ``size``, without needing the file data: ``head`` must hold the
    header and, when they lie within ``size``, the whole directory (see directory_end).
    Reading a listing this way costs memory for the directory only.
    """
    view = memoryview(head).cast("B").toreadonly()
    return _parse_directory(view, size)[1]


def _parse_directory(view: memoryview, size: int) -> tuple[int, tuple[BootfsEntry, ...]]:
    """(dirsize, entries) of the image of ``size`` bytes that ``view`` starts."""
    if size < HEADER.size:
        raise BootfsTruncatedError(
            f"image is {size} bytes, shorter than the {HEADER.size}-byte header",
            offset=0,
            expected=HEADER.size,
            actual=size,
        )
    magic, dirsize, _, _ = HEADER.unpack_from(view)
    if magic != BOOTFS_MAGIC:
        raise BootfsMagicError(
            f"magic {magic:#010x} is not BOOTFS_MAGIC {BOOTFS_MAGIC:#010x}",
            offset=0,
            field="magic",
            expected=BOOTFS_MAGIC,
            actual=magic,
        )
    dir_end = HEADER.size + dirsize
    if dir_end > size:
        raise BootfsTruncatedError(
            f"dirsize {dirsize:#x} runs past the end of the {size:#x}-byte image",
            offset=0,
            field="dirsize",
            expected=f"<= {size - HEADER.size:#x}",
            actual=dirsize,
        )
    data_start = page_align(dir_end)
    if data_start > size:
        raise BootfsTruncatedError(
            f"image ends at {size:#x}, before the directory's page ends at {data_start:#x}",
            offset=0,
            expected=data_start,
            actual=size,
        )
    if len(view) < dir_end:
        raise ValueError(f"head of {len(view):#x} bytes lacks the directory ending at {dir_end:#x}")
    directory = view[:dir_end]
    entries: list[BootfsEntry] = []
    offset = HEADER.size
    prev_key: NameKey = ()
    while offset < dir_end:
        index = len(entries)
        try:
            entry = BootfsEntry.unpack(directory, offset)
        except BootfsError as err:
            err.index = index
            raise
        key = name_order_key(entry.name)
        if entries:
            _check_follows(
                entries[-1].name, prev_key, key, entry=entry.name, offset=offset, index=index
            )
        _check_data(entry, offset=offset, index=index, data_start=data_start, size=size)
        entries.append(entry)
        prev_key = key
        offset += entry.size
    return dirsize, tuple(entries)


def _check_data(entry: BootfsEntry, *, offset: int, index: int, data_start: int, size: int) -> None:
    """Raise unless the data of ``entry`` (whose dirent is at ``offset``) is placed legally."""

    def bad(
        kind: type[BootfsError], detail: str, field: str, expected: str, actual: int
    ) -> NoReturn:
        raise kind(
            detail,
            offset=offset,
            entry=entry.name,
            index=index,
            field=field,
            expected=expected,
            actual=actual,
        )

    data_off, end = entry.data_off, entry.data_end
    if data_off % PAGE_SIZE:
        bad(
            BootfsLayoutError,
            f"data_off {data_off:#x} is not page-aligned",
            "data_off",
            f"a multiple of {PAGE_SIZE:#x}",
            data_off,
        )
    if data_off < data_start:
        bad(
            BootfsLayoutError,
            f"data_off {data_off:#x} is inside the directory, which ends at {data_start:#x}",
            "data_off",
            f">= {data_start:#x}",
            data_off,
        )
    if end > U32_MAX:
        bad(
            BootfsLimitError,
            f"page-rounded data ends at {end:#x}, beyond 32 bits",
            "data_len",
            f"<= {U32_MAX:#x}",
            end,
        )
    if end > size:
        bad(
            BootfsLayoutError,
            f"data {data_off:#x}..{end:#x} runs past the end of the {size:#x}-byte image",
            "data_off" if data_off >= size else "data_len",
            f"<= {size:#x}",
            end,
        )


def build(files: Mapping[str, Buffer]) -> bytes:
    """Return the BOOTFS image holding ``files`` (name -> contents); see the module docstring."""
    items: list[tuple[NameKey, str, int, memoryview]] = []
    for name, data in files.items():
        raw = validate_name(name)
        view = memoryview(data).cast("B").toreadonly()
        if len(view) > U32_MAX:
            raise BootfsLimitError(
                f"file is {len(view):#x} bytes, beyond 32 bits",
                entry=name,
                field="data_len",
                expected=f"<= {U32_MAX:#x}",
                actual=len(view),
            )
        items.append((tuple(raw.split(b"/")), name, len(raw) + 1, view))
    items.sort(key=lambda item: item[0])
    for (prev_key, prev, _, _), (key, name, _, _) in itertools.pairwise(items):
        _check_follows(prev, prev_key, key, entry=name)

    dirsize = sum(dirent_size(name_len) for _, _, name_len, _ in items)
    data_start = page_align(HEADER.size + dirsize)
    if data_start > U32_MAX:
        raise BootfsLimitError(
            f"directory of {len(items)} entries ends at {data_start:#x}, beyond 32 bits",
            field="dirsize",
            expected=f"<= {U32_MAX:#x}",
            actual=data_start,
        )
    # Only a file whose length another file shares can be a duplicate: hash just those.
    lengths = Counter(len(view) for _, _, _, view in items)
    placed: dict[tuple[int, bytes], tuple[memoryview, int]] = {}
    directory = bytearray(HEADER.pack(BOOTFS_MAGIC, dirsize, 0, 0))
    chunks: list[Buffer] = [directory]
    end = data_start
    for _, name, _, view in items:
        length = len(view)
        content = (length, hashlib.sha256(view).digest() if lengths[length] > 1 else b"")
        earlier = placed.get(content)
        if earlier is not None and earlier[0] == view:
            data_off = earlier[1]
        elif length == 0:
            data_off = end
        else:
            span = page_align(length)
            if end + span > U32_MAX:
                raise BootfsLimitError(
                    f"image would end at {end + span:#x}, beyond 32 bits",
                    entry=name,
                    field="data_off",
                    expected=f"<= {U32_MAX:#x}",
                    actual=end + span,
                )
            data_off = end
            placed.setdefault(content, (view, data_off))
            chunks += (view, _ZERO_PAGE[: span - length])
            end += span
        directory += BootfsEntry(name, data_off, length).pack()
    directory += bytes(data_start - len(directory))
    return b"".join(chunks)
