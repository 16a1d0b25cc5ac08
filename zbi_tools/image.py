"""Items and images: the record layer of zbi_tools.

``ZbiItem`` is one item: its header fields and its payload *as stored* (compressed or not).
``ZbiImage`` is a container header plus an ordered list of items::

    ZbiImage.parse(buf)   structural parse: container header, bounds, item magics, zero
                          padding; every header field is kept exactly as read, so
                          ZbiImage.parse(b).pack() == b for every buffer parse accepts
    image.pack()          bytes; items whose crc32 is None get it computed here (CRC32 of
                          the header with crc32 = 0, then the payload) or NO_CRC32
    image.check(arch)     every format rule, raising the first problem found (see check())

Parsing copies nothing: a parsed item's payload is a read-only memoryview into the buffer
given to parse() (which must not change while the image is in use).  check() computes the
CRC32s on a second thread while it streams compressed payloads through a small buffer, so a
large image is checked at about the speed of decompression alone.

Errors number the container header as item 0 and the items 1..N, and give the offset of
the item's header in the image.  Items from parse() remember that index and offset (they
do not take part in equality), so their decompression errors name them too.
"""

from __future__ import annotations

import zlib
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from zbi_tools import format as fmt
from zbi_tools.compression import (
    Buffer,
    Compression,
    compress,
    decompress,
    decompress_view,
    pieces,
    verify,
)
from zbi_tools.errors import (
    ZbiAlignmentError,
    ZbiBootableError,
    ZbiCrcError,
    ZbiError,
    ZbiHeaderError,
    ZbiMagicError,
    ZbiTruncatedError,
    ZbiUsageError,
)

__all__ = ["ZbiImage", "ZbiItem"]

_U32_MAX = 0xFFFFFFFF
_NEW_ITEM_FLAGS = fmt.FLAGS_VERSION | fmt.FLAGS_CRC32


