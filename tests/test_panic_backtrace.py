"""Symbolized kernel panics on every architecture: the kernel prints a frame-pointer backtrace
after its panic line (kernel/panic.c) and the harness names each frame's function, file and
line with llvm-symbolizer (harness.symbolize), also in a suite's failure story."""

from __future__ import annotations

from collections.abc import Callable

from harness.image import BootImage, GuestOutputs
from harness.machine import Machine
from harness.outcome import Outcome, Status
from harness.profiles import Profile
from harness.qmp import QmpEvent
from harness.suites import SuiteRun
from harness.symbolize import backtrace_pcs, kernel_backtrace


def test_panic_backtrace_is_symbolized(
    profile: Profile, guest_build: GuestOutputs, make_image: Callable[..., BootImage],
    launch: Callable[..., Machine],
) -> None:
    outcome = launch(make_image(cmdline="kernel.test.panic")).wait_exit()
    assert outcome.status is Status.CRASH
    frames = kernel_backtrace(outcome.transcript, profile, guest_build)
    assert len(frames) >= 2, outcome.console_tail()
    assert " panic at " in frames[0] and "kernel/panic.c:" in frames[0]
    assert " kernel_main at " in frames[1] and "kernel/main.c:" in frames[1]


def test_backtrace_is_in_the_failure_story() -> None:
    transcript = (b"ZIRCON KERNEL PANIC: x\r\nzhb kernel: backtrace: #0 pc 0x10\r\n"
                  b"zhb kernel: backtrace: #1 pc 0x20\r\n"
                  b"zhb kernel: backtrace: #0 pc 0x99\r\n")  # a second panic's: ignored
    assert backtrace_pcs(transcript) == [0x10, 0x20]
    outcome = Outcome(Status.CRASH, "kernel panic", 1, (QmpEvent("GUEST_PANICKED", {}),),
                      transcript)
    run = SuiteRun("core-tests", "arm64", ("a",), outcome=outcome,
                   backtrace=("#0 0x10 panic at kernel/panic.c:49",))
    problems = run.shutdown_problems()
    assert "kernel backtrace:" in problems
    assert "  #0 0x10 panic at kernel/panic.c:49" in problems
