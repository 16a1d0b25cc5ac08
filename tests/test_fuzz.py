"""bin/syscall-fuzz (guest_payloads/programs/syscall-fuzz/): every syscall, hostile arguments.

The fuzzer is one KTAP case (`test_syscall_fuzz[<arch>-syscall_fuzz]`): it prints its seed,
runs its calls from throwaway child processes and prints a summary; the case fails if a child
hangs or the kernel fails the final sanity check, and the run fails on any kernel panic
(`test_syscall_fuzz_shut_down_cleanly`). The default run is a short pass (3,000 calls);
`--fuzz-calls=N` makes it longer, `--fuzz-seed=S` repeats a seed, `--fuzz-threads=T` races T
fuzzing threads per child on shared objects.
"""

from __future__ import annotations

import re

import pytest

from harness import suites
from harness.plugin import KtapCaseRun, require_no_problems
from harness.suites import SYSCALL_FUZZ, SuiteKnobs, SuiteRun

SEED = re.compile(rb"^syscall-fuzz: seed=0x([0-9a-f]+) calls=(\d+) chunk_calls=\d+ syscalls=(\d+)",
                  re.MULTILINE)
SUMMARY = re.compile(rb"^syscall-fuzz: done: seed=0x([0-9a-f]+) calls=(\d+) children=(\d+) "
                     rb"died=(\d+) hung=(\d+) values=(\d+)(.*)$", re.MULTILINE)
DEFS = suites.GUEST_SOURCE / "syscalls" / "zircon.syscalls"


@pytest.mark.ktap_suite(SYSCALL_FUZZ)
def test_syscall_fuzz(ktap_case: KtapCaseRun) -> None:
    ktap_case.check()


@pytest.mark.ktap_suite(SYSCALL_FUZZ)
def test_syscall_fuzz_reports_every_source_case(suite_run: SuiteRun) -> None:
    require_no_problems(suite_run.summary_problems())


@pytest.mark.ktap_suite(SYSCALL_FUZZ)
def test_syscall_fuzz_shut_down_cleanly(suite_run: SuiteRun) -> None:
    require_no_problems(suite_run.shutdown_problems())


@pytest.mark.ktap_suite(SYSCALL_FUZZ)
def test_syscall_fuzz_prints_seed_and_summary(suite_run: SuiteRun) -> None:
    """The seed line comes first, the summary counts every call and names the statuses."""
    outcome = suite_run.outcome
    assert outcome is not None, suite_run.error
    start = SEED.search(outcome.transcript)
    assert start is not None, "no seed line:\n" + "\n".join(outcome.console_tail())
    syscalls = len(re.findall(r"^syscall \w+ ", DEFS.read_text(), re.MULTILINE))
    assert int(start.group(3)) == syscalls  # the generated table has every syscall
    done = SUMMARY.search(outcome.transcript, start.end())
    assert done is not None, "no summary line:\n" + "\n".join(outcome.console_tail())
    assert done.group(1) == start.group(1)
    calls = int(done.group(2))
    assert calls == int(start.group(2))
    assert int(done.group(3)) >= 1 and int(done.group(5)) == 0
    counts = dict(re.findall(rb" (\w+)=(\d+)", done.group(7)))
    assert sum(map(int, counts.values())) + int(done.group(6)) <= calls
    assert b"OK" in counts and b"BAD_HANDLE" in counts and b"INVALID_ARGS" in counts


def test_fuzz_knobs_become_program_args() -> None:
    assert SYSCALL_FUZZ.cmdline == "userboot.next=bin/syscall-fuzz userboot.shutdown"
    assert SYSCALL_FUZZ.case_names() == ["syscall_fuzz"]
    suite, extra = SYSCALL_FUZZ.configured(
        SuiteKnobs(fuzz_calls=200_000, fuzz_seed=0xABC, fuzz_threads=4))
    assert suite.cmdline == ("userboot.next=bin/syscall-fuzz+calls=200000+seed=0xabc+threads=4 "
                             "userboot.shutdown")
    assert extra == pytest.approx(200_000 / suites.FUZZ_CALLS_PER_S)
