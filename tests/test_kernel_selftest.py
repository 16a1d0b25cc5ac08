"""Kernel self-tests: each KTAP case of `kernel.selftest` is its own test, per arch.

With the command-line word `kernel.selftest` the kernel (guest_payloads/kernel/selftest.c, and
kernel/selftest_objects.c once it exists) runs its boot-time cases, prints them as KTAP and
powers off. The cases are read from the `{"name", fn}` tables of those sources at collection
time (`harness.suites.KERNEL_SELFTEST`), so every case has its own id::

    test_kernel_selftest[x86_64-preemption]                   the case passed on x86_64
    test_kernel_selftest_variant_machine[arm64-preemption]    ... on the arch's second machine
    test_kernel_selftest_reports_every_source_case[arm64]     source and output agree
    test_kernel_selftest_shuts_down_cleanly[x86_64]           guest power-off, no panic

Each suite boots once per arch per pytest run (harness.plugin); a failing case shows its own
console excerpt and the log path. The variant machines differ from the profiles' in interrupt
controller or clock (x86-64 `pc`: PIIX4's PM timer port and ACPI block; arm64 GICv2), so the
other driver path runs the self-tests too. The KTAP parser's own tests are in
test_harness_ktap.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from harness import console
from harness.image import BootImage
from harness.ktap import parse_ktap
from harness.machine import Machine
from harness.outcome import Status
from harness.plugin import KtapCaseRun, require_no_problems
from harness.profiles import Profile
from harness.suites import KERNEL_SELFTEST, KERNEL_SELFTEST_VARIANT, SuiteRun

MakeImage = Callable[..., BootImage]
Launch = Callable[..., Machine]

FAULT_WORD = "kernel.test.fault"

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


# -- the profile's machine ---------------------------------------------------------------------


@pytest.mark.ktap_suite(KERNEL_SELFTEST)
def test_kernel_selftest(ktap_case: KtapCaseRun) -> None:
    ktap_case.check()


@pytest.mark.ktap_suite(KERNEL_SELFTEST)
def test_kernel_selftest_reports_every_source_case(suite_run: SuiteRun) -> None:
    require_no_problems(suite_run.summary_problems())


@pytest.mark.ktap_suite(KERNEL_SELFTEST)
def test_kernel_selftest_shuts_down_cleanly(suite_run: SuiteRun) -> None:
    require_no_problems(suite_run.shutdown_problems())


# -- the variant machine -----------------------------------------------------------------------


@pytest.mark.ktap_suite(KERNEL_SELFTEST_VARIANT)
def test_kernel_selftest_variant_machine(ktap_case: KtapCaseRun) -> None:
    ktap_case.check()


@pytest.mark.ktap_suite(KERNEL_SELFTEST_VARIANT)
def test_kernel_selftest_variant_reports_every_source_case(suite_run: SuiteRun) -> None:
    require_no_problems(suite_run.summary_problems())


@pytest.mark.ktap_suite(KERNEL_SELFTEST_VARIANT)
def test_kernel_selftest_variant_shuts_down_cleanly(suite_run: SuiteRun) -> None:
    require_no_problems(suite_run.shutdown_problems())


# -- without the self-tests --------------------------------------------------------------------


def test_source_declares_the_kernel_core_cases() -> None:
    missing = REQUIRED_CASES - set(KERNEL_SELFTEST.case_names())
    assert not missing, f"cases missing from {KERNEL_SELFTEST.sources}: {sorted(missing)}"


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
