"""ZBI on-disk format: constants, the header layout and the one table of item types.

Layout (all fields little-endian; values from Fuchsia's ``lib/zbi-format/zbi.h``)::

    image     = container header | item | item | ...
    item      = zbi_header_t (32 bytes) | payload (`length` bytes) | zero padding to 8
    container = zbi_header_t with type CONTAINER, length = bytes of all items after it,
                extra = CONTAINER_MAGIC, flags = VERSION only, crc32 = NO_CRC32

    zbi_header_t:  0 type   4 length   8 extra   12 flags   16 reserved0   20 reserved1
                   24 magic (ITEM_MAGIC)   28 crc32

CRC32 (zlib's) covers the 32-byte header with its crc32 field zeroed, then the `length`
payload bytes; it is present only when FLAGS_CRC32 is set, otherwise crc32 = NO_CRC32.
Storage items (RAMDISK, BOOTFS, KERNEL) keep the uncompressed size in `extra`; with
FLAGS_STORAGE_COMPRESSED the payload is an LZ4 frame or a zstd frame, told apart by magic.

``ITEM_TYPES`` is the single type table: the parser, the builder, the listing, extraction
file names and the CLI's ``--type`` parsing all read it.  Names are those of Fuchsia's
``zbi`` tool (so ``STORAGE_KERNEL`` lists as ``KERNEL`` and ``SECURE_ENTROPY`` as
``ENTROPY``); the ``ZBI_TYPE_*`` spellings are accepted as aliases.  CPU_TOPOLOGY is the
0x544f504f value of the zbi.h generation the table follows (newer headers renamed it
DEPRECATED_CPU_TOPOLOGY_V2 and reused the name for 0x43505533).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from zbi_tools.errors import ZbiUsageError

ALIGNMENT = 8

HEADER = struct.Struct("<8I")
"""zbi_header_t: type, length, extra, flags, reserved0, reserved1, magic, crc32."""
HEADER_SIZE = HEADER.size

KERNEL_HEADER = struct.Struct("<QQ")
"""zbi_kernel_t at the start of every KERNEL_<ARCH> payload: entry, reserve_memory_size."""

CONTAINER_MAGIC = 0x868CF7E6  # low 32 bits of sha256("bootdata"); the container's extra
ITEM_MAGIC = 0xB5781729  # low 32 bits of sha256("bootitem"); every header's magic
ITEM_NO_CRC32 = 0x4A87E8D6  # crc32 value of an item without FLAGS_CRC32

FLAGS_VERSION = 0x00010000
FLAGS_CRC32 = 0x00020000
FLAGS_STORAGE_COMPRESSED = 0x00000001

TYPE_KERNEL_PREFIX = 0x004E524B  # "KRN\0"
TYPE_KERNEL_MASK = 0x00FFFFFF

TYPE_CONTAINER = 0x544F4F42  # BOOT
TYPE_KERNEL_X64 = 0x4C4E524B  # KRNL
TYPE_KERNEL_ARM64 = 0x384E524B  # KRN8
TYPE_KERNEL_RISCV64 = 0x564E524B  # KRNV
TYPE_DISCARD = 0x50494B53  # SKIP
TYPE_STORAGE_RAMDISK = 0x4B534452  # RDSK
TYPE_STORAGE_BOOTFS = 0x42534642  # BFSB
TYPE_STORAGE_KERNEL = 0x5254534B  # KSTR
TYPE_STORAGE_BOOTFS_FACTORY = 0x46534642  # BFSF
TYPE_CMDLINE = 0x4C444D43  # CMDL
TYPE_CRASHLOG = 0x4D4F4F42  # BOOM
TYPE_NVRAM = 0x4C4C564E  # NVLL
TYPE_PLATFORM_ID = 0x44494C50  # PLID
TYPE_DRV_BOARD_INFO = 0x4953426D  # mBSI
TYPE_CPU_CONFIG = 0x43555043  # CPUC
TYPE_CPU_TOPOLOGY = 0x544F504F  # OPOT in memory (zbi.h's comment says TOPO)
TYPE_MEM_CONFIG = 0x434D454D  # MEMC
TYPE_KERNEL_DRIVER = 0x5652444B  # KDRV
TYPE_ACPI_RSDP = 0x50445352  # RSDP
TYPE_SMBIOS = 0x49424D53  # SMBI
TYPE_EFI_SYSTEM_TABLE = 0x53494645  # EFIS
TYPE_EFI_MEMORY_ATTRIBUTES_TABLE = 0x54414D45  # EMAT
TYPE_FRAMEBUFFER = 0x42465753  # SWFB
TYPE_IMAGE_ARGS = 0x47524149  # IARG
TYPE_BOOT_VERSION = 0x53525642  # BVRS
TYPE_DRV_MAC_ADDRESS = 0x43414D6D  # mMAC
TYPE_DRV_PARTITION_MAP = 0x5452506D  # mPRT
TYPE_DRV_BOARD_PRIVATE = 0x524F426D  # mBOR
TYPE_HW_REBOOT_REASON = 0x42525748  # HWRB
TYPE_SERIAL_NUMBER = 0x4E4C5253  # SRLN
TYPE_BOOTLOADER_FILE = 0x4C465442  # BTFL
TYPE_DEVICETREE = 0xD00DFEED  # FDT magic, not ASCII
TYPE_SECURE_ENTROPY = 0x444E4152  # RAND
TYPE_DEBUGDATA = 0x44474244  # DBGD

LZ4_FRAME_MAGIC = 0x184D2204
ZSTD_FRAME_MAGIC = 0xFD2FB528
COMPRESSION_MAGIC = struct.Struct("<I")

LZ4_DEFAULT_LEVEL = 4
ZSTD_DEFAULT_LEVEL = 4
ZSTD_MAX_LEVEL = 19
"""Fuchsia's zbi tool: lz4f level 4, zstd level 4 (long-distance matching from 4), max 19."""

