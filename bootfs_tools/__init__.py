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
from .image import BootfsEntry, BootfsImage, build
from .sources import merge_files, read_directory, read_manifest, write_directory

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
    "merge_files",
    "read_directory",
    "read_manifest",
    "write_directory",
]
