"""bootfs_tools: read, check and build BOOTFS images.

Layers, each importing only those before it: ``format`` (constants, struct layouts),
``errors`` (the BootfsError tree), ``image`` (BootfsEntry, BootfsImage, build), ``sources``
(directory trees and manifests on the host), ``cli`` (the ``bootfs`` command).
"""

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
    BootfsSourceError,
    BootfsTruncatedError,
)
from .image import (
    BootfsEntry,
    BootfsImage,
    build,
    directory_end,
    parse_directory,
    printable_name,
)
from .sources import (
    create_fresh,
    extract,
    link_or_copy,
    merge_files,
    read_directory,
    read_manifest,
    write_directory,
)

__all__ = [
    "BootfsDuplicateError",
    "BootfsEntry",
    "BootfsError",
    "BootfsImage",
    "BootfsLayoutError",
    "BootfsLimitError",
    "BootfsMagicError",
    "BootfsNameError",
    "BootfsNotFoundError",
    "BootfsOrderError",
    "BootfsReservedError",
    "BootfsSourceError",
    "BootfsTruncatedError",
    "build",
    "create_fresh",
    "directory_end",
    "extract",
    "link_or_copy",
    "merge_files",
    "parse_directory",
    "printable_name",
    "read_directory",
    "read_manifest",
    "write_directory",
]
