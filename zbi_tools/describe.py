"""Human-readable and JSON descriptions of a ZbiImage, and extracted-item file names.

Listing (``zbi -t``), in the layout of Fuchsia's zbi tool, two lines per item::

    00000020: 00031b08 KERNEL_X64 (type=4c4e524b)
            :          MAGIC=b5781729 NO CRC FLAGS=00010000
    00031b48: 00005f93 KERNEL (type=5254534b) (size=0000db90)
            :          MAGIC=b5781729 CRC=9d0920d0 FLAGS=00030001

i.e. header offset, length, type name (``UNKNOWN`` if the table lacks it) and hex value,
then ``(size=EXTRA)`` for storage items or ``(extra=EXTRA)`` for others with a nonzero extra,
and a line with the magic, the CRC (or ``NO CRC``) and the flags.  Verbose listings add, per
BOOTFS item, one ``        : DATA_OFF DATA_LEN NAME`` line per file and, per CMDLINE item,
one ``        : WORD`` line per word; names and words that are not printable (a newline, a
control character) are shown as Python string literals, as ``bootfs list`` shows them, so
one line is always one entry.  The last line is ``BOOTABLE: bootable image`` or
``UNBOOTABLE: <reason>``.

Listings read only each BOOTFS item's directory (``bootfs_directory``): the payload is
decompressed piece by piece just until the directory is complete, and validated against the
full size the header promises, so listing costs memory for the directory alone, however much
file data the item would expand to.

JSON (``--json-output``) is a list with one object per item, keys as zbitl's json.h writes
them: ``offset``, ``type`` (name, or the number when unknown), ``size`` (length),
``uncompressed_size`` (compressed storage) or ``extra`` (when not the expected value),
``flags`` (when unusual), ``reserved0``/``reserved1`` (when nonzero), ``crc32`` (when
FLAGS_CRC32 is set), and ``contents``: for BOOTFS a list of ``{name, offset, length, size}``
(size page-rounded), for text items (CMDLINE, IMAGE_ARGS, SERIAL_NUMBER) the text.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import bootfs_tools
from bootfs_tools import BootfsEntry, printable_name
from bootfs_tools.format import HEADER as BOOTFS_HEADER
from bootfs_tools.format import page_align
from zbi_tools import format as fmt
from zbi_tools.compression import Buffer
from zbi_tools.errors import ZbiBootableError
from zbi_tools.image import ZbiImage, ZbiItem

JsonItem = dict[str, object]


def bootfs_of(item: ZbiItem) -> bootfs_tools.BootfsImage:
    """The BOOTFS image a STORAGE_BOOTFS item holds (decompressed and validated)."""
    return bootfs_tools.BootfsImage.parse(item.decompressed_view())


def bootfs_directory(
    item: ZbiItem,
) -> tuple[tuple[BootfsEntry, ...], list[Buffer], Generator[Buffer, None, None]]:
    """Read a STORAGE_BOOTFS item's directory, decompressing only as far as it needs.

    Returns the validated entries, the decompressed pieces read so far (in order, from
    offset 0) and an iterator over the pieces that follow, for a caller that streams the file
    data on (extraction); a caller that only lists closes it.
    """
    size = item.extra if item.compressed else item.length
    pieces = item.decompressed_pieces()
    head: list[Buffer] = []
    directory = bytearray()  # header + directory only, never the file data
    for piece in pieces:
        head.append(piece)
        view = memoryview(piece).cast("B")
        while view and len(directory) < _directory_needs(directory, size):
            take = view[: _directory_needs(directory, size) - len(directory)]
            directory += take
            view = view[len(take):]
        if len(directory) >= _directory_needs(directory, size):
            break
    return bootfs_tools.parse_directory(directory, size), head, pieces


def _directory_needs(directory: bytearray, size: int) -> int:
    """Bytes of the image the directory needs: the header, then header + dirsize (never
    more than the image has; parse_directory reports a directory that runs past it)."""
    end = bootfs_tools.directory_end(directory)
    return min(BOOTFS_HEADER.size if end is None else end, size)


def bootfs_entries(item: ZbiItem) -> tuple[BootfsEntry, ...]:
    """The validated directory of a STORAGE_BOOTFS item (see bootfs_directory)."""
    entries, _, rest = bootfs_directory(item)
    rest.close()  # stop decompressing now
    return entries


def cmdline_words(item: ZbiItem) -> list[str]:
    """The words of a CMDLINE item (split at the whitespace Fuchsia's tool uses; NULs end)."""
    text = bytes(item.payload).split(b"\0", 1)[0].decode("utf-8", errors="replace")
    for space in fmt.CMDLINE_WHITESPACE[1:]:
        text = text.replace(space, " ")
    return [word for word in text.split(" ") if word]


def bootable_line(image: ZbiImage, arch: str | None) -> str:
    """``BOOTABLE: bootable image`` or ``UNBOOTABLE: <reason>`` (for arch, if given)."""
    try:
        image.check_bootable(arch)
    except ZbiBootableError as err:
        return f"UNBOOTABLE: {err.reason}"
    return "BOOTABLE: bootable image"


def list_lines(image: ZbiImage, *, verbose: bool = False, arch: str | None = None
               ) -> Iterator[str]:
    """The listing described in the module docstring, one line at a time."""
    for _, offset, item in image.enumerate_items():
        row = fmt.lookup_type(item.type)
        line = f"{offset:08x}: {item.length:08x} {row.name if row else 'UNKNOWN'}"
        line += f" (type={item.type:08x})"
        if row and row.storage:
            line += f" (size={item.extra:08x})"
        elif item.extra:
            line += f" (extra={item.extra:08x})"
        yield line
        crc = f"CRC={item.header().crc32:08x}" if item.flags & fmt.FLAGS_CRC32 else "NO CRC"
        yield f"        :          MAGIC={item.magic:08x} {crc} FLAGS={item.flags:08x}"
        if verbose and item.length:
            yield from _contents_lines(item)
    yield bootable_line(image, arch)


def _contents_lines(item: ZbiItem) -> Iterator[str]:
    """The -v lines under an item: BOOTFS entries, or CMDLINE words."""
    if item.type == fmt.TYPE_STORAGE_BOOTFS:
        for entry in bootfs_entries(item):
            yield f"        : {entry.data_off:08x} {entry.data_len:08x} {printable_name(entry.name)}"
    elif item.type == fmt.TYPE_CMDLINE:
        for word in cmdline_words(item):
            yield f"        : {printable_name(word)}"


def json_items(image: ZbiImage) -> list[JsonItem]:
    """The JSON description described in the module docstring."""
    return [_json_item(offset, item) for _, offset, item in image.enumerate_items()]


def _json_item(offset: int, item: ZbiItem) -> JsonItem:
    """One item's JSON object (zbitl's JsonWriteHeader rules, plus contents)."""
    row = fmt.lookup_type(item.type)
    storage = row is not None and row.storage
    out: JsonItem = {"offset": offset, "type": row.name if row else item.type,
                     "size": item.length}
    if item.compressed:
        out["uncompressed_size"] = item.extra
    elif item.extra != (item.length if storage else 0):
        out["extra"] = item.extra
    known_flags = fmt.FLAGS_VERSION | fmt.FLAGS_CRC32
    known_flags |= fmt.FLAGS_STORAGE_COMPRESSED if storage else 0
    if not item.flags & fmt.FLAGS_VERSION or item.flags & ~known_flags:
        out["flags"] = item.flags
    for name in ("reserved0", "reserved1"):
        if getattr(item, name):
            out[name] = getattr(item, name)
    if item.flags & fmt.FLAGS_CRC32:
        out["crc32"] = item.header().crc32
    if item.length and item.type == fmt.TYPE_STORAGE_BOOTFS:
        out["contents"] = [
            {"name": entry.name, "offset": entry.data_off, "length": entry.data_len,
             "size": page_align(entry.data_len)}
            for entry in bootfs_entries(item)
        ]
    elif item.length and row is not None and row.extension == ".txt":
        out["contents"] = item.decompressed().decode("utf-8", errors="replace").rstrip("\0")
    return out


def extracted_name(number: int, item: ZbiItem, *, raw: bool = False) -> str:
    """File name for item `number` (from 1) extracted with -X (a ZBI) or -R (raw payload).

    ``NNN.<lowercase type name>.zbi``; raw payloads use the type's extension instead
    (``.txt`` for text types, ``.dtb``, else ``.bin``); unknown types use 8 hex digits.
    """
    row = fmt.lookup_type(item.type)
    stem = f"{number:03d}.{row.name.lower() if row else f'{item.type:08x}'}"
    if not raw:
        return f"{stem}.zbi"
    return f"{stem}{row.extension if row else '.bin'}"
