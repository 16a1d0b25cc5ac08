"""Guest test suites that print KTAP: what to boot, which cases to expect, how a run ended.

A `KtapSuite` is data: a name, the C sources that declare its cases, how they declare them,
the command line to boot with, the files its BOOTFS needs from the guest build and the console
lines that must end a good run. The case names are read from the sources (not from a boot), so
pytest knows every case at collection time::

    kernel self-tests   `struct selftest_case xxx[] = {{"name", fn}, ...};` tables in
                        kernel/selftest.c and every kernel/**/selftest_*.c (each suite file,
                        e.g. kernel/selftest_objects.c, declares a table of its own)
    guest programs      one `KTAP_CASE(name)` line per case in programs/<prog>/*.c

`suite_image()` writes the image that boots a suite (scripts/bench_boot times it too);
`run_suite()` boots a suite once on one architecture and returns a `SuiteRun`: the outcome of
the boot and its KTAP report (`harness.ktap`), or why the guest never ran (`error`: the build
failed, it did not make a file the suite's BOOTFS needs, or QEMU could not start; every test
of the suite then fails with that reason). A SuiteRun holds only plain data, so it pickles:
the pytest plugin shares one run per (suite, arch) between pytest-xdist workers through a
file-locked on-disk cache (see `harness.plugin`).

Adding a guest program is one `program_suite("name")` line in SUITES plus a test module that
uses it (see tests/test_boot.py).

Knobs: a program suite may take program arguments from pytest options (`ProgramArgs`: e.g.
`--stress-seconds` becomes `userboot.next=bin/stress-tests+ms=N`, with a longer boot timeout
to match). `SuiteKnobs` holds the option values of one pytest run; `KtapSuite.configured()`
gives the suite as it boots with them.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bootfs_tools import BootfsError
from bootfs_tools import build as build_bootfs
from harness import console
from harness.errors import HarnessError, ImageError
from harness.image import GUEST_SOURCE, BootImage, GuestOutputs, build_image
from harness.ktap import CaseStatus, KtapCase, KtapReport, parse_ktap
from harness.machine import WALL_FACTOR, boot
from harness.outcome import Outcome, Status
from harness.profiles import Accel, Profile
from harness.symbolize import kernel_backtrace, user_faults

_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_LINE_COMMENT = re.compile(r"//[^\n]*")
_TABLE = re.compile(r"struct\s+selftest_case\s+\w+\s*\[\s*\]\s*=\s*\{(.*?)\}\s*;", re.DOTALL)
_TABLE_ENTRY = re.compile(
    r"\{\s*(?:\.name\s*=\s*)?\"([^\"\\]+)\"\s*,\s*(?:\.\w+\s*=\s*)?&?[A-Za-z_]\w*\s*\}"
)
_MACRO_CASE = re.compile(r"^[ \t]*KTAP_CASE\(\s*([A-Za-z_]\w*)\s*\)", re.MULTILINE)


def _strip_comments(text: str) -> str:
    return _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", text))


class CaseSyntax(enum.Enum):
    """How a suite's sources declare its cases."""

    TABLE = "table"
    """`struct selftest_case` arrays of `{"name", fn}` entries (or `{.name = "n", .run = fn}`)."""
    MACRO = "macro"
    """One `KTAP_CASE(name)` at the start of a line per case."""

    def names(self, source: str) -> list[str]:
        """The case names `source` (C text) declares, in order."""
        text = _strip_comments(source)
        if self is CaseSyntax.MACRO:
            return _MACRO_CASE.findall(text)
        return [name for table in _TABLE.findall(text) for name in _TABLE_ENTRY.findall(table)]