@dataclass(frozen=True)
class ZbiItem:
    """One ZBI item.  Build new ones with the class methods; parse() makes the rest.

    ``crc32=None`` (the default for new items) means "compute at pack time": the CRC32 when
    FLAGS_CRC32 is set, else NO_CRC32.  A parsed item keeps the value it was read with.
    """

    type: int
    payload: Buffer
    """The payload as stored: bytes, or for a parsed item a read-only memoryview into the
    parsed buffer (no copy; bytes(item.payload) makes one)."""
    extra: int = 0
    flags: int = _NEW_ITEM_FLAGS
    reserved0: int = 0
    reserved1: int = 0
    magic: int = fmt.ITEM_MAGIC
    crc32: int | None = None
    index: int | None = field(default=None, compare=False, repr=False, kw_only=True)
    """Item number (1-based) in the image this item was parsed from."""
    offset: int | None = field(default=None, compare=False, repr=False, kw_only=True)
    """Offset of this item's header in the image it was parsed from."""

    def __post_init__(self) -> None:
        if isinstance(self.payload, memoryview):
            object.__setattr__(self, "payload", self.payload.cast("B").toreadonly())
        elif not isinstance(self.payload, bytes):
            object.__setattr__(self, "payload", bytes(self.payload))
        for name in ("type", "extra", "flags", "reserved0", "reserved1", "magic", "crc32"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= _U32_MAX:
                raise ZbiUsageError(f"{name} {value!r} does not fit in 32 bits", field=name,
                                    actual=value)
        if len(self.payload) > _U32_MAX:
            raise ZbiUsageError(f"payload of {len(self.payload):#x} bytes is too large",
                                field="length", actual=len(self.payload))

    @classmethod
    def cmdline(cls, text: str) -> ZbiItem:
        """A CMDLINE item holding text, NUL-terminated as Fuchsia's tool writes it."""
        return cls(fmt.TYPE_CMDLINE, text.encode() + b"\0")

    @classmethod
    def kernel(cls, arch: str, payload: Buffer) -> ZbiItem:
        """A KERNEL_<ARCH> item; payload must already start with zbi_kernel_t."""
        if len(payload) < fmt.KERNEL_HEADER.size:
            raise ZbiUsageError(
                f"kernel payload of {len(payload):#x} bytes is shorter than zbi_kernel_t",
                field="length", expected=fmt.KERNEL_HEADER.size, actual=len(payload))
        return cls(fmt.kernel_type(arch), payload)

    @classmethod
    def storage(cls, type: int, data: Buffer,
                compression: str | Compression = "lz4") -> ZbiItem:
        """A storage item (RAMDISK, BOOTFS, KERNEL) holding data, compressed as asked.

        compression: "lz4" (default), "zstd" or "none", optionally "ALGO.LEVEL"/"ALGO.max",
        or a Compression.  extra is set to len(data).
        """
        if not fmt.is_storage(type):
            raise ZbiUsageError(f"{fmt.type_name(type)} is not a storage item type",
                                field="type", actual=type)
        how = compression if isinstance(compression, Compression) else Compression.parse(
            compression)
        flags = _NEW_ITEM_FLAGS | (fmt.FLAGS_STORAGE_COMPRESSED if how else 0)
        data = memoryview(data).cast("B")  # so that len() counts bytes
        return cls(type, compress(data, how), extra=len(data), flags=flags)

    @property
    def length(self) -> int:
        """The header's length field: payload bytes as stored, without padding."""
        return len(self.payload)

    @property
    def type_name(self) -> str:
        """Name from the type table (e.g. "BOOTFS"), or 8 hex digits for unknown types."""
        return fmt.type_name(self.type)

    @property
    def compressed(self) -> bool:
        """True for a storage item whose payload is stored compressed."""
        return bool(self.flags & fmt.FLAGS_STORAGE_COMPRESSED) and fmt.is_storage(self.type)

    def computed_crc32(self) -> int:
        """CRC32 of the header (crc32 field zeroed) followed by the payload."""
        return zlib.crc32(self.payload, zlib.crc32(self.header(crc32=0).pack()))

    def header(self, crc32: int | None = None) -> fmt.ZbiHeader:
        """The header this item packs with (crc32 resolved as the class docstring says)."""
        if crc32 is None:
            crc32 = self.crc32
        if crc32 is None:
            crc32 = (self.computed_crc32() if self.flags & fmt.FLAGS_CRC32
                     else fmt.ITEM_NO_CRC32)
        return fmt.ZbiHeader(self.type, len(self.payload), self.extra, self.flags,
                             self.reserved0, self.reserved1, self.magic, crc32)

    def decompressed(self) -> bytes:
        """The payload uncompressed: exactly `extra` bytes for a compressed storage item.

        Never produces more than `extra` bytes; raises ZbiCompressionError (naming this
        item's index and offset when it came from parse()) if the stream is corrupt or does
        not expand to exactly `extra` bytes.  Other items return their payload as bytes.
        """
        if not self.compressed:
            return bytes(self.payload)
        try:
            return decompress(self.payload, self.extra)
        except ZbiError as err:
            raise err.located(self.index, self.offset) from err

    def decompressed_pieces(self) -> Generator[Buffer, None, None]:
        """decompressed() in order, in pieces of at most 1 MiB (the payload as one piece when
        it is not compressed); errors as for decompressed(), raised when reached."""
        if not self.compressed:
            yield self.payload
            return
        try:
            yield from pieces(self.payload, self.extra)
        except ZbiError as err:
            raise err.located(self.index, self.offset) from err

    def decompressed_view(self) -> memoryview:
        """decompressed() as a read-only memoryview, without a bytes copy: the payload itself
        for an uncompressed item, else a fresh (huge-page backed) mapping."""
        if not self.compressed:
            return memoryview(self.payload).toreadonly()
        try:
            return decompress_view(self.payload, self.extra)
        except ZbiError as err:
            raise err.located(self.index, self.offset) from err


@dataclass
class ZbiImage:
    """A ZBI: the container header (as read, or canonical) and the items in order."""

    items: list[ZbiItem] = field(default_factory=list)
    container: fmt.ZbiHeader = field(default_factory=lambda: fmt.container_header(0))
    """The container header; pack() writes it with the length recomputed."""

    @classmethod
    def parse(cls, buf: bytes | bytearray | memoryview) -> ZbiImage:
        """Parse a whole image.  Checks only what walking the items needs.

        Raises ZbiTruncatedError (buffer ends inside a header or payload, or before the
        container's length), ZbiMagicError (container type/extra/magic, item magic),
        ZbiAlignmentError (container length not a multiple of 8), ZbiHeaderError (data after
        the container's end, nonzero padding).  Flags, reserved fields, CRCs and compressed
        payloads are left to check().  Payloads are views into buf (a bytearray is copied
        first, so that its owner stays free to resize it).
        """
        view = memoryview(bytes(buf) if isinstance(buf, bytearray) else buf).cast("B")
        view = view.toreadonly()
        size = len(view)
        if size < fmt.HEADER_SIZE:
            raise ZbiTruncatedError(
                f"image of {size:#x} bytes is shorter than the container header",
                item_index=0, offset=0, field="length", expected=fmt.HEADER_SIZE, actual=size)
        container = fmt.ZbiHeader.unpack(view)
        _check_container_magic(container)
        if container.length % fmt.ALIGNMENT:
            raise ZbiAlignmentError(f"length {container.length:#x} is not 8-aligned",
                                    item_index=0, offset=0, field="length",
                                    expected=fmt.align(container.length),
                                    actual=container.length)
        end = fmt.HEADER_SIZE + container.length
        if end < size:
            raise ZbiHeaderError(
                f"length {container.length:#x} ends the image at {end:#x} but the buffer has"
                f" {size:#x} bytes", item_index=0, offset=0, field="length",
                expected=size - fmt.HEADER_SIZE, actual=container.length)
        items: list[ZbiItem] = []
        offset = fmt.HEADER_SIZE
        while offset < min(end, size):
            items.append(_parse_item(view, len(items) + 1, offset, min(end, size)))
            offset += fmt.HEADER_SIZE + fmt.align(items[-1].length)
        if end > size:
            raise ZbiTruncatedError(
                f"length {container.length:#x} needs {end:#x} bytes but the image has"
                f" {size:#x}", item_index=0, offset=0, field="length",
                expected=size - fmt.HEADER_SIZE, actual=container.length)
        return cls(items, container)

    @staticmethod
    def is_zbi(buf: bytes | bytearray | memoryview) -> bool:
        """True when buf starts with a container header (type, extra and magic), the test
        Fuchsia's zbi tool uses to tell ZBI inputs from manifests."""
        if len(buf) < fmt.HEADER_SIZE:
            return False
        header = fmt.ZbiHeader.unpack(buf)
        return (header.type == fmt.TYPE_CONTAINER and header.extra == fmt.CONTAINER_MAGIC
                and header.magic == fmt.ITEM_MAGIC)

    def enumerate_items(self) -> Iterator[tuple[int, int, ZbiItem]]:
        """(index, offset, item) for each item, numbered from 1, offsets as pack() lays out."""
        offset = fmt.HEADER_SIZE
        for index, item in enumerate(self.items, start=1):
            yield index, offset, item
            offset += fmt.HEADER_SIZE + fmt.align(item.length)

    def pack(self) -> bytes:
        """The image as bytes: container header, then each header, payload and padding."""
        parts: list[Buffer] = [b""]
        length = 0
        for item in self.items:
            parts += (item.header().pack(), item.payload)
            padding = fmt.align(item.length) - item.length
            if padding:
                parts.append(bytes(padding))
            length += fmt.HEADER_SIZE + item.length + padding
        if length > _U32_MAX - fmt.HEADER_SIZE:
            raise ZbiUsageError(f"image of {length:#x} bytes exceeds the format's 4 GiB limit",
                                field="length", actual=length)
        parts[0] = replace(self.container, length=length).pack()
        return b"".join(parts)

    def check(self, bootable: str | None = None) -> None:
        """Check every format rule; raise the first problem as a ZbiError subclass.

        Container: type, extra, magic, flags == VERSION, reserved fields, crc32 ==
        NO_CRC32.  Each item: VERSION flag, magic, reserved fields, crc32 (the CRC32 when
        FLAGS_CRC32 is set, else NO_CRC32), storage extra == length when uncompressed, and
        compressed payloads expand to exactly `extra` bytes.  With `bootable` (an
        architecture name) also check_bootable().  Bounds, alignment, padding and the
        container length are parse()'s checks.
        """
        _check_container(self.container)
        # CRC32s run on a second thread (zlib releases the GIL) while payloads decompress;
        # problems are still reported in item order, and within an item in the order above.
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zbi-crc32")
        try:
            crcs = [pool.submit(item.computed_crc32) if _has_crc(item) else None
                    for item in self.items]
            for (index, offset, item), crc in zip(self.enumerate_items(), crcs, strict=True):
                try:
                    _check_item(item, crc)
                except ZbiError as err:
                    raise err.located(index, offset) from None
        finally:
            pool.shutdown(cancel_futures=True)
        if bootable is not None:
            self.check_bootable(bootable)

    def check_bootable(self, arch: str | None = None) -> None:
        """Raise ZbiBootableError unless the first item is a kernel (for arch, if given).

        The rule of zbitl's CheckBootable: the KERNEL_<ARCH> item must come first (other
        kernel items may follow, as in Fuchsia's chain-loading tests); its payload must hold
        at least a zbi_kernel_t.
        """
        want = fmt.kernel_type(arch) if arch is not None else None
        expected = fmt.type_name(want) if want is not None else "KERNEL_<ARCH>"
        if not self.items:
            raise ZbiBootableError("empty ZBI", item_index=0, offset=0, field="items")
        first = self.items[0]
        reason = None
        if not fmt.is_kernel(first.type):
            reason = ("kernel item out of order: must be first"
                      if any(fmt.is_kernel(item.type) for item in self.items)
                      else "no kernel item found")
        elif want is not None and first.type != want:
            reason = f"kernel item is {first.type_name}, not {expected} for {arch}"
        if reason:
            raise ZbiBootableError(reason, item_index=1, offset=fmt.HEADER_SIZE, field="type",
                                   expected=expected, actual=first.type_name)
        if first.length < fmt.KERNEL_HEADER.size:
            raise ZbiBootableError(
                f"kernel payload of {first.length:#x} bytes is shorter than zbi_kernel_t",
                item_index=1, offset=fmt.HEADER_SIZE, field="length",
                expected=fmt.KERNEL_HEADER.size, actual=first.length)

    def with_kernel_first(self) -> ZbiImage:
        """A copy with the first kernel item moved to the front (others keep their order)."""
        kernels = [i for i, item in enumerate(self.items) if fmt.is_kernel(item.type)]
        if not kernels:
            return replace(self, items=list(self.items))
        first = kernels[0]
        rest = self.items[:first] + self.items[first + 1:]
        return replace(self, items=[self.items[first], *rest])

    def with_merged_cmdlines(self) -> ZbiImage:
        """A copy with all CMDLINE items merged into one new item where the first one was.

        Fuchsia's rule: payloads joined with a space, leading whitespace and trailing NULs
        and whitespace trimmed, one NUL appended; no item at all if nothing is left.
        """
        whitespace = fmt.CMDLINE_WHITESPACE.encode()
        cmdlines = [item for item in self.items if item.type == fmt.TYPE_CMDLINE]
        if not cmdlines:
            return replace(self, items=list(self.items))
        text = b""
        for item in cmdlines:
            text = (text + b" " + item.payload).lstrip(whitespace)
            text = text.rstrip(b"\0").rstrip(whitespace)
        place = self.items.index(cmdlines[0])
        items = [item for item in self.items if item.type != fmt.TYPE_CMDLINE]
        if text:
            items.insert(place, ZbiItem(fmt.TYPE_CMDLINE, text + b"\0"))
        return replace(self, items=items)


def _parse_item(view: memoryview, index: int, offset: int, end: int) -> ZbiItem:
    """Parse the item whose header is at offset; the image's usable bytes end at end."""
    if end - offset < fmt.HEADER_SIZE:
        raise ZbiTruncatedError(
            f"header needs {fmt.HEADER_SIZE:#x} bytes but only {end - offset:#x} remain",
            item_index=index, offset=offset, field="header", expected=fmt.HEADER_SIZE,
            actual=end - offset)
    header = fmt.ZbiHeader.unpack(view, offset)
    if header.magic != fmt.ITEM_MAGIC:
        raise ZbiMagicError(item_index=index, offset=offset, field="magic",
                            expected=fmt.ITEM_MAGIC, actual=header.magic)
    start = offset + fmt.HEADER_SIZE
    if header.length > end - start:
        raise ZbiTruncatedError(
            f"length {header.length:#x} runs past the end of the image at {end:#x}",
            item_index=index, offset=offset, field="length", expected=end - start,
            actual=header.length)
    stop = start + header.length
    padding = view[stop:min(end, start + fmt.align(header.length))]
    if any(padding):
        raise ZbiHeaderError(f"padding after the payload is not zero: {bytes(padding).hex()}",
                             item_index=index, offset=offset, field="padding")
    return ZbiItem(header.type, view[start:stop], header.extra, header.flags,
                   header.reserved0, header.reserved1, header.magic, header.crc32, index=index,
                   offset=offset)


def _check_container_magic(container: fmt.ZbiHeader) -> None:
    """Raise ZbiMagicError unless type, extra and magic are the container's values."""
    for name, expected in (("type", fmt.TYPE_CONTAINER), ("extra", fmt.CONTAINER_MAGIC),
                           ("magic", fmt.ITEM_MAGIC)):
        actual = getattr(container, name)
        if actual != expected:
            raise ZbiMagicError(item_index=0, offset=0, field=name, expected=expected,
                                actual=actual)


def _check_container(container: fmt.ZbiHeader) -> None:
    """Check the container header's fields (errors name item 0 at offset 0)."""
    _check_container_magic(container)
    try:
        if container.flags != fmt.FLAGS_VERSION:
            raise ZbiHeaderError(field="flags", expected=fmt.FLAGS_VERSION,
                                 actual=container.flags)
        _check_reserved(container.reserved0, container.reserved1)
        if container.crc32 != fmt.ITEM_NO_CRC32:
            raise ZbiCrcError(field="crc32", expected=fmt.ITEM_NO_CRC32, actual=container.crc32)
    except ZbiError as err:
        raise err.located(0, 0) from None


def _check_reserved(reserved0: int, reserved1: int) -> None:
    """Raise ZbiHeaderError for the first nonzero reserved field."""
    for name, value in (("reserved0", reserved0), ("reserved1", reserved1)):
        if value:
            raise ZbiHeaderError(field=name, expected=0, actual=value)


def _has_crc(item: ZbiItem) -> bool:
    """True when check() must compare the item's crc32 field with its computed CRC32."""
    return item.crc32 is not None and bool(item.flags & fmt.FLAGS_CRC32)


def _check_item(item: ZbiItem, crc: Future[int] | None) -> None:
    """Check one item's header, crc32 field (crc: its computed CRC32, when flagged) and
    storage payload; the caller adds the item's index and offset to the error."""
    if not item.flags & fmt.FLAGS_VERSION:
        raise ZbiHeaderError(f"flags {item.flags:#x} lack ZBI_FLAGS_VERSION", field="flags",
                             expected=item.flags | fmt.FLAGS_VERSION, actual=item.flags)
    if item.magic != fmt.ITEM_MAGIC:
        raise ZbiMagicError(field="magic", expected=fmt.ITEM_MAGIC, actual=item.magic)
    _check_reserved(item.reserved0, item.reserved1)
    if item.crc32 is not None and not _has_crc(item) and item.crc32 != fmt.ITEM_NO_CRC32:
        raise ZbiCrcError(f"crc32 expected {fmt.ITEM_NO_CRC32:#x} (no CRC32 flag) got"
                          f" {item.crc32:#x}", field="crc32", expected=fmt.ITEM_NO_CRC32,
                          actual=item.crc32)
    payload_error: ZbiError | None = None
    if item.compressed:
        try:
            verify(item.payload, item.extra)
        except ZbiError as err:
            payload_error = err
    elif fmt.is_storage(item.type) and item.extra != item.length:
        payload_error = ZbiHeaderError(
            f"extra {item.extra:#x} of an uncompressed storage item must equal its length"
            f" {item.length:#x}", field="extra", expected=item.length, actual=item.extra)
    if crc is not None and crc.result() != item.crc32:
        raise ZbiCrcError(field="crc32", expected=crc.result(), actual=item.crc32)
    if payload_error is not None:
        raise payload_error
