"""Boot tests: build the guest, boot it in QEMU, watch the console and QMP.

Each test runs once per `--arch` (ids like `test_banner[arm64]`). The guest must always end the
run itself: a clean power-off (QMP SHUTDOWN guest=true), or for the negative cases the shim's
error line followed by a power-off, or a panic reported through pvpanic.

Guest programs run by userboot (`userboot.next=bin/<program> userboot.shutdown`, the program in
the image's BOOTFS) are KTAP suites (harness.suites): every `KTAP_CASE(name)` of
guest_payloads/programs/<program>/*.c is its own test per arch (`test_core_tests[arm64-<name>]`),
plus a test that source and output agree and one that the run ends with userboot's return-code
line, a guest power-off and no panic. They are skipped while the guest build does not make
`out/<arch>/bin/<program>` or its kernel has no `*userboot*` symbol (it cannot start programs).
Another program plugs in with these three small tests and one `program_suite()` entry in
harness.suites.SUITES.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from harness import console
from harness.errors import GuestCrashed
from harness.image import BootImage, build_poweroff_image
from harness.machine import Machine
from harness.outcome import Status
from harness.plugin import KtapCaseRun, require_no_problems
from harness.profiles import Profile
from harness.suites import CORE_TESTS, SuiteRun

MakeImage = Callable[..., BootImage]
Launch = Callable[..., Machine]


def test_banner(booted_machine: Machine, profile: Profile) -> None:
    match = booted_machine.expect(console.BANNER)
    assert match.group(1).decode().strip() == profile.name
    booted_machine.wait_exit().raise_for_status()


def test_cmdline_round_trip(make_image: MakeImage, launch: Launch) -> None:
    cmdline = "zhb.test=round-trip-7 loglevel=3"
    machine = launch(make_image(cmdline=cmdline))
    machine.expect(console.BANNER)
    match = machine.expect(console.CMDLINE)
    assert match.group(1).decode().strip() == cmdline
    machine.wait_exit().raise_for_status()


def test_memory_is_reported(booted_machine: Machine) -> None:
    match = booted_machine.expect(console.MEMORY)
    mib, ranges = int(match.group(1)), int(match.group(2))
    assert 128 <= mib <= 256  # the profiles give the guest 256 MiB, some of it reserved
    assert ranges >= 1
    booted_machine.wait_exit().raise_for_status()


def test_guest_powers_off(booted_machine: Machine) -> None:
    outcome = booted_machine.wait_exit()
    assert outcome.status is Status.PASS, outcome.reason
    shutdowns = [e for e in outcome.events if e.name == "SHUTDOWN"]
    assert [e.data for e in shutdowns] == [{"guest": True, "reason": "guest-shutdown"}]
    assert outcome.powered_off
    assert outcome.exit_status == 0
    assert console.parse_console(outcome.transcript).powering_off


def test_corrupt_zbi_shim_error_then_poweroff(make_image: MakeImage, launch: Launch) -> None:
    machine = launch(make_image(cmdline="zhb.test=corrupt", corrupt_item=1))
    match = machine.expect(console.SHIM_ERROR)
    assert b"crc" in match.group(1).lower()
    outcome = machine.wait_exit()
    assert outcome.status is Status.FAIL
    assert outcome.reason.startswith("shim error: ")
    assert outcome.powered_off
    assert console.parse_console(outcome.transcript).arch is None  # the kernel never ran


def test_panic_is_reported_as_crash(make_image: MakeImage, launch: Launch) -> None:
    machine = launch(make_image(cmdline="kernel.test.panic"))
    outcome = machine.wait_exit()
    assert outcome.status is Status.CRASH
    assert "GUEST_PANICKED" in outcome.event_names
    assert not outcome.powered_off
    with pytest.raises(GuestCrashed) as caught:
        outcome.raise_for_status()
    assert any(line.startswith("ZIRCON KERNEL PANIC") for line in caught.value.console_tail)
    assert "ZIRCON KERNEL PANIC" in str(caught.value)
    assert any(e.startswith("GUEST_PANICKED") for e in caught.value.events)


def test_panic_fails_a_console_wait(make_image: MakeImage, launch: Launch) -> None:
    machine = launch(make_image(cmdline="kernel.test.panic"))
    with pytest.raises(GuestCrashed) as caught:
        machine.expect(console.POWERING_OFF)
    assert "kernel.test.panic" in str(caught.value)


def test_poweroff_baseline_image(profile: Profile, launch: Launch) -> None:
    outcome = launch(build_poweroff_image(profile.name)).wait_exit()
    assert outcome.powered_off, outcome.reason
    assert outcome.status is Status.NO_OUTPUT  # it prints nothing: never a pass by itself


# -- guest programs: bin/core-tests ------------------------------------------------------------


@pytest.mark.ktap_suite(CORE_TESTS)
def test_core_tests(ktap_case: KtapCaseRun) -> None:
    ktap_case.check()


@pytest.mark.ktap_suite(CORE_TESTS)
def test_core_tests_report_every_source_case(suite_run: SuiteRun) -> None:
    require_no_problems(suite_run.summary_problems())


@pytest.mark.ktap_suite(CORE_TESTS)
def test_core_tests_shut_down_cleanly(suite_run: SuiteRun) -> None:
    require_no_problems(suite_run.shutdown_problems())
