"""The BOOTFS error tree.

Every problem the library detects raises a subclass of :class:`BootfsError`. The fields say
where and what, so callers (and tests) never parse the message:

    offset    byte offset of the record at fault (0 for the header, the entry's own offset
              for a directory entry), or None when the problem is not at a place in an image
    entry     the entry's name, or its index when the name itself is unreadable
    index     the entry's position in the directory, when known
    field     the record field at fault (``"data_off"``, ``"dirsize"``, ...)
    expected  what the rule wants (a value or a short description)
    actual    what was found

``str(error)`` is one line, e.g. ``entry 3 'bin/foo' at offset 0x40: data_off 0x1001 is not
page-aligned``. :class:`BootfsSourceError` (manifests and input trees) adds ``path`` and
``line`` and reads ``boot.manifest:3: ...``.
"""

from __future__ import annotations

import os


class BootfsError(Exception):
    """Base of all BOOTFS errors; carries the structured fields described above."""

    def __init__(
        self,
        detail: str,
        *,
        offset: int | None = None,
        entry: str | int | None = None,
        index: int | None = None,
        field: str | None = None,
        expected: object = None,
        actual: object = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.offset = offset
        self.entry = entry
        self.index = index
        self.field = field
        self.expected = expected
        self.actual = actual

    def location(self) -> str:
        """Where the problem is, e.g. ``entry 3 'bin/foo' at offset 0x40`` ('' if unknown)."""
        parts = []
        if self.index is not None:
            parts.append(f"entry {self.index}")
        if isinstance(self.entry, str):
            parts.append(repr(self.entry))
        elif self.entry is not None and self.index is None:
            parts.append(f"entry {self.entry}")
        if self.offset is not None:
            parts.append(f"at offset {self.offset:#x}")
        return " ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.detail}" if where else self.detail


class BootfsTruncatedError(BootfsError):
    """The buffer ends before the header, the directory or an entry it declares."""


class BootfsMagicError(BootfsError):
    """The header does not start with BOOTFS_MAGIC."""


class BootfsReservedError(BootfsError):
    """A reserved header field or a padding byte is not zero (reported by ``check``)."""


class BootfsNameError(BootfsError):
    """A name breaks the naming rules (length, NUL, UTF-8, '/' and component rules)."""


class BootfsLayoutError(BootfsError):
    """File data is misaligned, overlaps the directory, or lies outside the image."""


class BootfsLimitError(BootfsError):
    """A size or offset does not fit the format's 32-bit fields."""


class BootfsDuplicateError(BootfsError):
    """A name appears twice, or is used both as a file and as a directory."""


class BootfsOrderError(BootfsError):
    """Directory entries are not in strictly increasing component-by-component order."""


class BootfsNotFoundError(BootfsError, LookupError):
    """A requested name is not in the image."""


class BootfsSourceError(BootfsError):
    """An input tree or manifest cannot be used: bad line, missing or unreadable file."""

    def __init__(
        self,
        detail: str,
        *,
        path: str | os.PathLike[str] | None = None,
        line: int | None = None,
        entry: str | None = None,
        actual: object = None,
    ) -> None:
        super().__init__(detail, entry=entry, actual=actual)
        self.path = None if path is None else os.fspath(path)
        self.line = line

    def location(self) -> str:
        if self.path is None:
            return ""
        return self.path if self.line is None else f"{self.path}:{self.line}"
