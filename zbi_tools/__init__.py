"""zbi_tools: read, check and build Zircon Boot Images (ZBI).

Layers, bottom up (one module each): ``errors`` (the ZbiError tree), ``format`` (constants,
the header struct, the one item-type table), ``compression`` (LZ4 frame / zstd behind one
choke point), ``image`` (ZbiItem, ZbiImage: parse, pack, check), ``describe`` (listing,
JSON, extracted file names), ``cli`` (the ``zbi`` command, modelled on Fuchsia's host tool;
also ``python -m zbi_tools``).

    from zbi_tools import ZbiImage, ZbiItem, format
    image = ZbiImage([ZbiItem.kernel("x64", kernel), ZbiItem.cmdline("userboot.shutdown"),
                      ZbiItem.storage(format.TYPE_STORAGE_BOOTFS, bootfs_bytes)])
    data = image.pack()
    ZbiImage.parse(data).check(bootable="x64")
"""

from zbi_tools import format
from zbi_tools.compression import Compression
from zbi_tools.errors import (
    ZbiAlignmentError,
    ZbiBootableError,
    ZbiCompressionError,
    ZbiCrcError,
    ZbiDuplicateError,
    ZbiError,
    ZbiHeaderError,
    ZbiMagicError,
    ZbiTruncatedError,
    ZbiUsageError,
)
from zbi_tools.image import ZbiImage, ZbiItem

__all__ = [
    "Compression",
    "ZbiAlignmentError",
    "ZbiBootableError",
    "ZbiCompressionError",
    "ZbiCrcError",
    "ZbiDuplicateError",
    "ZbiError",
    "ZbiHeaderError",
    "ZbiImage",
    "ZbiItem",
    "ZbiMagicError",
    "ZbiTruncatedError",
    "ZbiUsageError",
    "format",
]
