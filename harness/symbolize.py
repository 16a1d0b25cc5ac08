"""Symbolized kernel panics and user faults, as function, file and line.

On a panic the kernel prints `zhb kernel: backtrace: #N pc 0x...` lines (kernel/panic.c), one
per frame record, innermost first. `kernel_backtrace()` reads them from a console transcript
and runs `llvm-symbolizer` on the guest build's `kernel.elf`: a PC is a return address, so the
address looked up is one before it (the call), less the profile's `kernel_pc_bias` (arm64's
kernel is linked at 0 and runs at 0xffff000040000000). Without llvm-symbolizer, or for a PC it
cannot place, a frame is shown with its bare PC.

A user fault (`zhb kernel: user fault: ... pc P (vmo "V" offset O, vmar B)`, kernel/syscall.c)
is placed by `user_faults()` in the module holding P, from what the kernel says of its mapping:

* VMO `vdso/...`: the vDSO, whose VMO maps the file's pages as they are (an RODSO: link address
  = file offset), so the link address is O; VMO `userboot` likewise (userboot.so);
* otherwise the program `bin/<process name>` of the build: a fixed-address (ET_EXEC) program at
  P itself; a position-independent one (ET_DYN) at P - B + its lowest link address, B being the
  sub-VMAR the loader reserved for it (ulib/process_builder). A PC beyond its image is in a
  shared library or ld.so, which the line does not name: shown bare.

The faulting instruction is the PC itself (not a return address).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from harness import console
from harness.elf import ET_DYN, ET_EXEC, read_elf
from harness.errors import ElfError
from harness.image import GuestOutputs
from harness.profiles import Profile

BACKTRACE = re.compile(rb"zhb kernel: backtrace: #(\d+) pc 0x([0-9a-f]+)")
SYMBOLIZER = "llvm-symbolizer"
SYMBOLIZER_TIMEOUT_S = 30.0


def backtrace_pcs(transcript: bytes) -> list[int]:
    """The PCs of the (first) kernel backtrace on the console, innermost first."""
    pcs: list[int] = []
    for match in BACKTRACE.finditer(transcript):
        if int(match.group(1)) == 0 and pcs:
            break  # a second backtrace: the first one is the story
        pcs.append(int(match.group(2), 16))
    return pcs


def symbolize(elf: Path, addresses: list[int]) -> list[str | None]:
    """`function at file:line` for each address in `elf` (None where unknown)."""
    tool = shutil.which(SYMBOLIZER)
    if tool is None or not elf.is_file() or not addresses:
        return [None] * len(addresses)
    try:
        done = subprocess.run(
            [tool, f"--obj={elf}", "--functions=linkage", "--no-inlines",
             *(f"{a:#x}" for a in addresses)],
            capture_output=True, text=True, timeout=SYMBOLIZER_TIMEOUT_S, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return [None] * len(addresses)
    blocks = [b.splitlines() for b in done.stdout.strip().split("\n\n")]
    names: list[str | None] = []
    for block in blocks[:len(addresses)]:
        if len(block) >= 2 and block[0] != "??":
            names.append(f"{block[0]} at {block[1]}")
        else:
            names.append(None)
    return names + [None] * (len(addresses) - len(names))


def kernel_backtrace(transcript: bytes, profile: Profile, outputs: GuestOutputs) -> list[str]:
    """One line per frame of the kernel's panic backtrace: `#N 0xPC function at file:line`."""
    pcs = backtrace_pcs(transcript)
    elf = outputs.kernel.parent / "kernel.elf"
    names = symbolize(elf, [pc - profile.kernel_pc_bias - 1 for pc in pcs])
    return [f"#{n} {pc:#x} {name or '(no symbol)'}" for n, (pc, name) in
            enumerate(zip(pcs, names, strict=True))]


def _user_module(out_dir: Path, fault: re.Match[bytes]) -> tuple[Path, int] | None:
    """The ELF file of the build holding a user fault's PC, and the PC's link address in it."""
    name, pc = fault.group(1).decode(errors="replace"), int(fault.group(5), 16)
    if fault.group(6) is None:
        return None
    vmo, offset, vmar = fault.group(6).decode(errors="replace"), int(fault.group(7), 16), int(
        fault.group(8), 16)
    if vmo.startswith("vdso/"):
        return out_dir / "vdso.so", offset
    if vmo == "userboot":
        return out_dir / "userboot.so", offset
    program = out_dir / "bin" / name
    if "/" in name or not program.is_file():
        return None
    try:
        elf = read_elf(program)
    except ElfError:
        return None
    if elf.type == ET_EXEC:
        return program, pc
    if elf.type == ET_DYN and 0 <= pc - vmar < elf.image_size:
        return program, pc - vmar + elf.lo
    return None


def user_faults(transcript: bytes, outputs: GuestOutputs) -> list[str]:
    """One line per user fault on the console: the kernel's facts, then the faulting
    instruction as `function at file:line (module+0xADDR)` (or `(no symbol)`)."""
    out_dir = outputs.kernel.parent
    lines = []
    for fault in console.USER_FAULT.finditer(transcript):
        name, koid, kind, address, pc = (g.decode(errors="replace") for g in fault.groups()[:5])
        where = _user_module(out_dir, fault)
        symbol = None
        if where is not None:
            symbol = symbolize(where[0], [where[1]])[0]
            symbol = f"{symbol or '(no symbol)'} ({where[0].name}+{where[1]:#x})"
        lines.append(f"process {name} koid {koid}: {kind} at address {address} pc {pc}: "
                     f"{symbol or '(no symbol)'}")
    return lines
