"""BOOTFS on-disk format: constants, ``struct`` layouts and alignment helpers.

A BOOTFS image is the (decompressed) payload of a ``ZBI_TYPE_STORAGE_BOOTFS`` item. Every
field is a little-endian u32, every offset counts from the first byte of the image::

    0                       HEADER    magic = BOOTFS_MAGIC, dirsize, reserved0 = 0, reserved1 = 0
    HEADER.size             directory dirsize bytes of entries, back to back; each entry is
                                        DIRENT    name_len, data_len, data_off
                                        name      name_len bytes: UTF-8 path + NUL
                                        zeros     up to dirent_size(name_len)
                            zeros     up to page_align(HEADER.size + dirsize)
    page_align(16+dirsize)  file data each file at a PAGE_SIZE multiple, zero-padded to a page

``name_len`` counts the terminating NUL and lies in [2, MAX_NAME_LEN]; ``data_len`` is the
exact file size; ``data_off`` is a multiple of PAGE_SIZE. Fuchsia's reference is
``zbi-format/internal/bootfs.h``; the values here match it exactly.

This module holds facts only; the rules that tie them together live in ``image``.
"""

from __future__ import annotations

import struct
from typing import Final

BOOTFS_MAGIC: Final = 0xA56D3FF9  # low 32 bits of sha256("bootfs")
PAGE_SIZE: Final = 4096
MAX_NAME_LEN: Final = 256  # including the terminating NUL
U32_MAX: Final = 0xFFFF_FFFF  # every size and offset in the format is a u32

HEADER: Final = struct.Struct("<4I")  # magic, dirsize, reserved0, reserved1
DIRENT: Final = struct.Struct("<3I")  # name_len, data_len, data_off; the name follows
DIRENT_ALIGN: Final = 4


def dirent_size(name_len: int) -> int:
    """Bytes one directory entry occupies, given its ``name_len`` (which counts the NUL)."""
    return (DIRENT.size + name_len + DIRENT_ALIGN - 1) & ~(DIRENT_ALIGN - 1)


def page_align(size: int) -> int:
    """Round ``size`` up to a multiple of PAGE_SIZE."""
    return (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)
