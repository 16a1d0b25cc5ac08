"""bin/stress-tests (guest_payloads/programs/stress-tests/): races and limits in the kernel.

Every `KTAP_CASE(name)` of the program is its own test per arch (`test_stress[x86_64-<name>]`),
plus a test that source and output agree and one that the run ends with userboot's
`exited with return code 0`, a guest power-off and no panic. A kernel panic in one case is
reported on that case (its console excerpt holds the panic line) and every later case is
reported as crashed.

The default run gives each case a short round (100 ms); `--stress-seconds=S` runs each case
for S seconds (the boot timeout grows to match) and `--stress-case=A,B` runs only those cases
(the others skip), for reproducing one race at a time. `--stress-parallel` runs the cases at
the same time, each repeated for its round in a process of its own (the memory-exhausting
ones alone, after): one boot of 1 + len(EXCLUSIVE_CASES) rounds gives every case
`--stress-seconds`.
"""

from __future__ import annotations

import pytest

from harness import suites
from harness.plugin import KtapCaseRun, require_no_problems
from harness.suites import STRESS_TESTS, SuiteKnobs, SuiteRun


@pytest.mark.ktap_suite(STRESS_TESTS)
def test_stress(ktap_case: KtapCaseRun) -> None:
    ktap_case.check()


@pytest.mark.ktap_suite(STRESS_TESTS)
def test_stress_reports_every_source_case(suite_run: SuiteRun) -> None:
    require_no_problems(suite_run.summary_problems())


@pytest.mark.ktap_suite(STRESS_TESTS)
def test_stress_shut_down_cleanly(suite_run: SuiteRun) -> None:
    require_no_problems(suite_run.shutdown_problems())


def test_stress_knobs_become_program_args() -> None:
    assert STRESS_TESTS.cmdline == "userboot.next=bin/stress-tests userboot.shutdown"
    assert STRESS_TESTS.configured(SuiteKnobs()) == (STRESS_TESTS, suites.STRESS_BASE_EXTRA_S)
    cases = len(STRESS_TESTS.case_names())
    assert cases >= 20
    suite, extra = STRESS_TESTS.configured(
        SuiteKnobs(stress_seconds=2.5, stress_case="handle_double_send,deep_job_chain_kill"))
    assert suite.cmdline == ("userboot.next=bin/stress-tests+ms=2500"
                             "+case=handle_double_send,deep_job_chain_kill userboot.shutdown")
    assert extra == pytest.approx(
        suites.STRESS_BASE_EXTRA_S + 2.5 * cases * suites.STRESS_TIME_FACTOR)
    assert suite.name == STRESS_TESTS.name and suite.case_names() == STRESS_TESTS.case_names()


def test_stress_parallel_knob() -> None:
    exclusive = suites.stress_exclusive_cases()
    assert "memory_exhaustion_recovery" in exclusive
    assert set(exclusive) <= set(STRESS_TESTS.case_names())
    suite, extra = STRESS_TESTS.configured(SuiteKnobs(stress_seconds=600, stress_parallel=True))
    assert suite.cmdline == "userboot.next=bin/stress-tests+ms=600000+parallel=1 userboot.shutdown"
    assert extra == pytest.approx(
        suites.STRESS_BASE_EXTRA_S + 600 * (1 + len(exclusive)) * suites.STRESS_TIME_FACTOR)


def test_stress_exclusive_cases_need_the_define(tmp_path) -> None:
    source = tmp_path / "parallel.c"
    source.write_text('#define EXCLUSIVE_CASES "a,b," \\\n    "c"\n')
    assert suites.stress_exclusive_cases(source) == ("a", "b", "c")
    source.write_text("int x;\n")
    with pytest.raises(suites.HarnessError, match="EXCLUSIVE_CASES"):
        suites.stress_exclusive_cases(source)
