"""The little of ELF64 the harness reads from guest files: the file type and the PT_LOAD
segments (`read_elf`). `boot --gdb` (harness.gdb) places userboot, the vDSO and the program
with it, and the user-fault symbolizer (harness.symbolize) turns a run-time PC into a link
address with it. Errors are `ElfError`s naming the field and its file offset.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from harness.errors import ElfError

ET_EXEC = 2
ET_DYN = 3
PT_LOAD = 1
PF_X = 1
PAGE_SIZE = 4096

_EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
_PHDR = struct.Struct("<IIQQQQQQ")


@dataclass(frozen=True)
class Segment:
    """One PT_LOAD program header."""

    offset: int
    vaddr: int
    filesz: int
    memsz: int
    flags: int


@dataclass(frozen=True)
class ElfFile:
    """An ELF64 little-endian file's type (ET_*) and PT_LOAD segments, in file order."""

    path: Path
    type: int
    segments: tuple[Segment, ...]

    @property
    def lo(self) -> int:
        """The page-aligned lowest link address of its segments (0 without any)."""
        return min((s.vaddr for s in self.segments), default=0) & ~(PAGE_SIZE - 1)

    @property
    def image_size(self) -> int:
        """From `lo` to the end of the last segment's memory, rounded up to a page: what a
        loader reserves for it (an RODSO's `size` in kernel/userboot_launch.c)."""
        end = max((s.vaddr + s.memsz for s in self.segments), default=0)
        return ((end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) - self.lo


def read_elf(path: Path) -> ElfFile:
    """Read the header and program headers of the ELF64 little-endian file `path`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ElfError(path, 0, "file", exc.strerror or str(exc)) from exc
    if len(data) < _EHDR.size:
        raise ElfError(path, 0, "e_ident", f"{len(data)} bytes: shorter than an ELF64 header")
    ident, etype, _, _, _, phoff, _, _, _, phentsize, phnum, _, _, _ = _EHDR.unpack_from(data)
    if ident[:4] != b"\x7fELF" or ident[4] != 2 or ident[5] != 1:
        raise ElfError(path, 0, "e_ident", "not an ELF64 little-endian file")
    if phnum and phentsize != _PHDR.size:
        raise ElfError(path, 0x36, "e_phentsize", f"{phentsize}, not {_PHDR.size}")
    if phoff + phnum * _PHDR.size > len(data):
        raise ElfError(path, 0x20, "e_phoff", f"program headers at {phoff:#x} run past the end "
                       f"of the {len(data)}-byte file")
    segments = []
    for i in range(phnum):
        at = phoff + i * _PHDR.size
        ptype, flags, offset, vaddr, _, filesz, memsz, _ = _PHDR.unpack_from(data, at)
        if ptype == PT_LOAD:
            segments.append(Segment(offset, vaddr, filesz, memsz, flags))
    return ElfFile(path, etype, tuple(segments))
