"""The guest's serial-console contract, as patterns over bytes.

The guest side prints these lines (exactly; each ends in a newline, possibly `\\r\\n`)::

    zhb-shim: error: <why>                      the boot shim rejected the image; then power-off
    zhb kernel: booting on <arch>               the kernel's banner
    zhb kernel: cmdline: <text>                 the command line it was handed
    zhb kernel: warning: command line truncated: <N> bytes dropped (limit <L>)   if it was cut
    zhb kernel: memory: <N> MiB RAM in <K> ranges
    zhb kernel: powering off
    userboot: <program> exited with return code <N>   with userboot.shutdown, before power-off
    userboot: error: <what>                     userboot could not run the program; power-off
    zhb kernel: user fault: process <name> koid <K>: <kind> at address <A> pc <PC>
                (vmo "<V>" offset <O>, vmar <B>)   (the same line: where the PC is mapped)
    zhb kernel: bad syscall <N> from pc <PC>: process <name> koid <K> killed (<why>)
    ZIRCON KERNEL PANIC...                      a panic (then pvpanic -> QMP GUEST_PANICKED)

The user-fault and bad-syscall lines report a user process the kernel killed; the kernel (and
the rest of the run) goes on.

All patterns are compiled `bytes` regexes so they can be handed straight to pexpect.
`parse_console()` turns a whole transcript into a `ConsoleReport`; it is what the recorded-log
tests in `tests/data/console-*` exercise. `tail()` gives the last lines for error messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Patterns that capture the rest of a line end in the newline, so that a console wait never
# matches a line the guest has only half written yet.
PANIC = re.compile(rb"ZIRCON KERNEL PANIC")
SHIM_ERROR = re.compile(rb"zhb-shim: error: ([^\r\n]*)\r?\n")
BANNER = re.compile(rb"zhb kernel: booting on ([^\r\n]*)\r?\n")
CMDLINE = re.compile(rb"zhb kernel: cmdline: ([^\r\n]*)\r?\n")
CMDLINE_TRUNCATED = re.compile(
    rb"zhb kernel: warning: command line truncated: (\d+) bytes dropped \(limit (\d+)\)\r?\n"
)
MEMORY = re.compile(rb"zhb kernel: memory: (\d+) MiB RAM in (\d+) ranges\r?\n")
POWERING_OFF = re.compile(rb"zhb kernel: powering off\r?\n")
USERBOOT_EXIT = re.compile(rb"userboot: (\S+) exited with return code (-?\d+)\r?\n")
USERBOOT_ERROR = re.compile(rb"userboot: error: ([^\r\n]*)\r?\n")
USER_FAULT = re.compile(
    rb"zhb kernel: user fault: process (.+?) koid (\d+): (.+?) at address (0x[0-9a-f]+) "
    rb"pc (0x[0-9a-f]+)(?: \(vmo \"([^\"\r\n]*)\" offset (0x[0-9a-f]+), vmar (0x[0-9a-f]+)\))?"
    rb"\r?\n"
)
"""Groups: process name, koid, kind of fault, fault address, PC, then where the PC is mapped
(None if the line lacks it): the VMO's name ("?" when nothing maps it), the PC's offset in that
VMO, the base of the VMAR holding the mapping (harness.symbolize.user_faults)."""
BAD_SYSCALL = re.compile(
    rb"zhb kernel: bad syscall (\d+) from pc (0x[0-9a-f]+): process (.+?) koid (\d+) "
    rb"killed \(([^\r\n]*)\)\r?\n"
)
"""Groups: syscall number, PC, process name, koid, the policy exception."""


def cpus_online(count: int) -> re.Pattern[bytes]:
    """The line the kernel prints once `count` CPUs are online."""
    return re.compile(rb"zhb kernel: %d CPUs online\r?\n" % count)


def userboot_exit(program: str, code: int = 0) -> re.Pattern[bytes]:
    """The exact line userboot prints once `program` (its BOOTFS path) returned `code`."""
    return re.compile(
        rb"userboot: " + re.escape(program.encode()) + rb" exited with return code "
        + str(code).encode() + rb"\r?\n"
    )


PatternLike = bytes | str | re.Pattern[bytes]
"""What a console wait accepts: a compiled bytes regex, or the source of one."""


def compile_pattern(pattern: PatternLike) -> re.Pattern[bytes]:
    """Compile `pattern` (bytes or str regex source, or a compiled bytes regex)."""
    if isinstance(pattern, re.Pattern):
        return pattern
    if isinstance(pattern, str):
        pattern = pattern.encode()
    return re.compile(pattern)


def decode(raw: bytes) -> str:
    """Console bytes as text: invalid UTF-8 replaced, carriage returns dropped."""
    return raw.decode("utf-8", errors="replace").replace("\r", "")


def tail(transcript: bytes, lines: int = 20) -> list[str]:
    """The last `lines` non-empty lines of a console transcript."""
    text = [line for line in decode(transcript).split("\n") if line.strip()]
    return text[-lines:]


def line_at(transcript: bytes, match: re.Match[bytes]) -> str:
    """The whole console line that contains `match`, as text (only that line, also when the
    match ends in the line's own newline)."""
    start = transcript.rfind(b"\n", 0, match.start()) + 1
    end = transcript.find(b"\n", max(match.start(), match.end() - 1))
    return decode(transcript[start : end if end >= 0 else len(transcript)]).strip()


@dataclass(frozen=True)
class ConsoleReport:
    """What a console transcript says about one boot (None / False: the line never appeared)."""

    arch: str | None = None
    cmdline: str | None = None
    memory_mib: int | None = None
    memory_ranges: int | None = None
    powering_off: bool = False
    shim_error: str | None = None
    userboot_error: str | None = None
    panic: str | None = None

    @property
    def silent(self) -> bool:
        """True when the transcript had no recognised line at all."""
        return self == ConsoleReport()


def _group(pattern: re.Pattern[bytes], transcript: bytes) -> str | None:
    match = pattern.search(transcript)
    return None if match is None else decode(match.group(1)).strip()


def parse_console(transcript: bytes) -> ConsoleReport:
    """Read the contract lines out of a console transcript (first occurrence of each)."""
    memory = MEMORY.search(transcript)
    panic = PANIC.search(transcript)
    return ConsoleReport(
        arch=_group(BANNER, transcript),
        cmdline=_group(CMDLINE, transcript),
        memory_mib=None if memory is None else int(memory.group(1)),
        memory_ranges=None if memory is None else int(memory.group(2)),
        powering_off=POWERING_OFF.search(transcript) is not None,
        shim_error=_group(SHIM_ERROR, transcript),
        userboot_error=_group(USERBOOT_ERROR, transcript),
        panic=None if panic is None else line_at(transcript, panic),
    )
