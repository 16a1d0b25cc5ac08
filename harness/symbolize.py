"""Symbolized kernel panics: the kernel's frame-pointer backtrace, as function, file and line.

On a panic the kernel prints `zhb kernel: backtrace: #N pc 0x...` lines (kernel/panic.c), one
per frame record, innermost first. `kernel_backtrace()` reads them from a console transcript
and runs `llvm-symbolizer` on the guest build's `kernel.elf`: a PC is a return address, so the
address looked up is one before it (the call), less the profile's `kernel_pc_bias` (arm64's
kernel is linked at 0 and runs at 0xffff000040000000). Without llvm-symbolizer, or for a PC it
cannot place, a frame is shown with its bare PC.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

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
