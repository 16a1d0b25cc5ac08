"""`boot --gdb`: QEMU waits in its gdbstub and the harness prints a ready gdb command line.

QEMU starts paused (-S, as every harness machine does) with `-gdb` listening on 127.0.0.1:PORT
(`--gdb=PORT`, or a free port for plain `--gdb`), and the harness does not send QMP `cont`: the guest runs when gdb says `continue` (and goes on if gdb detaches).

The printed command (`gdb_command`) loads, for `gdb-multiarch`:

* the kernel's symbols, `kernel.elf` at `Profile.kernel_pc_bias` (arm64's kernel is linked at
  0 and runs at 0xffff000040000000);
* userboot's and the vDSO's at their load addresses. Userboot's VMAR is normally placed at
  random; the command-line word `kernel.userboot.fixed`, which `--gdb` adds, makes the kernel
  take the lowest spot of the (still empty) root VMAR instead, `USERBOOT_BASE`, with the vDSO
  right after userboot's image (kernel/userboot_launch.c). The kernel prints both addresses
  (`USERBOOT_LOADED`), which the harness checks against its own;
* the program's, when it is linked at a fixed address (ET_EXEC: every program but the
  dynamically linked ones, whose load address is random).

`image --gdb[=PORT]` writes an image with `FIXED_WORD` in its command line and prints the QEMU
command line with `-S -gdb` and this gdb command line, for running both by hand.
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path

from harness.elf import ET_EXEC, read_elf
from harness.errors import ElfError, HarnessError
from harness.profiles import Profile

GDB = "gdb-multiarch"
FIXED_WORD = "kernel.userboot.fixed"
"""The kernel command-line word placing userboot at `USERBOOT_BASE` and printing where."""
USERBOOT_BASE = 0x0100_0000
"""USER_ASPACE_BASE (arch/*/include/arch/kernel-layout.h): where the root VMAR starts."""
DEFAULT_PORT = 1234
"""`image --gdb`'s port (QEMU's own `-s` uses it too)."""
USERBOOT_LOADED = re.compile(
    rb"zhb kernel: userboot: loaded at (0x[0-9a-f]+), vDSO at (0x[0-9a-f]+)\r?\n")
"""Groups: userboot's load address, the vDSO's (printed under `FIXED_WORD`)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class GdbEndpoint:
    """Where QEMU's gdbstub listens: TCP `port` on 127.0.0.1."""

    port: int

    @classmethod
    def parse(cls, value: str) -> GdbEndpoint:
        """`--gdb=PORT`, or "auto" (plain `--gdb`): a free port."""
        if value == "auto":
            return cls(free_port())
        if not value.isdigit() or not 0 < int(value) < 65536:
            raise HarnessError(f"--gdb: not a TCP port (1-65535): {value!r}")
        return cls(int(value))

    @property
    def qemu_spec(self) -> str:
        """QEMU's `-gdb` value (a chardev)."""
        return f"tcp:127.0.0.1:{self.port},server=on,wait=off"

    @property
    def gdb_target(self) -> str:
        """gdb's `target remote` argument."""
        return f"127.0.0.1:{self.port}"


@dataclass(frozen=True)
class SymbolFiles:
    """The guest build's ELF files gdb reads and where each one is loaded."""

    kernel: Path
    kernel_bias: int
    userboot: Path
    userboot_base: int
    vdso: Path
    vdso_base: int
    program: Path | None


def symbol_files(profile: Profile, out_dir: Path, program: str | None) -> SymbolFiles:
    """The files of the build in `out_dir` (out/<arch>) and their load addresses under
    `FIXED_WORD`; `program` (a name in out_dir/bin) is included when linked at a fixed address."""
    userboot = out_dir / "userboot.so"
    exe = out_dir / "bin" / program if program is not None else None
    try:
        if exe is not None and read_elf(exe).type != ET_EXEC:
            exe = None
    except ElfError:
        exe = None  # the program's symbols are a bonus: the boot will say what is wrong
    return SymbolFiles(
        kernel=out_dir / "kernel.elf", kernel_bias=profile.kernel_pc_bias,
        userboot=userboot, userboot_base=USERBOOT_BASE,
        vdso=out_dir / "vdso.so", vdso_base=USERBOOT_BASE + read_elf(userboot).image_size,
        program=exe,
    )


def gdb_command(files: SymbolFiles, endpoint: GdbEndpoint) -> list[str]:
    """The `gdb-multiarch` command line that loads `files` and attaches to `endpoint`."""
    kernel = f"symbol-file {files.kernel}"
    if files.kernel_bias:
        kernel = f"symbol-file -o {files.kernel_bias:#x} {files.kernel}"
    commands = [
        "set confirm off",
        kernel,
        f"add-symbol-file {files.userboot} -o {files.userboot_base:#x}",
        f"add-symbol-file {files.vdso} -o {files.vdso_base:#x}",
    ]
    if files.program is not None:
        commands.append(f"add-symbol-file {files.program}")
    commands.append(f"target remote {endpoint.gdb_target}")
    args = [GDB, "-q"]
    for command in commands:
        args += ["-ex", command]
    return args