@dataclass(frozen=True)
class KtapSuite:
    """One guest suite: booted with `cmdline`, its cases declared in `sources`.

    `sources` are glob patterns relative to `source_root` (files that do not exist yet are
    simply not read); `bootfs` are files of the guest build (`out/<arch>/<path>`) put in the
    image's BOOTFS under the same path; `machines` replaces the profile's QEMU machine per
    architecture; `end_lines` must all appear on the console of a good run.
    """

    name: str
    sources: tuple[str, ...]
    syntax: CaseSyntax
    cmdline: str
    bootfs: tuple[str, ...] = ()
    machines: Mapping[str, str] = field(default_factory=dict)
    end_lines: tuple[re.Pattern[bytes], ...] = ()
    source_root: Path = GUEST_SOURCE
    program: str | None = None
    """The guest program (`bin/<program>`) a program suite runs; None for other suites."""
    args: ProgramArgs | None = None
    """How pytest options become the program's arguments (None: it takes none)."""
    variants: tuple[str, ...] = ()
    """Machine variants (harness.profiles) a plain pytest run, one without --machine or --smp,
    also boots this suite on, besides `default` (core-tests and stress-tests: `smp4`)."""

    def configured(self, knobs: SuiteKnobs) -> tuple[KtapSuite, float]:
        """This suite as booted with `knobs` (its command line carrying the program arguments
        they ask for) and the extra seconds of boot timeout those arguments need."""
        if self.args is None or self.program is None:
            return self, 0.0
        args, extra = self.args(knobs, len(self.case_names()))
        if not args:
            return self, extra
        return dataclasses.replace(self, cmdline=program_cmdline(self.program, args)), extra

    def source_files(self) -> list[Path]:
        return [path for pattern in self.sources for path in sorted(self.source_root.glob(pattern))]

    def case_names(self) -> list[str]:
        """Every case the sources declare, in source order (files in `sources` order)."""
        return [
            name for path in self.source_files()
            for name in self.syntax.names(path.read_text(errors="replace"))
        ]

    def profile_for(self, profile: Profile) -> Profile:
        machine = self.machines.get(profile.name)
        return profile if machine is None else dataclasses.replace(profile, machine=machine)


@dataclass(frozen=True)
class SuiteKnobs:
    """The pytest options that become guest program arguments (None: not given)."""

    stress_seconds: float | None = None
    stress_case: str | None = None
    stress_parallel: bool = False
    fuzz_calls: int | None = None
    fuzz_seed: int | None = None
    fuzz_threads: int | None = None


ProgramArgs = Callable[[SuiteKnobs, int], tuple[tuple[str, ...], float]]
"""(knobs, number of cases) -> (program arguments, extra seconds of boot timeout)."""


def program_cmdline(program: str, args: tuple[str, ...] = ()) -> str:
    """userboot's command line running `bin/<program>` with `args` and powering off after."""
    return f"userboot.next={'+'.join((f'bin/{program}', *args))} userboot.shutdown"


def program_suite(program: str, args: ProgramArgs | None = None,
                  variants: tuple[str, ...] = ()) -> KtapSuite:
    """The suite of guest program `bin/<program>`, run by userboot, which then powers off; a
    good run ends with userboot's `userboot: bin/<program> exited with return code 0`."""
    return KtapSuite(
        name=program,
        sources=(f"programs/{program}/*.c",),
        syntax=CaseSyntax.MACRO,
        cmdline=program_cmdline(program),
        bootfs=(f"bin/{program}",),
        end_lines=(console.userboot_exit(f"bin/{program}"),),
        program=program,
        args=args,
        variants=variants,
    )


STRESS_TIME_FACTOR = 3.0
"""Boot-timeout seconds allowed per second of stress round (TCG, a loaded 2-core host)."""
STRESS_BASE_EXTRA_S = 60.0
"""Extra boot-timeout seconds of every stress run: its exhaustion cases fill memory, the
handle table or the address space and print nothing until they are done, which on a loaded
host takes longer than one console wait."""
FUZZ_CALLS_PER_S = 250
"""The slowest fuzz rate the boot timeout allows for (calls per second; TCG on an idle host
does about 1,000)."""


STRESS_PARALLEL_SOURCE = GUEST_SOURCE / "programs" / "stress-tests" / "parallel.c"
_EXCLUSIVE_DEFINE = re.compile(r"#define\s+EXCLUSIVE_CASES\b((?:\s|\\\n|\"[^\"\n]*\")*)")


def stress_exclusive_cases(source: Path = STRESS_PARALLEL_SOURCE) -> tuple[str, ...]:
    """The stress-tests cases that parallel mode runs alone, one after the other (they take
    all of the guest's memory): the `EXCLUSIVE_CASES` string of programs/stress-tests/
    parallel.c."""
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise HarnessError(
            f"{source}: cannot read the stress-tests parallel runner: {exc}") from None
    match = _EXCLUSIVE_DEFINE.search(text)
    if match is None:
        raise HarnessError(f"{source}: no #define EXCLUSIVE_CASES \"name,name,...\"")
    joined = "".join(re.findall(r'"([^"\n]*)"', match.group(1)))
    return tuple(name for name in joined.split(",") if name)


def stress_args(knobs: SuiteKnobs, cases: int) -> tuple[tuple[str, ...], float]:
    """`--stress-seconds S` -> `ms=<S*1000>` (each case's round), `--stress-case` -> `case=`,
    `--stress-parallel` -> `parallel=1` (all cases at once, then the exclusive ones alone:
    1 + len(exclusive) rounds instead of one per case)."""
    args: list[str] = []
    extra = STRESS_BASE_EXTRA_S
    if knobs.stress_seconds is not None:
        args.append(f"ms={round(knobs.stress_seconds * 1000)}")
        rounds = 1 + len(stress_exclusive_cases()) if knobs.stress_parallel else cases
        extra += knobs.stress_seconds * rounds * STRESS_TIME_FACTOR
    if knobs.stress_case:
        args.append(f"case={knobs.stress_case}")
    if knobs.stress_parallel:
        args.append("parallel=1")
    return tuple(args), extra


