"""The typed error tree of zbi_tools.

Every failure the library reports is a ``ZbiError`` (or a subclass) carrying structured fields
that locate and explain the problem:

``item_index``
    0 for the container header, 1..N for the items in image order (the numbering the CLI's
    ``-X`` uses for extracted items); ``None`` when the error is not about one item.
``offset``
    byte offset of that item's header from the start of the image.
``field``
    the header field or property that is wrong (``"crc32"``, ``"length"``, ``"payload"``...).
``expected`` / ``actual``
    what the format requires and what was found (ints are shown in hex).

``str(error)`` is one line such as ``item 1 at offset 0x20: crc32 expected 0x1234 got 0x5678``;
``detail()`` appends the field with whichever of the expected and actual values are known
when the message does not already say them (nothing when neither is).  The library never prints or exits; only ``zbi_tools.cli`` turns these into a
message.
"""

from __future__ import annotations

import copy
from typing import Self

__all__ = [
    "ZbiAlignmentError",
    "ZbiBootableError",
    "ZbiCompressionError",
    "ZbiCrcError",
    "ZbiDuplicateError",
    "ZbiError",
    "ZbiHeaderError",
    "ZbiMagicError",
    "ZbiTruncatedError",
    "ZbiUsageError",
]


def _show(value: object) -> str:
    """Render a field value for a message: ints in hex, everything else as str()."""
    if isinstance(value, bool) or not isinstance(value, int):
        return str(value)
    return f"{value:#x}"


class ZbiError(Exception):
    """Base of every zbi_tools error; see the module docstring for the fields."""

    def __init__(
        self,
        message: str | None = None,
        *,
        item_index: int | None = None,
        offset: int | None = None,
        field: str | None = None,
        expected: object = None,
        actual: object = None,
    ) -> None:
        self.item_index = item_index
        self.offset = offset
        self.field = field
        self.expected = expected
        self.actual = actual
        self.generated = message is None
        if message is None:
            message = f"{field} expected {_show(expected)} got {_show(actual)}"
        self.reason = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.item_index is not None:
            where.append(f"item {self.item_index}")
        if self.offset is not None:
            where.append(f"at offset {self.offset:#x}")
        return f"{' '.join(where)}: {self.reason}" if where else self.reason

    def detail(self) -> str:
        """str(self), plus the field, expected and actual values when the message does not
        already spell them out (the one-line form ``zbi --check`` prints)."""
        text = str(self)
        values = [f"{name} {_show(value)}" for name, value in
                  (("expected", self.expected), ("actual", self.actual)) if value is not None]
        if self.generated or self.field is None or not values:
            return text
        return f"{text} [{self.field}: {', '.join(values)}]"

    def located(self, item_index: int | None, offset: int | None) -> Self:
        """Return a copy of this error that names the item it happened in."""
        located = copy.copy(self)
        located.item_index = item_index
        located.offset = offset
        located.args = (str(located),)
        return located


class ZbiTruncatedError(ZbiError):
    """The buffer ends before a header or payload it must contain."""


class ZbiMagicError(ZbiError):
    """A magic number (container type/extra, item magic) has the wrong value."""


class ZbiHeaderError(ZbiError):
    """A header field breaks a format rule: flags, version, reserved fields, sizes, padding."""


class ZbiAlignmentError(ZbiError):
    """A length or offset that must be a multiple of ZBI_ALIGNMENT is not."""


class ZbiCrcError(ZbiError):
    """A crc32 field does not hold the CRC32 (or the NO_CRC32 value) it must."""


class ZbiCompressionError(ZbiError):
    """A compressed payload is corrupt, of unknown format, or not exactly `extra` bytes."""


class ZbiBootableError(ZbiError):
    """The image is not bootable for the requested architecture."""


class ZbiDuplicateError(ZbiError):
    """Two items hold the same BOOTFS file name and nothing says which one wins."""


class ZbiUsageError(ZbiError):
    """The caller asked for something impossible (unknown type name, bad compression spec)."""
