"""The KTAP parser (harness.ktap), fed recorded transcripts (tests/data/ktap-*).

    ktap-selftest-<arch>-pass.log     a real `kernel.selftest` boot: 8 cases, all ok
    ktap-selftest-<arch>-crash.log    a real boot of a kernel built with two extra cases after
                                      heap_alloc_free: `forced_failure` (a failing check) and
                                      `forced_trap` (ud2 / brk: the kernel panics mid-suite)
    ktap-nested-skip-fail.log         hand-written in KUnit's layout: a nested subtest block,
                                      `# SKIP` / `# skip` / `# TODO` directives, console noise
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.ktap import CaseStatus, parse_ktap
from harness.profiles import PROFILES
from harness.suites import KERNEL_SELFTEST

DATA = Path(__file__).parent / "data"
ARCHES = list(PROFILES)
SELFTEST_CASES = [
    "pmm_alloc_free_reuse", "pmm_contiguous", "heap_alloc_free", "timer_advances",
    "sleep_duration", "thread_yield", "thread_join_exit", "preemption",
]
CRASH_RUN = [*SELFTEST_CASES[:3], "forced_failure", "forced_trap", *SELFTEST_CASES[3:]]


def recorded(name: str) -> bytes:
    return (DATA / f"ktap-{name}.log").read_bytes()


def test_every_recorded_transcript_is_covered() -> None:
    names = {p.name for p in DATA.glob("ktap-*")}
    assert names == {
        *(f"ktap-selftest-{arch}-{outcome}.log" for arch in ARCHES
          for outcome in ("pass", "crash")),
        "ktap-nested-skip-fail.log",
    }


@pytest.mark.parametrize("arch", ARCHES)
def test_passing_selftest_transcript(arch: str) -> None:
    report = parse_ktap(recorded(f"selftest-{arch}-pass"), SELFTEST_CASES)
    assert report.version_seen and report.plan == 8
    assert [(c.number, c.name, c.status) for c in report.cases] == [
        (n, name, CaseStatus.PASS) for n, name in enumerate(SELFTEST_CASES, start=1)
    ]
    assert report.problems() == [] and report.failed == ()
    assert report.name_mismatch(SELFTEST_CASES) == []
    sleep = report.case("sleep_duration")
    assert sleep is not None and len(sleep.diagnostics) == 3
    assert sleep.diagnostics[0].startswith("sleep 1 ms took ")
    assert sleep.excerpt == (*(f"# {d}" for d in sleep.diagnostics), "ok 5 sleep_duration")
    assert report.tail == ("# selftest: 8 passed, 0 failed", "zhb kernel: powering off")


@pytest.mark.parametrize("arch", ARCHES)
def test_crash_mid_suite_reports_every_missing_case_as_crashed(arch: str) -> None:
    report = parse_ktap(recorded(f"selftest-{arch}-crash"), CRASH_RUN)
    assert report.plan == 10
    assert [(c.number, c.name, c.status) for c in report.cases] == [
        *((n, name, CaseStatus.PASS) for n, name in enumerate(CRASH_RUN[:3], start=1)),
        (4, "forced_failure", CaseStatus.FAIL),
        *((n, name, CaseStatus.CRASH) for n, name in enumerate(CRASH_RUN[4:], start=5)),
    ]
    assert report.problems() == [
        "the plan announced 10 cases but 4 reported (the run stopped after forced_failure)"
    ]
    assert [c.name for c in report.failed] == CRASH_RUN[3:]
    trap = report.case("forced_trap")
    assert trap is not None
    assert trap.excerpt == report.tail
    assert trap.excerpt[0] == "# about to execute a trap instruction"
    assert trap.excerpt[-1].startswith("ZIRCON KERNEL PANIC: ")
    assert trap.describe() == "case 5 forced_trap never reported (the run stopped before it)"


@pytest.mark.parametrize("arch", ARCHES)
def test_failing_case_carries_its_diagnostics_and_excerpt(arch: str) -> None:
    failure = parse_ktap(recorded(f"selftest-{arch}-crash")).case("forced_failure")
    assert failure is not None and failure.status is CaseStatus.FAIL
    assert failure.diagnostics[0] == "expected 4 free pages, found 3"
    assert "check failed: 3 == 4" in failure.diagnostics[1]
    assert failure.excerpt[-1] == "not ok 4 forced_failure"
    assert failure.describe().startswith(
        "not ok 4 forced_failure: expected 4 free pages, found 3; "
    )


def test_crashed_cases_without_expected_names_are_numbered() -> None:
    report = parse_ktap(recorded("selftest-x86_64-crash"))
    assert [c.name for c in report.cases if c.status is CaseStatus.CRASH] == [
        f"case {n}" for n in range(5, 11)
    ]


def test_nested_subtests_and_directives() -> None:
    report = parse_ktap(recorded("nested-skip-fail"))
    assert report.plan == 4
    assert [(c.number, c.name, c.status) for c in report.cases] == [
        (1, "handle_rights", CaseStatus.PASS),
        (2, "koids_increase", CaseStatus.SKIP),
        (3, "bad_pointer", CaseStatus.FAIL),
        (4, "channel_limits", CaseStatus.SKIP),
    ]
    first, skipped, todo, lower = report.cases
    assert "    not ok 2 replace_grows" in first.excerpt  # nested: output, not a result
    assert first.diagnostics == ("a nested failure does not fail the parent line",)
    assert (skipped.directive, skipped.skip_reason) == ("SKIP no second process yet",
                                                        "no second process yet")
    assert todo.directive == "TODO expected to fail today" and todo.skip_reason == ""
    assert todo.excerpt[0].startswith("zhb kernel: user fault in process")
    assert lower.skip_reason == "needs channels"
    assert report.problems() == []
    assert report.tail[-2:] == ("userboot: bin/core-tests exited with return code 1",
                                "zhb kernel: powering off")


def test_no_ktap_block_crashes_every_expected_case() -> None:
    report = parse_ktap(b"zhb kernel: booting on arm64\r\nZIRCON KERNEL PANIC: early\r\n",
                        ["a", "b"])
    assert not report.version_seen and report.plan is None
    assert [(c.number, c.name, c.status) for c in report.cases] == [
        (1, "a", CaseStatus.CRASH), (2, "b", CaseStatus.CRASH)
    ]
    assert report.cases[0].excerpt == ("zhb kernel: booting on arm64",
                                       "ZIRCON KERNEL PANIC: early")
    assert report.problems() == ["no 'KTAP version' line: the tests never started"]


def test_missing_plan_crashes_the_unreported_expected_cases() -> None:
    report = parse_ktap(b"KTAP version 1\nok 1 a\n", ["a", "b"])
    assert [(c.number, c.name, c.status) for c in report.cases] == [
        (1, "a", CaseStatus.PASS), (2, "b", CaseStatus.CRASH)
    ]
    assert report.problems() == ["no KTAP plan line (1..N)"]


def test_tap_style_dash_and_missing_names() -> None:
    report = parse_ktap(b"KTAP version 1\n1..2\nok 1 - dashed\nnot ok 2\n")
    assert [(c.name, c.status) for c in report.cases] == [
        ("dashed", CaseStatus.PASS), ("case 2", CaseStatus.FAIL)
    ]


def test_misnumbered_case_is_reported() -> None:
    report = parse_ktap(b"KTAP version 1\n1..2\nok 1 a\nok 3 b\n")
    assert report.problems() == ["case b is numbered 3, expected 2"]


def test_more_cases_than_planned_is_reported() -> None:
    report = parse_ktap(b"KTAP version 1\n1..1\nok 1 a\nok 2 b\n")
    assert report.problems() == ["the plan announced 1 cases but 2 reported"]


def test_block_ends_at_the_next_version_line() -> None:
    report = parse_ktap(b"KTAP version 1\n1..1\nok 1 a\nKTAP version 1\n1..1\nnot ok 1 z\n")
    assert [c.name for c in report.cases] == ["a"]
    assert report.problems() == []


def test_name_mismatch_names_every_difference() -> None:
    report = parse_ktap(b"KTAP version 1\n1..3\nok 1 a\nok 2 extra\nok 3 extra\n")
    assert report.problems() == []
    assert report.name_mismatch(["a", "gone"]) == [
        "reported but not in the source: extra",
        "in the source but never reported: gone",
        "reported more than once: extra",
    ]


def test_recorded_selftest_names_match_the_source() -> None:
    assert set(SELFTEST_CASES) <= set(KERNEL_SELFTEST.case_names())