def fuzz_args(knobs: SuiteKnobs, cases: int) -> tuple[tuple[str, ...], float]:
    """`--fuzz-calls N` -> `calls=N`, `--fuzz-seed S` -> `seed=0x<S>`, `--fuzz-threads T` ->
    `threads=T`."""
    args: list[str] = []
    extra = 0.0
    if knobs.fuzz_calls is not None:
        args.append(f"calls={knobs.fuzz_calls}")
        extra = knobs.fuzz_calls / FUZZ_CALLS_PER_S
    if knobs.fuzz_seed is not None:
        args.append(f"seed={knobs.fuzz_seed:#x}")
    if knobs.fuzz_threads is not None:
        args.append(f"threads={knobs.fuzz_threads}")
    return tuple(args), extra


KERNEL_SELFTEST_SOURCES = ("kernel/selftest.c", "kernel/**/selftest_*.c")

KERNEL_SELFTEST = KtapSuite(
    name="kernel-selftest",
    sources=KERNEL_SELFTEST_SOURCES,
    syntax=CaseSyntax.TABLE,
    cmdline="kernel.selftest",
    end_lines=(console.POWERING_OFF,),
)

KERNEL_SELFTEST_VARIANT = dataclasses.replace(
    KERNEL_SELFTEST,
    name="kernel-selftest-variant",
    machines={
        "x86_64": "pc",  # i440fx + PIIX4: another PM timer port, another ACPI block than q35
        "arm64": "virt,gic-version=2",  # the GICv2 driver instead of GICv3
    },
)
"""The self-tests on a second QEMU machine per arch whose interrupt controller or clock
differs from the profile's, so the other driver path runs them too."""

SMP_VARIANT = "smp4"
"""The multiprocessor variant (4 vCPUs, multi-threaded TCG) a plain run also boots core-tests and
stress-tests on: the one way to run on 4 CPUs, by default or with `--machine=smp4`."""

CORE_TESTS = program_suite("core-tests", variants=(SMP_VARIANT,))
STRESS_TESTS = program_suite("stress-tests", stress_args, variants=(SMP_VARIANT,))
"""bin/stress-tests: races and limits, one KTAP case each (programs/stress-tests/)."""
SYSCALL_FUZZ = program_suite("syscall-fuzz", fuzz_args)
"""bin/syscall-fuzz: every syscall with hostile arguments, from child processes; one KTAP
case (programs/syscall-fuzz/)."""

SUITES: dict[str, KtapSuite] = {
    suite.name: suite
    for suite in (KERNEL_SELFTEST, KERNEL_SELFTEST_VARIANT, CORE_TESTS, STRESS_TESTS,
                  SYSCALL_FUZZ)
}


