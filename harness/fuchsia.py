"""Fuchsia's own ZBI tests ("phys" boot tests) under the harness.

A ZBI test built by Fuchsia is a kernel that prints a fixed success string and then *resets*
the machine (keyboard-controller reset, then a triple fault) instead of powering it off::

    *** Test succeeded ***
    ***ZBI-test-successful!-MDd7/O65SuVZ23yGAaQG4CedYQGH9E1/58r73pSAVK0=***   (older trees)
    Boot-test-successful                                                       (newer trees)

On failure it prints `*** Test FAILED: status N ***` or an `ASSERT FAILED at (...)` line
before the reset; a phys `abort()` prints `abort() called!` (a CRASH here, like a panic). QEMU runs with `-no-reboot`, so the reset ends QEMU with the QMP event
`SHUTDOWN {guest: true, reason: guest-reset}`.

`classify_fuchsia()` turns a finished run into a `Status`: PASS only for the success string
followed by a guest reset; a failure line (FAIL, its reason the line and the line before it,
which says what went wrong), a kernel panic (CRASH), a reset or power-off without the success
string (FAIL) and a timeout (TIMEOUT) are not. `boot_fuchsia_test()` boots one image that way;
`python -m harness boot --fuchsia-test IMAGE` and the `fuchsia_test` pytest fixture use it.
`is_fuchsia_test_image()` / `is_fuchsia_test_file()` recognise such an image by the success
string in a kernel item (a zhb kernel never contains it), for `boot` without the
switch.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Unpack

from harness import console
from harness.image import BootImage
from harness.machine import Machine, MachineOptions
from harness.outcome import DEFAULT_FAILURES, FailurePattern, Outcome, Status, console_verdicts
from harness.profiles import Profile
from harness.qmp import QmpEvent
from zbi_tools import ZbiError, ZbiImage
from zbi_tools.format import is_kernel

SUCCESS = re.compile(
    rb"\*\*\* Test succeeded \*\*\*|\*\*\*ZBI-test-successful!-[A-Za-z0-9+/=]+\*\*\*"
    rb"|Boot-test-successful"
)
"""Either form of the success string (zircon/kernel/phys/test/: phys-unittest, zbi tests)."""
TEST_FAILED = re.compile(rb"\*\*\* Test FAILED: status -?\d+ \*\*\*")
ASSERT_FAILED = re.compile(rb"ASSERT FAILED[^\r\n]*\r?\n")
ABORT = re.compile(rb"abort\(\) called!")
FAILURES: tuple[FailurePattern, ...] = (
    FailurePattern("test failed", TEST_FAILED, Status.FAIL, ends_run=True),
    FailurePattern("assertion failed", ASSERT_FAILED, Status.FAIL, ends_run=True),
    FailurePattern("abort", ABORT, Status.CRASH, ends_run=True),
)
"""Failure lines of Fuchsia's ZBI tests, watched for besides the harness's defaults."""

_MARKERS = (b"***ZBI-test-successful!-", b"Boot-test-successful")


def is_fuchsia_test_image(data: bytes) -> bool:
    """True when `data` is a ZBI with a kernel item holding a ZBI test's success string (in
    x86-boot-shim-tests only the last of its three kernels prints it)."""
    try:
        image = ZbiImage.parse(data)
    except ZbiError:
        return False
    return any(
        marker in bytes(item.payload)
        for item in image.items if is_kernel(item.type) for marker in _MARKERS
    )


def _with_context(transcript: bytes, match: re.Match[bytes]) -> str:
    """The line of `match`, preceded by the non-empty line before it when there is one."""
    line = console.line_at(transcript, match)
    before = [text for text in console.decode(transcript[: match.start()]).split("\n")
              if text.strip()]
    return f"{line} (after: {before[-1].strip()})" if before else line


def _is_reset(event: QmpEvent) -> bool:
    return event.name == "SHUTDOWN" and event.data.get("reason") == "guest-reset"


def classify_fuchsia(
    transcript: bytes,
    events: Sequence[QmpEvent],
    exit_status: int | None,
    failures: Sequence[FailurePattern] = (*DEFAULT_FAILURES, *FAILURES),
) -> tuple[Status, str]:
    """The status and reason of a finished Fuchsia ZBI test run (the worst verdict wins)."""
    verdicts = console_verdicts(transcript, events, failures, _with_context)
    success = SUCCESS.search(transcript)
    shutdowns = [e for e in events if e.name == "SHUTDOWN"]
    if any(_is_reset(e) for e in shutdowns):
        if success is not None:
            reason = f"{console.line_at(transcript, success)}, then a guest reset"
            verdicts.append((Status.PASS, reason))
        else:
            verdicts.append((Status.FAIL, "the guest reset the machine without the success string"))
    elif any(e.data.get("guest") is True for e in shutdowns):
        how = ", ".join(e.describe() for e in shutdowns)
        reason = f"the guest shut the machine down ({how}) instead of resetting it"
        verdicts.append((Status.FAIL, reason))
    elif shutdowns:  # the harness's own QMP quit: the wait ran out
        verdicts.append((Status.TIMEOUT, "the guest did not reset the machine in time"))
    else:
        reason = f"QEMU exited with status {exit_status} without a guest reset"
        verdicts.append((Status.FAIL, reason))
    return max(verdicts, key=lambda v: v[0])


def boot_fuchsia_test(
    profile: Profile, image: BootImage, **options: Unpack[MachineOptions]
) -> Outcome:
    """Boot a Fuchsia ZBI test once and judge it by `classify_fuchsia()`."""
    with Machine(profile, image, **options) as machine:
        outcome = machine.wait_exit(fail_patterns=FAILURES)
    status, reason = classify_fuchsia(outcome.transcript, outcome.events, outcome.exit_status)
    return dataclasses.replace(outcome, status=status, reason=reason)


def is_fuchsia_test_file(path: Path) -> bool:
    """`is_fuchsia_test_image()` of the file at `path` (False when it cannot be read)."""
    try:
        return is_fuchsia_test_image(path.read_bytes())
    except OSError:
        return False
