"""How a boot ended: a closed set of statuses, ranked, and the evidence behind them.

Modelled on kunit_tool: every run ends in exactly one `Status`; when several verdicts apply the
highest-ranked wins::

    PASS < TIMEOUT < NO_OUTPUT < FAIL < CRASH

so a panic outranks a failure line, a failure line explains a hang better than the hang itself,
and silence is never a pass (but a run its time limit cut short is a TIMEOUT, silent or not,
with the limit that ran out in its reason). `classify()` is a pure function of the console transcript, the QMP
events, QEMU's exit status and whether the wait ran out; `Outcome` carries its result with the
evidence, and `Outcome.raise_for_status()` turns anything but PASS into the matching
`GuestError`.

A run PASSes only when the guest powered the machine off itself: a QMP `SHUTDOWN` with
`guest=true, reason=guest-shutdown`, or (x86) QEMU's exit through the isa-debug-exit fallback
with the profile's `debug_exit_status`. When the kernel's command line (its `cmdline:` console
line) asks for `userboot.shutdown`, that power-off must also follow userboot's exit line with
return code 0: a `userboot: error:` line, a non-zero return code or no exit line at all is a
FAIL (`userboot_verdict()`).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import console
from harness.errors import (
    GuestCrashed,
    GuestError,
    GuestFailed,
    GuestSilent,
    GuestTimeout,
)
from harness.qmp import QmpEvent


class Status(enum.IntEnum):
    """The closed set of run outcomes; a larger value outranks a smaller one."""

    PASS = 0
    TIMEOUT = 1
    NO_OUTPUT = 2
    FAIL = 3
    CRASH = 4


@dataclass(frozen=True)
class FailurePattern:
    """A console line that decides the outcome whenever it appears.

    `ends_run`: the guest stops after printing it (it panics or powers off), so a wait cuts
    itself short once the line has appeared instead of running to its full timeout.
    """

    name: str
    regex: re.Pattern[bytes]
    status: Status
    ends_run: bool = False


DEFAULT_FAILURES: tuple[FailurePattern, ...] = (
    FailurePattern("kernel panic", console.PANIC, Status.CRASH, ends_run=True),
    FailurePattern("shim error", console.SHIM_ERROR, Status.FAIL, ends_run=True),
)
"""Failure patterns every console wait watches for unless the caller expects that very line."""

_ERRORS: dict[Status, type[GuestError]] = {
    Status.TIMEOUT: GuestTimeout,
    Status.NO_OUTPUT: GuestSilent,
    Status.FAIL: GuestFailed,
    Status.CRASH: GuestCrashed,
}


@dataclass(frozen=True)
class Outcome:
    """The end of one run: status, reason and the evidence (exit status, events, console)."""

    status: Status
    reason: str
    exit_status: int | None
    events: tuple[QmpEvent, ...]
    transcript: bytes
    powered_off: bool = False
    """The guest powered the machine off itself (whatever it printed)."""
    log_path: Path | None = None
    elapsed: float = 0.0
    """Wall time from QEMU's launch to its exit (or to the end of the wait), in seconds."""
    command: tuple[str, ...] = ()
    """The QEMU command line of the run (empty when unknown)."""

    @property
    def event_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.events)

    def console_tail(self, lines: int = 20) -> list[str]:
        return console.tail(self.transcript, lines)

    def error(self) -> GuestError:
        """The `GuestError` describing this outcome (also for PASS, as a GuestFailed)."""
        cls = _ERRORS.get(self.status, GuestFailed)
        return cls(
            f"{self.status.name}: {self.reason}",
            console_tail=self.console_tail(),
            events=[e.describe() for e in self.events],
            log_path=self.log_path,
            exit_status=self.exit_status,
        )

    def raise_for_status(self) -> Outcome:
        """Return self when the run passed; raise the matching GuestError otherwise."""
        if self.status is not Status.PASS:
            raise self.error()
        return self