@dataclass(frozen=True)
class SuiteRun:
    """One boot of a suite on one architecture (or why there was none)."""

    suite: str
    arch: str
    expected: tuple[str, ...]
    end_lines: tuple[re.Pattern[bytes], ...] = ()
    outcome: Outcome | None = None
    report: KtapReport | None = None
    error: str | None = None
    """The build, the image or the launch failed: the guest never ran."""
    backtrace: tuple[str, ...] = ()
    """The kernel's panic backtrace, symbolized (harness.symbolize), if it panicked."""
    user_faults: tuple[str, ...] = ()
    """Every user fault the kernel reported, symbolized (harness.symbolize)."""

    def _story(self) -> list[str]:
        """The harness's side: outcome, kernel backtrace, console log path."""
        if self.outcome is None:
            return [f"the guest did not run: {self.error}"]
        trace = ["kernel backtrace:", *(f"  {line}" for line in self.backtrace)]
        faults = ["user faults:", *(f"  {line}" for line in self.user_faults)]
        return [f"boot outcome {self.outcome.status.name}: {self.outcome.reason}",
                *(trace if self.backtrace else []), *(faults if self.user_faults else []),
                f"console log: {self.outcome.log_path}"]

    def _timeout(self) -> list[str]:
        """The first line of every failure of a run its time limit cut short: the limit."""
        if self.outcome is None or self.outcome.status is not Status.TIMEOUT:
            return []
        return [f"TIMEOUT: {self.outcome.reason}"]

    def case_failure(self, name: str) -> str | None:
        """Why case `name` did not pass, with its console excerpt; None when it passed.

        When the run timed out, the first line says so and names the limit that fired."""
        if self.report is None:
            return "\n".join(self._story())
        case = self.report.case(name)
        if case is None:
            reported = ", ".join(c.name for c in self.report.reported) or "none"
            return "\n".join([*self._timeout(),
                              f"case {name} never reported (the guest reported: {reported})",
                              *self._story()])
        if case.status in (CaseStatus.PASS, CaseStatus.SKIP):
            return None
        block = [] if self.report.version_seen else self.report.problems()
        return "\n".join([*self._timeout(), case.describe(), *block, "console excerpt:",
                          *(f"  | {line}" for line in case.excerpt), *self._story()])

    def case(self, name: str) -> KtapCase | None:
        return None if self.report is None else self.report.case(name)

    def summary_problems(self) -> list[str]:
        """How the reported cases differ from the source's (structure and names)."""
        if self.report is None:
            return self._story()
        problems = self.report.problems() + self.report.name_mismatch(self.expected)
        return self._timeout() + problems + self._story() if problems else []

    def shutdown_problems(self) -> list[str]:
        """What keeps this run from being a clean guest shutdown with every end line."""
        if self.outcome is None:
            return self._story()
        outcome = self.outcome
        problems = []
        if outcome.status is not Status.PASS:
            problems.append(f"{outcome.status.name}: {outcome.reason}")
        if not outcome.powered_off:
            problems.append("no guest-initiated QMP SHUTDOWN (guest-shutdown)")
        report = console.parse_console(outcome.transcript)
        if report.panic is not None or "GUEST_PANICKED" in outcome.event_names:
            problems.append(f"the guest panicked: {report.panic or 'QMP GUEST_PANICKED'}")
        if report.userboot_error is not None:
            problems.append(f"userboot: error: {report.userboot_error}")
        problems += [f"missing console line {line.pattern!r}" for line in self.end_lines
                     if line.search(outcome.transcript) is None]
        if not problems:
            return []
        return [*problems, *self._story(), *(f"  | {line}" for line in outcome.console_tail())]


def missing_bootfs_files(suite: KtapSuite, outputs: GuestOutputs) -> list[Path]:
    out_dir = outputs.kernel.parent
    return [out_dir / name for name in suite.bootfs if not (out_dir / name).is_file()]


def suite_image(
    suite: KtapSuite, profile: Profile, outputs: GuestOutputs, work_dir: Path
) -> BootImage:
    """Write the image booting `suite` (its command line, its BOOTFS) to `work_dir`.

    Raises ImageError when a BOOTFS file is missing or cannot be packed.
    """
    out_dir = outputs.kernel.parent
    missing = missing_bootfs_files(suite, outputs)
    if missing:
        raise ImageError(
            profile.name,
            f"{suite.name} needs {', '.join(map(str, missing))}, which the guest build did not "
            "make",
        )
    try:
        bootfs = (
            build_bootfs({name: (out_dir / name).read_bytes() for name in suite.bootfs})
            if suite.bootfs else None
        )
    except BootfsError as exc:
        raise ImageError(profile.name, f"{suite.name}: BOOTFS: {exc}") from exc
    return build_image(profile.name, work_dir, suite.cmdline, bootfs, name=suite.name,
                       outputs=outputs)


def run_suite(
    suite: KtapSuite,
    profile: Profile,
    outputs: GuestOutputs,
    *,
    accel: Accel,
    timeout: float,
    work_dir: Path,
    cpus: int | None = None,
    wall_factor: float = WALL_FACTOR,
    deterministic: bool = False,
) -> SuiteRun:
    """Boot `suite` once under `profile` and read its KTAP; never raises a HarnessError.

    With more than one vCPU (`cpus`, else the profile's), a good run must also have brought
    every CPU online."""
    expected = tuple(suite.case_names())
    ncpus = profile.smp if cpus is None else cpus
    if ncpus > 1:
        suite = dataclasses.replace(suite, end_lines=(*suite.end_lines,
                                                      console.cpus_online(ncpus)))
    try:
        image = suite_image(suite, profile, outputs, work_dir)
        outcome = boot(suite.profile_for(profile), image, accel=accel, timeout=timeout,
                       log_dir=work_dir / "machine", cpus=cpus, wall_factor=wall_factor,
                       deterministic=deterministic)
    except (HarnessError, OSError) as exc:
        return SuiteRun(suite.name, profile.label, expected, suite.end_lines, error=str(exc))
    return SuiteRun(suite.name, profile.label, expected, suite.end_lines, outcome=outcome,
                    report=parse_ktap(outcome.transcript, expected),
                    backtrace=tuple(kernel_backtrace(outcome.transcript, profile, outputs)),
                    user_faults=tuple(user_faults(outcome.transcript, outputs)))
