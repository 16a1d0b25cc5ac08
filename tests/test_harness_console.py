"""Console patterns and the console parser, fed recorded logs (tests/data/console-*).

Each recorded log is QEMU's own console log of a real boot, named
`console-<scenario>-<arch>-<outcome>.log`: `boot` (command line `zhb.recorded=1 quiet`),
`panic` (`kernel.test.panic`) and `corrupt` (kernel item CRC flipped).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness import console
from harness.outcome import DEFAULT_FAILURES, Status, classify
from harness.profiles import PROFILES
from harness.qmp import QmpEvent

DATA = Path(__file__).parent / "data"
ARCHES = list(PROFILES)


def recorded(scenario: str, arch: str, outcome: str) -> bytes:
    return (DATA / f"console-{scenario}-{arch}-{outcome}.log").read_bytes()


def test_every_recorded_log_is_covered() -> None:
    names = {p.name for p in DATA.glob("console-*")}
    expected = {
        f"console-{scenario}-{arch}-{outcome}.log"
        for arch in ARCHES
        for scenario, outcome in (("boot", "pass"), ("panic", "crash"), ("corrupt", "fail"))
    }
    assert names == expected


@pytest.mark.parametrize("arch", ARCHES)
def test_boot_log(arch: str) -> None:
    report = console.parse_console(recorded("boot", arch, "pass"))
    assert report.arch == arch
    assert report.cmdline == "zhb.recorded=1 quiet"
    assert report.memory_mib is not None and 128 <= report.memory_mib <= 256
    assert report.memory_ranges is not None and report.memory_ranges >= 1
    assert report.powering_off
    assert report.shim_error is None and report.panic is None


@pytest.mark.parametrize("arch", ARCHES)
def test_panic_log(arch: str) -> None:
    transcript = recorded("panic", arch, "crash")
    report = console.parse_console(transcript)
    assert report.arch == arch
    assert report.cmdline == "kernel.test.panic"
    assert report.panic is not None and report.panic.startswith("ZIRCON KERNEL PANIC")
    assert "kernel.test.panic" in report.panic
    assert not report.powering_off
    assert console.tail(transcript, 1) == [report.panic]


@pytest.mark.parametrize("arch", ARCHES)
def test_corrupt_log(arch: str) -> None:
    report = console.parse_console(recorded("corrupt", arch, "fail"))
    assert report.shim_error is not None and "CRC" in report.shim_error.upper()
    assert report.arch is None and report.cmdline is None and not report.powering_off


@pytest.mark.parametrize(
    "scenario, outcome, events, status",
    [
        ("boot", "pass", [QmpEvent("SHUTDOWN", {"guest": True, "reason": "guest-shutdown"})],
         Status.PASS),
        ("panic", "crash", [QmpEvent("GUEST_PANICKED", {"action": "poweroff"})], Status.CRASH),
        ("corrupt", "fail", [QmpEvent("SHUTDOWN", {"guest": True, "reason": "guest-shutdown"})],
         Status.FAIL),
    ],
)
@pytest.mark.parametrize("arch", ARCHES)
def test_recorded_logs_classify(
    arch: str, scenario: str, outcome: str, events: list[QmpEvent], status: Status
) -> None:
    transcript = recorded(scenario, arch, outcome)
    exit_status = 1 if status is Status.CRASH else 0
    assert classify(transcript, events, exit_status, timed_out=False)[0] is status


@pytest.mark.parametrize("arch", ARCHES)
def test_partial_lines_do_not_match(arch: str) -> None:
    """A console wait must not match a line the guest has only half written."""
    transcript = recorded("boot", arch, "pass")
    line_end = transcript.index(b"\n", transcript.index(b"cmdline: "))
    assert console.CMDLINE.search(transcript[:line_end - 3]) is None
    assert console.CMDLINE.search(transcript[:line_end + 1]) is not None


def test_silent_transcript() -> None:
    report = console.parse_console(b"")
    assert report.silent
    assert not console.parse_console(b"zhb kernel: powering off\n").silent
    assert console.tail(b"") == []


def test_tail_drops_blank_lines_and_carriage_returns() -> None:
    transcript = b"\r\none\r\n\r\ntwo\r\nthree\xff\r\n"
    assert console.tail(transcript, 2) == ["two", "three\ufffd"]
    assert console.tail(transcript) == ["one", "two", "three\ufffd"]


@pytest.mark.parametrize("pattern", [b"a+b", "a+b", re.compile(b"a+b")])
def test_compile_pattern(pattern: console.PatternLike) -> None:
    match = console.compile_pattern(pattern).search(b"xaab")
    assert match is not None and match.group(0) == b"aab"


def test_line_at_returns_the_whole_line() -> None:
    transcript = b"first\r\nsecond ZIRCON KERNEL PANIC: x\r\nthird"
    match = console.PANIC.search(transcript)
    assert match is not None
    assert console.line_at(transcript, match) == "second ZIRCON KERNEL PANIC: x"


def test_default_failures() -> None:
    assert {(f.name, f.status) for f in DEFAULT_FAILURES} == {
        ("kernel panic", Status.CRASH), ("shim error", Status.FAIL),
    }


def test_line_at_a_pattern_ending_in_its_newline_is_only_its_line() -> None:
    transcript = b"zhb kernel: booting on arm64\r\nnext line\r\n"
    match = console.BANNER.search(transcript)
    assert match is not None and match.group(0).endswith(b"\n")
    assert console.line_at(transcript, match) == "zhb kernel: booting on arm64"
    last = console.POWERING_OFF.search(b"x\nzhb kernel: powering off\n")
    assert last is not None
    assert console.line_at(b"x\nzhb kernel: powering off\n", last) == "zhb kernel: powering off"


KILLED_LINES = [
    (console.BAD_SYSCALL,
     (b"zhb kernel: bad syscall 2 from pc 0x658cfa74e00c: process raw-syscall koid 1116 killed "
      b"(policy exception 0x8208 code 18)\r\n"),
     (b"2", b"0x658cfa74e00c", b"raw-syscall", b"1116", b"policy exception 0x8208 code 18")),
    (console.USER_FAULT,
     (b"zhb kernel: user fault: process my prog koid 1042: page fault (write) at address 0x0 "
      b"pc 0x3a0012345800\n"),
     (b"my prog", b"1042", b"page fault (write)", b"0x0", b"0x3a0012345800", None, None, None)),
    (console.USER_FAULT,
     (b"zhb kernel: user fault: process my prog koid 1042: #PF page fault at address 0x0 "
      b"pc 0x801000103b (vmo \"\" offset 0x3b, vmar 0x1000000)\r\n"),
     (b"my prog", b"1042", b"#PF page fault", b"0x0", b"0x801000103b", b"", b"0x3b",
      b"0x1000000")),
    (console.USERBOOT_ERROR, b"userboot: error: bin/nope: file not found in BOOTFS\r\n",
     (b"bin/nope: file not found in BOOTFS",)),
]


@pytest.mark.parametrize("pattern, line, groups", KILLED_LINES)
def test_user_process_lines(
    pattern: re.Pattern[bytes], line: bytes, groups: tuple[bytes, ...]
) -> None:
    match = pattern.search(b"before\r\n" + line + b"after\r\n")
    assert match is not None and match.groups() == groups
    assert pattern.search(line.rstrip()) is None  # a half-written line


def test_userboot_error_is_parsed() -> None:
    transcript = b"zhb kernel: booting on arm64\nuserboot: error: BOOTFS: bad BOOTFS magic\n"
    assert console.parse_console(transcript).userboot_error == "BOOTFS: bad BOOTFS magic"
    assert console.parse_console(b"userboot: bin/x exited with return code 0\n").silent