CMDLINE_WHITESPACE = " \t\r\n"
"""Characters Fuchsia's zbi tool trims when it merges CMDLINE items."""


@dataclass(frozen=True)
class ItemType:
    """One row of the type table."""

    name: str
    """The name Fuchsia's zbi tool lists and accepts (case-insensitively) for --type."""
    value: int
    fourcc: str | None
    """The value's four bytes as ASCII (little-endian order), None when not printable."""
    storage: bool = False
    """Storage type: `extra` is the uncompressed size, the payload may be compressed."""
    extension: str = ".bin"
    """Extension of a raw extracted payload (``-R``)."""
    alias: str | None = None
    """The ZBI_TYPE_* spelling, accepted by parse_type when it differs from name."""


ITEM_TYPES: tuple[ItemType, ...] = (
    ItemType("CONTAINER", TYPE_CONTAINER, "BOOT"),
    ItemType("KERNEL_X64", TYPE_KERNEL_X64, "KRNL"),
    ItemType("KERNEL_ARM64", TYPE_KERNEL_ARM64, "KRN8"),
    ItemType("KERNEL_RISCV64", TYPE_KERNEL_RISCV64, "KRNV"),
    ItemType("DISCARD", TYPE_DISCARD, "SKIP"),
    ItemType("RAMDISK", TYPE_STORAGE_RAMDISK, "RDSK", storage=True, alias="STORAGE_RAMDISK"),
    ItemType("BOOTFS", TYPE_STORAGE_BOOTFS, "BFSB", storage=True, alias="STORAGE_BOOTFS"),
    ItemType("KERNEL", TYPE_STORAGE_KERNEL, "KSTR", storage=True, alias="STORAGE_KERNEL"),
    ItemType("BOOTFS_FACTORY", TYPE_STORAGE_BOOTFS_FACTORY, "BFSF",
             alias="STORAGE_BOOTFS_FACTORY"),
    ItemType("CMDLINE", TYPE_CMDLINE, "CMDL", extension=".txt"),
    ItemType("CRASHLOG", TYPE_CRASHLOG, "BOOM"),
    ItemType("NVRAM", TYPE_NVRAM, "NVLL"),
    ItemType("PLATFORM_ID", TYPE_PLATFORM_ID, "PLID"),
    ItemType("DRV_BOARD_INFO", TYPE_DRV_BOARD_INFO, "mBSI"),
    ItemType("CPU_CONFIG", TYPE_CPU_CONFIG, "CPUC"),
    ItemType("CPU_TOPOLOGY", TYPE_CPU_TOPOLOGY, "OPOT"),
    ItemType("MEM_CONFIG", TYPE_MEM_CONFIG, "MEMC"),
    ItemType("KERNEL_DRIVER", TYPE_KERNEL_DRIVER, "KDRV"),
    ItemType("ACPI_RSDP", TYPE_ACPI_RSDP, "RSDP"),
    ItemType("SMBIOS", TYPE_SMBIOS, "SMBI"),
    ItemType("EFI_SYSTEM_TABLE", TYPE_EFI_SYSTEM_TABLE, "EFIS"),
    ItemType("EFI_MEMORY_ATTRIBUTES_TABLE", TYPE_EFI_MEMORY_ATTRIBUTES_TABLE, "EMAT"),
    ItemType("FRAMEBUFFER", TYPE_FRAMEBUFFER, "SWFB"),
    ItemType("IMAGE_ARGS", TYPE_IMAGE_ARGS, "IARG", extension=".txt"),
    ItemType("BOOT_VERSION", TYPE_BOOT_VERSION, "BVRS"),
    ItemType("DRV_MAC_ADDRESS", TYPE_DRV_MAC_ADDRESS, "mMAC"),
    ItemType("DRV_PARTITION_MAP", TYPE_DRV_PARTITION_MAP, "mPRT"),
    ItemType("DRV_BOARD_PRIVATE", TYPE_DRV_BOARD_PRIVATE, "mBOR"),
    ItemType("HW_REBOOT_REASON", TYPE_HW_REBOOT_REASON, "HWRB"),
    ItemType("SERIAL_NUMBER", TYPE_SERIAL_NUMBER, "SRLN", extension=".txt"),
    ItemType("BOOTLOADER_FILE", TYPE_BOOTLOADER_FILE, "BTFL"),
    ItemType("DEVICETREE", TYPE_DEVICETREE, None, extension=".dtb"),
    ItemType("ENTROPY", TYPE_SECURE_ENTROPY, "RAND", alias="SECURE_ENTROPY"),
    ItemType("DEBUGDATA", TYPE_DEBUGDATA, "DBGD"),
)

