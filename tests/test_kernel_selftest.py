"""Kernel self-tests: boot each arch with `kernel.selftest` and judge its KTAP output.

With the command-line word `kernel.selftest` the kernel (guest_payloads/kernel/selftest.c)
runs its boot-time cases after bringing up the page allocator, heap, interrupts, the tick and
the scheduler, prints them as KTAP and powers off::

    KTAP version 1
    1..N
    # <diagnostic of the next case>
    ok 1 <name>            or   not ok 1 <name>
    ...
    # selftest: P passed, F failed
    zhb kernel: powering off

`parse_ktap()` reads that out of a console transcript into a `KtapReport`; `ktap_problems()`
lists everything wrong with it (a failing case with its diagnostics, a missing plan, a count
that does not match). The boot tests pass only when every case is `ok` and the guest powered
the machine off itself with no panic; otherwise the failure names each failing case and shows
the console excerpt and log path. The parser's own tests feed it recorded transcripts.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import console
from harness.image import BootImage
from harness.machine import Machine
from harness.outcome import FailurePattern, Outcome, Status
from harness.profiles import Accel, Profile

MakeImage = Callable[..., BootImage]
Launch = Callable[..., Machine]

SELFTEST_WORD = "kernel.selftest"
FAULT_WORD = "kernel.test.fault"

KTAP_VERSION_LINE = "KTAP version 1"
_PLAN = re.compile(r"^1\.\.(\d+)$")
_RESULT = re.compile(r"^(ok|not ok) (\d+) (\S.*)$")
_DIAGNOSTIC = re.compile(r"^# ?(.*)$")

NOT_OK = FailurePattern(
    "kernel self-test failure", re.compile(rb"(?m)^not ok \d+ [^\r\n]+(?=\r?\n)"), Status.FAIL
)
"""Makes the harness classify a boot with a failing case as FAIL (the panic pattern stays).
The lookahead waits for the whole line without making the newline part of the match."""

REQUIRED_CASES = frozenset({
    "pmm_alloc_free_reuse", "heap_alloc_free", "timer_advances", "sleep_duration",
    "preemption", "thread_join_exit",
})
"""Cases the kernel core must always run (the step's acceptance list)."""

FAULT_PANICS: dict[str, re.Pattern[str]] = {
    "x86_64": re.compile(r"x86_exception: vector 6 \(#UD invalid opcode\), error code 0x0, "
                         r"RIP 0x[0-9a-f]+, CR2 0x[0-9a-f]+"),
    "arm64": re.compile(r"arm64_exception: current EL SPx sync \(slot 4\), ESR 0x[0-9a-f]+ "
                        r"\(EC 0x3c\), ELR 0x[0-9a-f]+, FAR 0x[0-9a-f]+"),
}
"""The panic each arch prints for the trap instruction `kernel.test.fault` executes (x86 ud2:
#UD, vector 6; arm64 brk: exception class 0x3c) as its exception handler words it."""

VARIANT_MACHINES: dict[str, str] = {
    "x86_64": "pc",  # i440fx + PIIX4: another PM timer port, another ACPI block than q35
    "arm64": "virt,gic-version=2",  # the GICv2 driver instead of GICv3
}
"""A second QEMU machine per arch whose interrupt controller or clock differs from the
profile's, so the other driver path runs the self-tests too."""


@dataclass(frozen=True)
class KtapCase:
    """One `ok N name` / `not ok N name` line with the `#` diagnostics printed before it."""

    number: int
    name: str
    ok: bool
    diagnostics: tuple[str, ...] = ()


@dataclass(frozen=True)
class KtapReport:
    """What the KTAP block of a transcript says (plan None: no `1..N` line was seen)."""

    version_seen: bool
    plan: int | None
    cases: tuple[KtapCase, ...]

    @property
    def failed(self) -> tuple[KtapCase, ...]:
        return tuple(c for c in self.cases if not c.ok)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(c.name for c in self.cases)


def parse_ktap(transcript: bytes) -> KtapReport:
    """Read the first KTAP block of a console transcript; other console lines are skipped."""
    lines = [line.strip() for line in console.decode(transcript).split("\n")]
    if KTAP_VERSION_LINE not in lines:
        return KtapReport(version_seen=False, plan=None, cases=())
    plan: int | None = None
    cases: list[KtapCase] = []
    pending: list[str] = []
    for line in lines[lines.index(KTAP_VERSION_LINE) + 1:]:
        if (match := _PLAN.match(line)) is not None and plan is None and not cases:
            plan = int(match.group(1))
        elif (match := _RESULT.match(line)) is not None:
            cases.append(KtapCase(int(match.group(2)), match.group(3).strip(),
                                  match.group(1) == "ok", tuple(pending)))
            pending = []
        elif (match := _DIAGNOSTIC.match(line)) is not None:
            pending.append(match.group(1))
    return KtapReport(version_seen=True, plan=plan, cases=tuple(cases))


def ktap_problems(report: KtapReport) -> list[str]:
    """Everything wrong with `report`, one message each; empty when every planned case passed."""
    if not report.version_seen:
        return [f"no {KTAP_VERSION_LINE!r} line: the self-tests never started"]
    problems = []
    if report.plan is None:
        problems.append("no KTAP plan line (1..N)")
    elif report.plan != len(report.cases):
        problems.append(f"the plan announced {report.plan} cases but {len(report.cases)} "
                        f"reported (the run stopped after "
                        f"{report.cases[-1].name if report.cases else 'no case'})")
    for index, case in enumerate(report.cases, start=1):
        if case.number != index:
            problems.append(f"case {case.name} is numbered {case.number}, expected {index}")
        if not case.ok:
            why = "; ".join(case.diagnostics) if case.diagnostics else "no diagnostics"
            problems.append(f"not ok {case.number} {case.name}: {why}")
    return problems


def _verdict(outcome: Outcome, report: KtapReport) -> str:
    """The failure message for a self-test boot: KTAP problems, then the harness's story."""
    lines = ["kernel self-tests failed:"]
    lines += [f"  {problem}" for problem in ktap_problems(report)]
    if outcome.status is not Status.PASS:
        lines.append(str(outcome.error()))
    else:
        lines.append(f"console log: {outcome.log_path}")
        lines += [f"  | {line}" for line in outcome.console_tail(30)]
    return "\n".join(lines)


def _run_selftests(make_image: MakeImage, launch: Launch) -> tuple[Outcome, KtapReport]:
    machine = launch(make_image(cmdline=SELFTEST_WORD))
    outcome = machine.wait_exit(fail_patterns=[NOT_OK])
    return outcome, parse_ktap(outcome.transcript)


def _require_all_pass(outcome: Outcome, report: KtapReport) -> None:
    if ktap_problems(report) or outcome.status is not Status.PASS:
        pytest.fail(_verdict(outcome, report), pytrace=False)
    assert outcome.powered_off
    assert console.parse_console(outcome.transcript).panic is None
    assert console.parse_console(outcome.transcript).powering_off


# -- booting the guest -------------------------------------------------------------------------


def test_selftest_cases_all_pass(make_image: MakeImage, launch: Launch) -> None:
    _require_all_pass(*_run_selftests(make_image, launch))


def test_selftest_cases_pass_on_variant_machine(
    make_image: MakeImage, profile: Profile, accel: Accel, boot_timeout: float, artifacts: Path
) -> None:
    variant = dataclasses.replace(profile, machine=VARIANT_MACHINES[profile.name])
    image = make_image(cmdline=SELFTEST_WORD)
    with Machine(variant, image, accel=accel, timeout=boot_timeout,
                 log_dir=artifacts / "variant") as machine:
        outcome = machine.wait_exit(fail_patterns=[NOT_OK])
    _require_all_pass(outcome, parse_ktap(outcome.transcript))


def test_selftest_covers_the_kernel_core(make_image: MakeImage, launch: Launch) -> None:
    outcome, report = _run_selftests(make_image, launch)
    missing = REQUIRED_CASES - report.names
    assert not missing, f"cases not run: {sorted(missing)}\n{_verdict(outcome, report)}"
    assert report.plan is not None and report.plan >= len(REQUIRED_CASES)


def test_normal_boot_runs_no_selftest(booted_machine: Machine) -> None:
    outcome = booted_machine.wait_exit().raise_for_status()
    assert not parse_ktap(outcome.transcript).version_seen


def test_kernel_fault_panics_naming_the_exception(
    make_image: MakeImage, launch: Launch, profile: Profile
) -> None:
    outcome = launch(make_image(cmdline=FAULT_WORD)).wait_exit()
    assert outcome.status is Status.CRASH, outcome.reason
    panic = console.parse_console(outcome.transcript).panic
    assert panic is not None, outcome.console_tail()
    assert FAULT_PANICS[profile.name].search(panic), panic
    assert not outcome.powered_off  # pvpanic ended the run, not a clean power-off


# -- the KTAP parser on recorded transcripts ---------------------------------------------------

PASSING = (
    b"zhb kernel: pmm: 10 of 20 pages free (0 MiB) in 1 arenas\r\n"
    b"KTAP version 1\r\n1..3\r\nok 1 pmm_alloc_free_reuse\r\n"
    b"# 20 ms spin: 20024891 ns, 20 ticks\r\nok 2 timer_advances\r\n"
    b"ok 3 preemption\r\n# selftest: 3 passed, 0 failed\r\nzhb kernel: powering off\r\n"
)
FAILING = (
    b"KTAP version 1\n1..3\nok 1 pmm_alloc_free_reuse\n"
    b"# sleep 10 ms took 900000 us\n"
    b"# kernel/selftest.c:151: check failed: ticks <= durations[i] / TIMER_TICK_NS + slack_ticks\n"
    b"not ok 2 sleep_duration\nok 3 preemption\n# selftest: 2 passed, 1 failed\n"
)
CUT_SHORT = b"KTAP version 1\n1..8\nok 1 pmm_alloc_free_reuse\nZIRCON KERNEL PANIC: boom\n"


def test_parse_passing_transcript() -> None:
    report = parse_ktap(PASSING)
    assert report.plan == 3
    assert [(c.number, c.name, c.ok) for c in report.cases] == [
        (1, "pmm_alloc_free_reuse", True), (2, "timer_advances", True), (3, "preemption", True)
    ]
    assert report.cases[1].diagnostics == ("20 ms spin: 20024891 ns, 20 ticks",)
    assert ktap_problems(report) == []


def test_failing_case_is_named_with_its_diagnostics() -> None:
    report = parse_ktap(FAILING)
    assert [c.name for c in report.failed] == ["sleep_duration"]
    (problem,) = ktap_problems(report)
    assert problem.startswith("not ok 2 sleep_duration: sleep 10 ms took 900000 us; ")
    assert "check failed: ticks <=" in problem
    assert NOT_OK.regex.search(FAILING) is not None
    assert NOT_OK.regex.search(PASSING) is None


def test_run_cut_short_is_reported() -> None:
    problems = ktap_problems(parse_ktap(CUT_SHORT))
    assert problems == [
        "the plan announced 8 cases but 1 reported (the run stopped after pmm_alloc_free_reuse)"
    ]


def test_missing_ktap_block_is_reported() -> None:
    report = parse_ktap(b"zhb kernel: booting on arm64\r\nzhb kernel: powering off\r\n")
    assert not report.version_seen
    assert ktap_problems(report) == [
        "no 'KTAP version 1' line: the self-tests never started"
    ]


def test_misnumbered_case_is_reported() -> None:
    report = parse_ktap(b"KTAP version 1\n1..2\nok 1 a\nok 3 b\n")
    assert ktap_problems(report) == ["case b is numbered 3, expected 2"]
