"""KTAP suites (harness.suites): case names read from C sources, and what a run reports.

No guest is booted: SuiteRuns are built from the recorded transcripts of tests/data/ktap-*.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from harness import console
from harness.errors import ImageError
from harness.image import GuestOutputs
from harness.ktap import parse_ktap
from harness.outcome import Outcome, Status
from harness.profiles import X86_64, Accel
from harness.qmp import QmpEvent
from harness.suites import (
    CORE_TESTS,
    KERNEL_SELFTEST,
    SMP_VARIANT,
    STRESS_TESTS,
    SUITES,
    CaseSyntax,
    KtapSuite,
    SuiteRun,
    program_suite,
    run_suite,
    suite_image,
)

DATA = Path(__file__).parent / "data"
POWEROFF = QmpEvent("SHUTDOWN", {"guest": True, "reason": "guest-shutdown"})
PANICKED = QmpEvent("GUEST_PANICKED", {"action": "poweroff"})

TABLE_SOURCE = """
// {"commented_out", test_nothing},
static const uint64_t durations[] = {ZX_MSEC(1), ZX_MSEC(10)};
static const struct { const char *s; int n; } vectors[] = {{"abc", 3}};
static const struct selftest_case core_cases[] = {
    {"first", test_first},
    /* {"also_commented", test_x}, */
    { "second" , &test_second },
    {.name = "third", .run = test_third}
};
static const struct selftest_suite core_suite = {core_cases, 3};
"""
MACRO_SOURCE = """
#define KTAP_CASE(name) static bool name(void)
KTAP_CASE(process_create) {
    return true;
}
// KTAP_CASE(commented_out)
  KTAP_CASE( vdso_map_twice ) {
"""


def test_table_syntax_reads_selftest_case_arrays_only() -> None:
    assert CaseSyntax.TABLE.names(TABLE_SOURCE) == ["first", "second", "third"]


def test_macro_syntax_reads_one_case_per_line() -> None:
    assert CaseSyntax.MACRO.names(MACRO_SOURCE) == ["process_create", "vdso_map_twice"]


def test_case_names_come_from_every_source_file_in_order(tmp_path: Path) -> None:
    (tmp_path / "kernel" / "vm").mkdir(parents=True)
    (tmp_path / "kernel" / "selftest.c").write_text(TABLE_SOURCE)
    (tmp_path / "kernel" / "vm" / "selftest_vm.c").write_text(
        'static const struct selftest_case vm_cases[] = {{"vm_map", test_vm_map}};'
    )
    (tmp_path / "kernel" / "selftest_objects.c").write_text(
        'static const struct selftest_case object_cases[] = {{"koid_unique", t}};'
    )
    suite = KtapSuite("s", KERNEL_SELFTEST.sources, CaseSyntax.TABLE, "", source_root=tmp_path)
    assert suite.case_names() == ["first", "second", "third", "koid_unique", "vm_map"]
    (tmp_path / "kernel" / "selftest_objects.c").unlink()  # a file not written yet: no cases
    assert suite.case_names() == ["first", "second", "third", "vm_map"]


def test_real_kernel_sources_declare_the_selftests() -> None:
    names = KERNEL_SELFTEST.case_names()
    assert {"pmm_alloc_free_reuse", "preemption"} <= set(names)
    assert len(names) == len(set(names))


def test_program_suite() -> None:
    suite = program_suite("core-tests", variants=(SMP_VARIANT,))
    assert suite == CORE_TESTS and SUITES["core-tests"] is CORE_TESTS
    assert suite.cmdline == "userboot.next=bin/core-tests userboot.shutdown"
    assert suite.bootfs == ("bin/core-tests",)
    assert suite.sources == ("programs/core-tests/*.c",)
    [end_line] = suite.end_lines
    assert end_line.search(b"userboot: bin/core-tests exited with return code 0\r\n")
    assert not end_line.search(b"userboot: bin/core-tests exited with return code 1\n")
    assert not end_line.search(b"userboot: bin/core-tests exited with return code -1\n")
    assert not end_line.search(b"userboot: bin/core_tests exited with return code 0\n")


def test_variant_suite_replaces_the_machine() -> None:
    variant = SUITES["kernel-selftest-variant"]
    assert variant.profile_for(X86_64).machine == "pc"
    assert KERNEL_SELFTEST.profile_for(X86_64) is X86_64


def test_unbuilt_program_fails_without_booting(tmp_path: Path) -> None:
    outputs = GuestOutputs.of(X86_64, tmp_path)  # nothing built there
    run = run_suite(CORE_TESTS, X86_64, outputs, accel=Accel.TCG, timeout=1, work_dir=tmp_path)
    assert run.outcome is None and run.report is None
    assert run.error == (
        f"x86_64 image: core-tests needs {tmp_path / 'bin/core-tests'}, which the guest build "
        "did not make"
    )
    story = [f"the guest did not run: {run.error}"]
    assert run.case_failure("process_create") == story[0]
    assert run.summary_problems() == story and run.shutdown_problems() == story


def test_a_multiprocessor_run_must_bring_every_cpu_online(tmp_path: Path) -> None:
    outputs = GuestOutputs.of(X86_64, tmp_path)
    smp = X86_64.with_variant(SMP_VARIANT)
    for profile, cpus, online in ((X86_64, None, None), (smp, None, 4), (X86_64, 2, 2),
                                  (smp, 1, None)):
        run = run_suite(CORE_TESTS, profile, outputs, accel=Accel.TCG, timeout=1,
                        work_dir=tmp_path, cpus=cpus)
        extra = () if online is None else (console.cpus_online(online),)
        assert run.end_lines == (*CORE_TESTS.end_lines, *extra)
    assert console.cpus_online(4).search(b"zhb kernel: 4 CPUs online\r\n")


def test_core_and_stress_tests_name_the_smp_variant() -> None:
    assert CORE_TESTS.variants == STRESS_TESTS.variants == (SMP_VARIANT,)
    assert KERNEL_SELFTEST.variants == () and SUITES["syscall-fuzz"].variants == ()
    assert X86_64.with_variant(SMP_VARIANT).smp == 4


def selftest_run(name: str, expected: list[str], events: list[QmpEvent]) -> SuiteRun:
    transcript = (DATA / f"ktap-{name}.log").read_bytes()
    status = Status.PASS if POWEROFF in events else Status.CRASH
    outcome = Outcome(status, "why", 0, tuple(events), transcript,
                      powered_off=POWEROFF in events, log_path=Path("/logs/console.log"))
    return SuiteRun("kernel-selftest", "x86_64", tuple(expected), KERNEL_SELFTEST.end_lines,
                    outcome, parse_ktap(transcript, expected))


def test_passing_run_has_no_problems() -> None:
    expected = ["pmm_alloc_free_reuse", "pmm_contiguous", "heap_alloc_free", "timer_advances",
                "sleep_duration", "thread_yield", "thread_join_exit", "preemption"]
    run = selftest_run("selftest-x86_64-pass", expected, [POWEROFF])
    assert [run.case_failure(name) for name in expected] == [None] * len(expected)
    assert run.summary_problems() == [] and run.shutdown_problems() == []


def test_crashed_run_explains_each_case() -> None:
    expected = ["pmm_alloc_free_reuse", "pmm_contiguous", "heap_alloc_free", "forced_failure",
                "forced_trap", "timer_advances", "sleep_duration", "thread_yield",
                "thread_join_exit", "preemption"]
    run = selftest_run("selftest-x86_64-crash", expected, [PANICKED])
    assert run.case_failure("heap_alloc_free") is None
    failed = run.case_failure("forced_failure")
    assert failed is not None
    assert failed.splitlines()[:2] == [
        ("not ok 4 forced_failure: expected 4 free pages, found 3; "
         "kernel/selftest.c:260: check failed: 3 == 4"),
        "console excerpt:",
    ]
    assert "console log: /logs/console.log" in failed
    crashed = run.case_failure("preemption")
    assert crashed is not None
    assert crashed.startswith("case 10 preemption never reported (the run stopped before it)")
    assert "  | ZIRCON KERNEL PANIC: x86_exception: vector 6" in crashed
    assert "boot outcome CRASH: why" in crashed
    assert run.summary_problems()[0] == (
        "the plan announced 10 cases but 4 reported (the run stopped after forced_failure)"
    )
    shutdown = run.shutdown_problems()
    assert shutdown[:3] == [
        "CRASH: why",
        "no guest-initiated QMP SHUTDOWN (guest-shutdown)",
        ("the guest panicked: ZIRCON KERNEL PANIC: x86_exception: vector 6 (#UD invalid "
         "opcode), error code 0x0, RIP 0x101e1c, CR2 0x0"),
    ]


def test_source_and_output_disagreeing_fails_the_summary() -> None:
    run = selftest_run("selftest-arm64-pass", ["pmm_alloc_free_reuse", "not_run_yet"], [POWEROFF])
    problems = run.summary_problems()
    assert problems[0].startswith("reported but not in the source: heap_alloc_free, ")
    assert problems[1] == "in the source but never reported: not_run_yet"
    assert run.case_failure("not_run_yet") is not None
    assert run.case_failure("not_run_yet").startswith(  # type: ignore[union-attr]
        "case not_run_yet never reported (the guest reported: pmm_alloc_free_reuse, "
    )


def test_missing_end_line_fails_the_shutdown() -> None:
    run = selftest_run("selftest-arm64-pass", [], [POWEROFF])
    program = SuiteRun(run.suite, run.arch, (), CORE_TESTS.end_lines, run.outcome, run.report)
    missing = f"missing console line {CORE_TESTS.end_lines[0].pattern!r}"
    assert program.shutdown_problems()[0] == missing


def test_userboot_error_fails_the_shutdown() -> None:
    transcript = (b"zhb kernel: booting on arm64\n"
                  b"userboot: error: bin/core-tests: file not found in BOOTFS\n"
                  b"zhb kernel: powering off\n")
    outcome = Outcome(Status.PASS, "the guest powered the machine off", 0, (POWEROFF,),
                      transcript, powered_off=True)
    run = SuiteRun("core-tests", "arm64", (), CORE_TESTS.end_lines, outcome,
                   parse_ktap(transcript, []))
    assert run.shutdown_problems()[:2] == [
        "userboot: error: bin/core-tests: file not found in BOOTFS",
        f"missing console line {CORE_TESTS.end_lines[0].pattern!r}",
    ]


def test_run_that_never_booted_fails_everything_with_the_error() -> None:
    run = SuiteRun("core-tests", "arm64", ("a",), error="guest build for arm64 failed")
    story = ["the guest did not run: guest build for arm64 failed"]
    assert run.case_failure("a") == story[0]
    assert run.summary_problems() == story and run.shutdown_problems() == story


@pytest.mark.parametrize("line, program, code", [
    (b"userboot: bin/core-tests exited with return code 0\r\n", b"bin/core-tests", b"0"),
    (b"userboot: bin/x exited with return code -5\n", b"bin/x", b"-5"),
])
def test_userboot_exit_line(line: bytes, program: bytes, code: bytes) -> None:
    match = console.USERBOOT_EXIT.search(line)
    assert match is not None and match.groups() == (program, code)
    assert console.USERBOOT_EXIT.search(line.rstrip()) is None  # a half-written line
    exact = console.userboot_exit(program.decode(), int(code))
    assert exact.search(line) and not exact.search(line.rstrip())
    assert not console.userboot_exit(program.decode(), int(code) + 1).search(line)


def test_suite_image_needs_every_bootfs_file(tmp_path: Path) -> None:
    outputs = GuestOutputs.of(X86_64, tmp_path)
    with pytest.raises(ImageError, match=r"core-tests needs .*bin/core-tests") as caught:
        suite_image(CORE_TESTS, X86_64, outputs, tmp_path)
    assert caught.value.arch == "x86_64"


def test_suite_run_pickles_for_other_workers() -> None:
    run = selftest_run("selftest-arm64-crash", ["forced_trap"], [PANICKED])
    again = pickle.loads(pickle.dumps(run))
    assert again == run
    assert again.case_failure("forced_trap") == run.case_failure("forced_trap")


def test_run_without_ktap_says_the_tests_never_started() -> None:
    run = selftest_run("selftest-arm64-pass", [], [POWEROFF])
    transcript = b"zhb kernel: booting on arm64\nzhb kernel: powering off\n"
    assert run.outcome is not None
    silent = SuiteRun("core-tests", "arm64", ("a",), (), run.outcome, parse_ktap(transcript, ["a"]))
    assert (silent.case_failure("a") or "").splitlines()[:4] == [
        "case 1 a never reported (the run stopped before it)",
        "no 'KTAP version' line: the tests never started",
        "console excerpt:",
        "  | zhb kernel: booting on arm64",
    ]