_BY_VALUE: dict[int, ItemType] = {t.value: t for t in ITEM_TYPES}
_BY_NAME: dict[str, ItemType] = {
    **{t.alias: t for t in ITEM_TYPES if t.alias},
    **{t.name: t for t in ITEM_TYPES},
}

KERNEL_TYPES: dict[str, int] = {
    "x64": TYPE_KERNEL_X64,
    "arm64": TYPE_KERNEL_ARM64,
    "riscv64": TYPE_KERNEL_RISCV64,
}
"""Architecture name (as --complete/--bootable spell it) -> its KERNEL_<ARCH> type."""


@dataclass(frozen=True)
class ZbiHeader:
    """zbi_header_t as a record; ``unpack(buf, offset)`` and ``pack()`` are inverses."""

    type: int
    length: int
    extra: int
    flags: int
    reserved0: int
    reserved1: int
    magic: int
    crc32: int

    @classmethod
    def unpack(cls, buf: bytes | bytearray | memoryview, offset: int = 0) -> ZbiHeader:
        """Read a header at offset; the caller has checked that 32 bytes are there."""
        return cls(*HEADER.unpack_from(buf, offset))

    def pack(self) -> bytes:
        return HEADER.pack(self.type, self.length, self.extra, self.flags, self.reserved0,
                           self.reserved1, self.magic, self.crc32)


def container_header(length: int) -> ZbiHeader:
    """The canonical container header for `length` bytes of items (ZBI_CONTAINER_HEADER)."""
    return ZbiHeader(TYPE_CONTAINER, length, CONTAINER_MAGIC, FLAGS_VERSION, 0, 0, ITEM_MAGIC,
                     ITEM_NO_CRC32)


def align(n: int) -> int:
    """Round n up to ZBI_ALIGNMENT."""
    return (n + ALIGNMENT - 1) & -ALIGNMENT


def lookup_type(value: int) -> ItemType | None:
    """The table row for a type value, or None for a type the table does not know."""
    return _BY_VALUE.get(value)


def type_name(value: int) -> str:
    """The table name of a type, or its value as 8 hex digits when the type is unknown."""
    row = _BY_VALUE.get(value)
    return row.name if row else f"{value:08x}"


def is_kernel(value: int) -> bool:
    """True for every KERNEL_<ARCH> type (ZBI_IS_KERNEL_BOOTITEM)."""
    return value & TYPE_KERNEL_MASK == TYPE_KERNEL_PREFIX


def is_storage(value: int) -> bool:
    """True for the storage types, whose `extra` is the uncompressed payload size."""
    row = _BY_VALUE.get(value)
    return row is not None and row.storage


def kernel_type(arch: str) -> int:
    """The KERNEL_<ARCH> type for 'x64', 'arm64' or 'riscv64'."""
    try:
        return KERNEL_TYPES[arch]
    except KeyError:
        raise ZbiUsageError(
            f"unknown architecture {arch!r} (expected one of: {', '.join(KERNEL_TYPES)})",
            field="arch", expected=tuple(KERNEL_TYPES), actual=arch,
        ) from None


def parse_type(text: str) -> int:
    """Parse a --type argument: a table name or alias (any case), or a number.

    Numbers: ``0x``-prefixed hex, plain decimal, or (as Fuchsia's tool reads them) bare hex
    digits such as ``d00dfeed``.  Raises ZbiUsageError for anything else.
    """
    row = _BY_NAME.get(text.upper())
    if row:
        return row.value
    for base in (0, 16):
        try:
            value = int(text, base)
        except ValueError:
            continue
        if 0 <= value <= 0xFFFFFFFF:
            return value
        break
    raise ZbiUsageError(f"unrecognized item type {text!r}", field="type", actual=text)