def guest_powered_off(
    events: Sequence[QmpEvent], exit_status: int | None, debug_exit_status: int | None
) -> bool:
    """A guest power-off: QMP SHUTDOWN(guest, guest-shutdown) or the debug-exit status."""
    return any(e.is_guest_poweroff for e in events) or (
        debug_exit_status is not None and exit_status == debug_exit_status
    )


def console_verdicts(
    transcript: bytes,
    events: Sequence[QmpEvent],
    failures: Sequence[FailurePattern],
    describe: Callable[[bytes, re.Match[bytes]], str] = console.line_at,
) -> list[tuple[Status, str]]:
    """The verdicts every way of judging a run shares: each failure pattern on the console
    (its reason `describe(transcript, match)`), a pvpanic report, and silence."""
    verdicts: list[tuple[Status, str]] = []
    for failure in failures:
        match = failure.regex.search(transcript)
        if match is not None:
            verdicts.append((failure.status, f"{failure.name}: {describe(transcript, match)}"))
    panicked = [e for e in events if e.name == "GUEST_PANICKED"]
    if panicked:
        verdicts.append((Status.CRASH, f"QMP {panicked[0].describe()}"))
    if not transcript.strip():
        verdicts.append((Status.NO_OUTPUT, "the guest printed nothing on its console"))
    return verdicts


def _asks_for_userboot_shutdown(transcript: bytes) -> bool:
    match = console.CMDLINE.search(transcript)
    words = match.group(1).split() if match is not None else []
    return any(w == b"userboot.shutdown" or w.startswith(b"userboot.shutdown=") for w in words)


def userboot_verdict(transcript: bytes) -> tuple[Status, str] | None:
    """FAIL, with the reason, for a run whose command line asks for `userboot.shutdown` but
    whose console lacks userboot's `exited with return code 0` line; None otherwise."""
    if not _asks_for_userboot_shutdown(transcript):
        return None
    error = console.USERBOOT_ERROR.search(transcript)
    if error is not None:
        return Status.FAIL, console.line_at(transcript, error)
    exited = console.USERBOOT_EXIT.search(transcript)
    if exited is None:
        return Status.FAIL, "userboot.shutdown asked for, but userboot printed no exit line"
    if int(exited.group(2)) != 0:
        return Status.FAIL, console.line_at(transcript, exited)
    return None


def classify(
    transcript: bytes,
    events: Sequence[QmpEvent],
    exit_status: int | None,
    *,
    timed_out: bool | str | None,
    debug_exit_status: int | None = None,
    failures: Sequence[FailurePattern] = DEFAULT_FAILURES,
) -> tuple[Status, str]:
    """Rank every verdict the evidence supports and return the worst, with its reason.

    `exit_status` is None while QEMU still runs (or when it had to be killed); `timed_out` says
    the wait ran out before QEMU exited (a string: which limit ran out). A run cut short by
    its time limit is a TIMEOUT even if the guest had printed nothing yet: only a failure line
    (a panic, a failure pattern) explains it better.
    """
    verdicts = console_verdicts(transcript, events, failures)
    if timed_out:
        verdicts = [v for v in verdicts if v[0] is not Status.NO_OUTPUT]
        limit = timed_out if isinstance(timed_out, str) else "the time limit ran out"
        verdicts.append(
            (Status.TIMEOUT, f"{limit}; the guest did not power the machine off"))
    elif guest_powered_off(events, exit_status, debug_exit_status):
        how = ("the guest powered the machine off" if any(e.is_guest_poweroff for e in events)
               else f"the guest exited through debug-exit ({exit_status})")
        verdicts.append(userboot_verdict(transcript) or (Status.PASS, how))
    else:
        shutdowns = [e.describe() for e in events if e.name == "SHUTDOWN"]
        how = f" ({', '.join(shutdowns)})" if shutdowns else ""
        verdicts.append(
            (Status.FAIL, f"QEMU exited with status {exit_status} without a guest power-off{how}")
        )
    return max(verdicts, key=lambda v: v[0])
