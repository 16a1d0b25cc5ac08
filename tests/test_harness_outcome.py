"""Outcome classification: the closed set of statuses, their ranking and the errors they raise."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import GuestCrashed, GuestFailed, GuestSilent, GuestTimeout
from harness.outcome import Outcome, Status, classify, guest_powered_off
from harness.qmp import QmpEvent

POWEROFF = QmpEvent("SHUTDOWN", {"guest": True, "reason": "guest-shutdown"})
PANICKED = QmpEvent("GUEST_PANICKED", {"action": "poweroff"})
PANIC_SHUTDOWN = QmpEvent("SHUTDOWN", {"guest": True, "reason": "guest-panic"})
RESET = QmpEvent("SHUTDOWN", {"guest": True, "reason": "guest-reset"})
QUIT = QmpEvent("SHUTDOWN", {"guest": False, "reason": "host-qmp-quit"})

BOOT = b"zhb kernel: booting on x86_64\r\nzhb kernel: powering off\r\n"
PANIC = b"zhb kernel: booting on x86_64\r\nZIRCON KERNEL PANIC: main: test\r\n"
SHIM_ERROR = b"zhb-shim: error: invalid ZBI: item CRC32 mismatch\r\n"
SHUTDOWN_RUN = b"zhb kernel: booting on arm64\r\nzhb kernel: cmdline: userboot.next=bin/x " \
    b"userboot.shutdown\r\n"
EXIT_0 = b"userboot: bin/x exited with return code 0\r\n"


def test_rank_order() -> None:
    assert sorted(Status, reverse=True) == [
        Status.CRASH, Status.FAIL, Status.NO_OUTPUT, Status.TIMEOUT, Status.PASS,
    ]


@pytest.mark.parametrize(
    "transcript, events, exit_status, timed_out, status, reason",
    [
        (BOOT, [POWEROFF], 0, False, Status.PASS, "powered the machine off"),
        (b"", [POWEROFF], 0, False, Status.NO_OUTPUT, "printed nothing"),
        (b"  \r\n", [POWEROFF], 0, False, Status.NO_OUTPUT, "printed nothing"),
        (b"", [], None, True, Status.TIMEOUT, "the time limit ran out"),
        (b"", [], None, "the 0.02 s limit ran out", Status.TIMEOUT, "the 0.02 s limit ran out"),
        (BOOT[:30], [QUIT], 0, True, Status.TIMEOUT, "did not power the machine off"),
        (PANIC, [PANICKED, PANIC_SHUTDOWN], 1, False, Status.CRASH,
         "kernel panic: ZIRCON KERNEL PANIC: main: test"),
        (BOOT, [PANICKED], 1, False, Status.CRASH, "QMP GUEST_PANICKED(action=poweroff)"),
        (PANIC, [QUIT], 0, True, Status.CRASH, "kernel panic"),
        (SHIM_ERROR, [POWEROFF], 0, False, Status.FAIL,
         "shim error: zhb-shim: error: invalid ZBI: item CRC32 mismatch"),
        (SHIM_ERROR + PANIC, [PANICKED], 1, False, Status.CRASH, "kernel panic"),
        (BOOT, [RESET], 0, False, Status.FAIL, "SHUTDOWN(guest=True, reason=guest-reset)"),
        (BOOT, [], 1, False, Status.FAIL, "status 1 without a guest power-off"),
        (BOOT, [], 31, False, Status.PASS, "debug-exit (31)"),
        (b"", [], 31, False, Status.NO_OUTPUT, "printed nothing"),
        (SHUTDOWN_RUN + EXIT_0, [POWEROFF], 0, False, Status.PASS, "powered the machine off"),
        (SHUTDOWN_RUN + EXIT_0, [], 31, False, Status.PASS, "debug-exit (31)"),
        (SHUTDOWN_RUN, [POWEROFF], 0, False, Status.FAIL, "userboot printed no exit line"),
        (SHUTDOWN_RUN + b"userboot: error: BOOTFS: bad BOOTFS magic\r\n", [POWEROFF], 0, False,
         Status.FAIL, "userboot: error: BOOTFS: bad BOOTFS magic"),
        (SHUTDOWN_RUN + EXIT_0.replace(b"code 0", b"code -1028"), [POWEROFF], 0, False,
         Status.FAIL, "userboot: bin/x exited with return code -1028"),
        (SHUTDOWN_RUN, [QUIT], 0, True, Status.TIMEOUT, "did not power the machine off"),
        (b"zhb kernel: cmdline: userboot.shutdownx\r\n" + BOOT, [POWEROFF], 0, False,
         Status.PASS, "powered the machine off"),  # another word: no exit line needed
    ],
)
def test_classify(
    transcript: bytes,
    events: list[QmpEvent],
    exit_status: int | None,
    timed_out: bool,
    status: Status,
    reason: str,
) -> None:
    got_status, got_reason = classify(
        transcript, events, exit_status, timed_out=timed_out, debug_exit_status=31
    )
    assert got_status is status
    assert reason in got_reason


def test_debug_exit_only_counts_where_the_profile_has_one() -> None:
    status, _ = classify(BOOT, [], 31, timed_out=False, debug_exit_status=None)
    assert status is Status.FAIL
    assert guest_powered_off([], 31, 31)
    assert not guest_powered_off([], 31, None)
    assert guest_powered_off([POWEROFF], 0, None)
    assert not guest_powered_off([RESET, PANIC_SHUTDOWN, QUIT], 0, None)


def outcome(status: Status, transcript: bytes = PANIC) -> Outcome:
    return Outcome(
        status=status, reason="why", exit_status=1, events=(PANICKED,),
        transcript=transcript, log_path=Path("/logs/console.log"),
    )


def test_pass_does_not_raise() -> None:
    passed = outcome(Status.PASS)
    assert passed.raise_for_status() is passed


@pytest.mark.parametrize(
    "status, error",
    [
        (Status.CRASH, GuestCrashed),
        (Status.FAIL, GuestFailed),
        (Status.TIMEOUT, GuestTimeout),
        (Status.NO_OUTPUT, GuestSilent),
    ],
)
def test_raise_for_status(status: Status, error: type[Exception]) -> None:
    with pytest.raises(error) as caught:
        outcome(status).raise_for_status()
    text = str(caught.value)
    assert text.startswith(f"{status.name}: why")
    assert "QMP events: GUEST_PANICKED(action=poweroff)" in text
    assert "QEMU exit status: 1" in text
    assert "console log: /logs/console.log" in text
    assert "  | ZIRCON KERNEL PANIC: main: test" in text


def test_error_with_no_output() -> None:
    error = outcome(Status.NO_OUTPUT, transcript=b"").error()
    assert error.console_tail == ()
    assert "console tail: (no output)" in str(error)
