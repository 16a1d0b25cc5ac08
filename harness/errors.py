"""The harness's exception tree.

Every error the harness raises derives from `HarnessError` and carries structured fields, so a
caller (a test, the CLI) can act on them without parsing messages::

    HarnessError
    ├── ProfileError        unknown architecture name
    ├── VariantError        unknown machine variant (`--machine`) of an architecture
    ├── BuildError          `make` for the guest side failed (command, status, output tail)
    ├── ImageError          a boot image could not be assembled (missing output, bad ZBI...)
    ├── ElfError            a guest ELF file the harness reads (gdb, symbolization) is malformed
    ├── AccelError          an accelerator was requested that cannot be used here
    ├── LockTimeout         another process held a harness lock file for too long
    ├── LaunchError         QEMU did not start or did not connect its serial / QMP sockets
    ├── QmpError            a QMP command failed or did not answer in time
    └── GuestError          something went wrong while the guest ran; always carries the last
        │                   console lines, the QMP events seen and the path of the full log
        ├── ConsoleTimeout  an expected console pattern did not appear in time
        ├── ConsoleClosed   QEMU exited before an expected console pattern appeared
        ├── GuestFailed     a failure pattern or an exit other than a clean guest power-off
        ├── GuestCrashed    a kernel panic (console panic prefix or QMP GUEST_PANICKED)
        ├── GuestTimeout    the guest did not power the machine off in time
        └── GuestSilent     the guest printed nothing at all

Messages are single paragraphs followed by the console tail, so a failing test shows what the
guest said last and where the full log is.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class HarnessError(Exception):
    """Base class of every error the harness raises."""


class ProfileError(HarnessError):
    """`name` is not an architecture (or alias) any profile knows."""

    def __init__(self, name: str, known: Sequence[str]) -> None:
        self.name = name
        self.known = tuple(known)
        super().__init__(f"unknown architecture {name!r} (known: {', '.join(self.known)})")


class VariantError(HarnessError):
    """`name` is not a machine variant of the architecture(s) `arch`."""

    def __init__(self, name: str, arch: str, known: Sequence[str]) -> None:
        self.name = name
        self.arch = arch
        self.known = tuple(known)
        super().__init__(
            f"unknown machine variant {name!r} for {arch} (known: {', '.join(self.known)})")


class BuildError(HarnessError):
    """The guest build (`make`) failed or could not be run."""

    def __init__(
        self, arch: str, command: Sequence[str], returncode: int | None, output_tail: str
    ) -> None:
        self.arch = arch
        self.command = tuple(command)
        self.returncode = returncode
        self.output_tail = output_tail
        status = "could not run" if returncode is None else f"exited with status {returncode}"
        super().__init__(
            f"guest build for {arch} {status}: {' '.join(self.command)}\n{output_tail}".rstrip()
        )


class ImageError(HarnessError):
    """A boot image could not be assembled from the guest build outputs."""

    def __init__(self, arch: str, reason: str, path: Path | None = None) -> None:
        self.arch = arch
        self.reason = reason
        self.path = path
        where = f" ({path})" if path is not None else ""
        super().__init__(f"{arch} image{where}: {reason}")


class ElfError(HarnessError):
    """A guest ELF file is unreadable or malformed: `field` at file `offset` is wrong."""

    def __init__(self, path: Path, offset: int, field: str, why: str) -> None:
        self.path = path
        self.offset = offset
        self.field = field
        super().__init__(f"{path}: {field} at offset {offset:#x}: {why}")


class AccelError(HarnessError):
    """The requested accelerator cannot be used for this architecture on this host."""

    def __init__(self, accel: str, arch: str, reason: str) -> None:
        self.accel = accel
        self.arch = arch
        self.reason = reason
        super().__init__(f"accelerator {accel} unusable for {arch}: {reason}")


class LockTimeout(HarnessError):
    """Another process held the lock file `path` longer than `timeout` seconds."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        super().__init__(f"lock {path} still held by another process after {timeout:g} s")


class LaunchError(HarnessError):
    """QEMU could not be started or did not connect to the harness."""

    def __init__(
        self, command: Sequence[str], reason: str, output_tail: str, log_path: Path | None
    ) -> None:
        self.command = tuple(command)
        self.reason = reason
        self.output_tail = output_tail
        self.log_path = log_path
        text = f"QEMU launch failed: {reason}\ncommand: {' '.join(self.command)}"
        if output_tail:
            text += f"\nQEMU said:\n{output_tail}"
        if log_path is not None:
            text += f"\nlog: {log_path}"
        super().__init__(text)


class QmpError(HarnessError):
    """A QMP command failed, or QEMU did not answer it in time."""

    def __init__(self, command: str, reason: str) -> None:
        self.command = command
        self.reason = reason
        super().__init__(f"QMP {command}: {reason}")


class GuestError(HarnessError):
    """Something went wrong while the guest ran.

    `events` are the names of the QMP events seen so far, `console_tail` the last console
    lines and `log_path` the full console log.
    """

    def __init__(
        self,
        reason: str,
        *,
        console_tail: Sequence[str],
        events: Sequence[str],
        log_path: Path | None,
        exit_status: int | None = None,
    ) -> None:
        self.reason = reason
        self.console_tail = tuple(console_tail)
        self.events = tuple(events)
        self.log_path = log_path
        self.exit_status = exit_status
        lines = [reason]
        lines.append(f"QMP events: {', '.join(self.events) if self.events else '(none)'}")
        if exit_status is not None:
            lines.append(f"QEMU exit status: {exit_status}")
        if log_path is not None:
            lines.append(f"console log: {log_path}")
        lines.append("console tail:" if self.console_tail else "console tail: (no output)")
        lines.extend(f"  | {line}" for line in self.console_tail)
        super().__init__("\n".join(lines))


class ConsoleTimeout(GuestError):
    """An expected console pattern did not appear within the timeout."""


class ConsoleClosed(GuestError):
    """QEMU exited (the console reached end of file) before an expected pattern appeared."""


class GuestFailed(GuestError):
    """The guest printed a failure line or QEMU ended without a clean guest power-off."""


class GuestCrashed(GuestError):
    """The guest kernel panicked."""


class GuestTimeout(GuestError):
    """The guest did not power the machine off within the timeout."""


class GuestSilent(GuestError):
    """The guest printed nothing on its console."""
