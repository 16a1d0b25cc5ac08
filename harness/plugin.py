"""The pytest plugin: options, per-architecture parametrization and boot fixtures.

Registered by `tests/conftest.py` (`pytest_plugins = ["harness.plugin"]`). Options::

    --arch=x86_64|arm64|all   names or aliases, comma separated (default: all)
    --machine=default|all|V,W emulated-hardware variants (harness.profiles.Variant) per arch;
                              ids of tests on a variant other than default name it (x86_64-pc)
    --accel=auto|tcg|kvm      auto: KVM only if usable and faster to start (see harness.accel)
    --boot-timeout=SECONDS    every console wait and every wait for power-off (default 30):
                              S seconds of QEMU CPU time and of wall time, or F x S of wall
                              time, whichever comes first (harness.machine.TimeLimit)
    --smp=N                   vCPUs of every guest (default: the --machine variant's, 1
                              unless it names more; more runs multi-threaded TCG)
    --wall-factor=F           that F (default 4): a starved QEMU is not a hang
    --deterministic           -icount and a virtual-clock RTC (TCG only)
    --keep-artifacts          keep images and logs of passing tests too
    --stress-seconds=S        each bin/stress-tests case runs S seconds (default: its own
                              short round, 100 ms); the boot timeout grows to match
    --stress-case=A,B         run only these stress-tests cases (the others are skipped)
    --stress-parallel         run the stress-tests cases at the same time, each repeated for
                              its round in a process of its own (the memory-exhausting ones
                              alone, after): one boot gives every case --stress-seconds
    --fuzz-calls=N            bin/syscall-fuzz makes N calls (default: its short pass)
    --fuzz-seed=S             bin/syscall-fuzz's seed (decimal or 0x hex; default: random,
                              printed as `syscall-fuzz: seed=0x...`)
    --fuzz-threads=T          fuzzing threads per bin/syscall-fuzz child, 1-8 (default 1)

Every test that uses the `arch` fixture, directly or through the fixtures below, runs once per
selected architecture with the architecture as its id (`test_banner[arm64]`), unless it
parametrizes `arch` itself. A test of a KTAP suite that names `variants` (core-tests and
stress-tests: `smp4`) also runs on those variants in a plain run, one without --machine or
--smp (`test_core_tests[x86_64-smp4-handle_close]`): 4 CPUs have one spelling, the `smp4`
variant, whether a plain run adds it or `--machine=smp4` asks for it.
Tests that use none of them (the unit tests) never build a guest
or start QEMU.

Fixtures (function scope unless noted)::

    arch            canonical architecture name (parametrized)
    profile         its harness.profiles.Profile
    boot_timeout    --boot-timeout (session)
    guest_build     the guest build outputs; make runs at most once per session per arch, and
                    under a file lock, so pytest-xdist workers never build concurrently
    accel           the Accel to boot with; `auto` is decided once per arch (harness.accel)
    artifacts       this test's directory (under tmp_path) for images and logs
    make_image      factory: make_image(cmdline="", bootfs=None, extra_items=(), *,
                    corrupt_item=None) -> BootImage
    launch          factory: launch(image, append="", cpus=None) -> a running Machine, closed
                    at teardown (cpus None: --smp)
    booted_machine  a running Machine booting the default image (no command line)
    fuchsia_test    factory: fuchsia_test(path) -> Outcome: boots the ZBI file at `path` (as
                    `python -m harness image` writes it for the arch) as a Fuchsia ZBI test
                    (harness.fuchsia): PASS only for the success string, then a guest reset
    suite_run       the SuiteRun of the test's `ktap_suite` marker on this arch (see below)
    ktap_case       one KTAP case of that suite on this arch (parametrized): `.check()` passes,
                    fails with the case's console excerpt, or skips

KTAP suites (`harness.suites`): a test marked `@pytest.mark.ktap_suite(SUITE)` that uses
`ktap_case` runs once per (arch, case), with ids like `test_kernel_selftest[x86_64-preemption]`;
the case names are read from the suite's C sources at collection time. One that uses
`suite_run` runs once per arch. Either way the suite boots once per (suite, arch) per pytest
run: the run is memoized per process and, for pytest-xdist, in an on-disk cache the controller
creates (a temp dir handed to every worker) where the first worker to need a run boots it under
a file lock while the others wait and then read its pickled result. No `--dist` mode is needed.
A suite run's image and logs stay in pytest's own temp directory (`<suite>-<arch>N` under the
base temp of the worker that booted it; pytest keeps the last three runs), and every failure
message names its console log.

Caches: nothing a test sees depends on an earlier run. The controller makes one temp directory
per run (handed to the xdist workers, removed at the end) holding the suite results and the
accelerator decisions; `$ZHB_ACCEL_CACHE` points at the latter while the run lasts, so tools
the tests run (`zhb boot`, `zhb accel`) decide in it as well, not in a per-user cache.

SIGTERM: while pytest runs, SIGTERM raises KeyboardInterrupt (as SIGINT does), so pytest stops
cleanly and every Machine is shut down and its QEMU process group reaped (QEMU runs in a session
of its own, out of reach of signals sent to ours) when CI terminates a run.

Everything per test (image files, logs, QEMU's sockets in a private mkdtemp directory) is
unique to that test, so `pytest -n auto` boots in parallel safely. A failing test keeps its
artifacts directory; its error message names the console log in it.
"""

from __future__ import annotations

import itertools
import json
import os
import pickle
import shlex
import shutil
import tempfile
import threading
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from harness.accel import CACHE_ENV, CHOICES, AccelDecision, choose_accel
from harness.cli import sigterm_interrupts
from harness.errors import HarnessError, ProfileError, VariantError
from harness.fuchsia import boot_fuchsia_test
from harness.image import (
    BUILD_LOCK_TIMEOUT_S,
    BootImage,
    GuestOutputs,
    build_guest,
    build_image,
    image_from_file,
)
from harness.ktap import CaseStatus
from harness.leash import LEASH
from harness.lockfile import locked
from harness.machine import (
    DEFAULT_TIMEOUT_S,
    FAILURE_GRACE_S,
    MAX_CPUS,
    WALL_FACTOR,
    Machine,
)
from harness.outcome import Outcome
from harness.profiles import (
    Accel,
    Profile,
    check_variant_names,
    get_profile,
    select_profiles,
    select_variants,
)
from harness.suites import KtapSuite, SuiteKnobs, SuiteRun, run_suite
from zbi_tools import ZbiItem

T = TypeVar("T")
DEFAULT_MEMORY_BYTES = 256 << 20
"""The RAM the suites' extra boot time (harness.suites) is sized for."""


@dataclass
class HarnessSession:
    """Options and per-session memos (guest builds, accelerator decisions) of one pytest run.

    A failure is memoized like a result, so the first test reports it and the others fail
    fast with the same error instead of running make again.
    """

    profiles: tuple[Profile, ...]
    accel: str
    boot_timeout: float
    keep_artifacts: bool
    cache_dir: Path
    suite_dir: Path | None = None
    """The on-disk cache of suite runs shared with the other pytest-xdist workers (None: this
    process keeps them in memory only)."""
    knobs: SuiteKnobs = field(default_factory=SuiteKnobs)
    """Program arguments of the suites that take them (--stress-seconds, --fuzz-calls...)."""
    cpus: int | None = None
    """--smp: the vCPUs of every guest whose suite does not name its own count (None: the
    variant's)."""
    wall_factor: float = WALL_FACTOR
    """--wall-factor: a wait of S seconds gives up after this many times S of wall time even
    when QEMU used less than S seconds of CPU (harness.machine.TimeLimit)."""
    deterministic: bool = False
    """--deterministic: -icount and a virtual-clock RTC (harness.machine.DETERMINISTIC_ARGS)."""
    machine: str = "default"
    """--machine: the emulated-hardware variants to run (harness.profiles.Variant)."""
    _suite_runs: dict[str, SuiteRun] = field(default_factory=dict, init=False)
    _builds: dict[str, GuestOutputs | HarnessError] = field(default_factory=dict, init=False)
    _decisions: dict[str, AccelDecision | HarnessError] = field(
        default_factory=dict, init=False
    )
    _kvm_trials: dict[str, AccelDecision | HarnessError] = field(
        default_factory=dict, init=False
    )

    @property
    def targets(self) -> dict[str, Profile]:
        """Every (architecture, variant) the run covers, by label (`x86_64`, `arm64-gicv2`)."""
        return {v.label: v for p in self.profiles for v in select_variants(p, self.machine)}

    def suite_targets(self, suite: KtapSuite | None) -> dict[str, Profile]:
        """The targets of a test of `suite` (None: no suite): `targets`, plus, in a plain run
        (--machine default, no --smp), the suite's own `variants` per architecture."""
        targets = dict(self.targets)
        if suite is not None and self.machine == "default" and self.cpus is None:
            for p in self.profiles:
                for name in suite.variants:
                    v = p.with_variant(name)
                    targets[v.label] = v
        return targets

    def target(self, label: str) -> Profile | None:
        """The target labelled `label`: one of `targets` or a suite's variant; None if the
        label names no variant of a selected architecture (a test's own parametrization)."""
        for p in self.profiles:
            for v in p.variants:
                profile = p.with_variant(v)
                if profile.label == label:
                    return profile
        return None

    def build(self, profile: Profile) -> GuestOutputs:
        return _memoized(self._builds, profile.name, lambda: build_guest(profile.name))

    def decide_accel(self, profile: Profile) -> AccelDecision:
        return _memoized(
            self._decisions, profile.name,
            lambda: choose_accel(profile, self.accel, self.cache_dir),
        )

    def kvm_unavailable(self, profile: Profile) -> str | None:
        """Why KVM cannot run `profile`'s guests here (unusable, or its trial boot failed),
        whatever --accel says; None when it can (it ran the trial boot)."""
        decision = _memoized(self._kvm_trials, profile.name,
                             lambda: choose_accel(profile, "auto", self.cache_dir))
        return None if decision.accel is Accel.KVM or decision.kvm_s is not None \
            else decision.reason

    def suite_run(
        self, suite: KtapSuite, profile: Profile, work_dir: Callable[[], Path]
    ) -> SuiteRun:
        """The run of `suite` on `profile`: booted once per pytest run (see the docstring)."""
        key = f"{suite.name}-{profile.label}"
        if key not in self._suite_runs:
            if self.suite_dir is None:
                self._suite_runs[key] = self._run_suite(suite, profile, work_dir())
            else:
                cached = self.suite_dir / f"{key}.pickle"
                wait = BUILD_LOCK_TIMEOUT_S + 2 * (self.boot_timeout + FAILURE_GRACE_S)
                with locked(self.suite_dir / f"{key}.lock", wait):
                    if cached.is_file():
                        self._suite_runs[key] = pickle.loads(cached.read_bytes())
                    else:
                        run = self._run_suite(suite, profile, work_dir())
                        cached.write_bytes(pickle.dumps(run))
                        self._suite_runs[key] = run
        return self._suite_runs[key]

    def _run_suite(self, suite: KtapSuite, profile: Profile, work_dir: Path) -> SuiteRun:
        suite, extra_timeout = suite.configured(self.knobs)
        # Programs that fill memory (stress-tests) take as much longer as there is more RAM.
        extra_timeout *= max(1.0, profile.memory_bytes / DEFAULT_MEMORY_BYTES)
        try:
            outputs = self.build(profile)
            accel = self.decide_accel(profile).accel
        except HarnessError as exc:
            return SuiteRun(suite.name, profile.label, tuple(suite.case_names()),
                            suite.end_lines, error=str(exc))
        if profile.get_variant(profile.variant).kvm:
            accel = Accel.KVM
        return run_suite(suite, profile, outputs, accel=accel,
                         timeout=self.boot_timeout + extra_timeout, work_dir=work_dir,
                         cpus=self.cpus,
                         wall_factor=self.wall_factor, deterministic=self.deterministic)


def _memoized(memo: dict[str, T | HarnessError], key: str, compute: Callable[[], T]) -> T:
    """`memo[key]`, computed once; a HarnessError is remembered and raised again."""
    if key not in memo:
        try:
            memo[key] = compute()
        except HarnessError as exc:
            memo[key] = exc
    result = memo[key]
    if isinstance(result, HarnessError):
        raise result
    return result


_SESSION = pytest.StashKey[HarnessSession]()
_PASSED = pytest.StashKey[bool]()
_SIGNALS = pytest.StashKey[ExitStack]()
_SUITE_DIR_KEY = "zhb_suite_dir"
"""The `workerinput` key under which the controller hands its suite cache to xdist workers."""
_ACCEL_ENV = pytest.StashKey[str | None]()
"""The value $ZHB_ACCEL_CACHE had before this run pointed it at the run's own directory."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("zhb", "zhb QEMU boot harness")
    group.addoption(
        "--arch", default="all",
        help="guest architectures to boot: x86_64, arm64 (aliases x64, aarch64), "
             "comma separated, or all (default: all)",
    )
    group.addoption(
        "--accel", default="auto", choices=CHOICES,
        help="QEMU accelerator: tcg, kvm, or auto = KVM only when usable and faster to start "
             "than TCG (measured once per run) (default: auto)",
    )
    group.addoption(
        "--boot-timeout", type=float, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
        help=f"timeout of each console wait and of each wait for power-off "
             f"(default: {DEFAULT_TIMEOUT_S:g})",
    )
    group.addoption(
        "--smp", type=int, default=None, metavar="N",
        help=f"vCPUs of every guest, 1 to {MAX_CPUS} (default: the --machine variant's, 1 "
             "unless it names more; more than 1 runs multi-threaded TCG); suites with their own "
             "count keep it",
    )
    group.addoption(
        "--machine", default="default", metavar="VARIANTS",
        help="emulated-hardware variants per architecture (harness.profiles): default (the "
             "fast configuration), all, or names, comma separated (e.g. pc,gicv2,smp4); every "
             "variant but default appears in the test id (x86_64-pc)",
    )
    group.addoption(
        "--zhb-results", default=None, metavar="FILE",
        help="append one JSON line per test phase (node id, outcome, duration, failure text, "
             "properties such as the QEMU command line and QMP events) to FILE (used by "
             "`python -m harness nightly`)",
    )
    group.addoption(
        "--wall-factor", type=float, default=WALL_FACTOR, metavar="F",
        help="a wait of S seconds ends once QEMU used S seconds of CPU (and S of wall time) or "
             f"after F x S seconds of wall time, whichever comes first (default: {WALL_FACTOR:g})",
    )
    group.addoption(
        "--deterministic", action="store_true",
        help="run guests with -icount and a virtual-clock RTC (TCG only; --accel=auto then "
             "means tcg)",
    )
    group.addoption(
        "--keep-artifacts", action="store_true",
        help="keep boot images and logs of passing tests too (failing tests always keep them)",
    )
    group.addoption(
        "--stress-seconds", type=float, default=None, metavar="SECONDS",
        help="run each bin/stress-tests case for SECONDS (default: a short round of 100 ms); "
             "the suite's boot timeout grows by SECONDS x cases x 3",
    )
    group.addoption(
        "--stress-case", default=None, metavar="NAMES",
        help="run only these bin/stress-tests cases (comma separated); the others skip",
    )
    group.addoption(
        "--stress-parallel", action="store_true",
        help="run the bin/stress-tests cases at the same time, each repeated for its round "
             "(--stress-seconds) in a process of its own; the cases that exhaust memory run "
             "alone afterwards",
    )
    group.addoption(
        "--fuzz-calls", type=int, default=None, metavar="N",
        help="bin/syscall-fuzz makes N syscalls (default: its short pass)",
    )
    group.addoption(
        "--fuzz-seed", type=lambda text: int(text, 0), default=None, metavar="SEED",
        help="bin/syscall-fuzz's seed, decimal or 0x hex (default: random; the run prints it)",
    )
    group.addoption(
        "--fuzz-threads", type=int, default=None, metavar="T",
        help="fuzzing threads per bin/syscall-fuzz child, 1-8, racing on shared objects "
             "(default: 1, fully reproducible from the seed)",
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        profiles = select_profiles(config.getoption("--arch"))
    except ProfileError as exc:
        raise pytest.UsageError(f"--arch: {exc}") from None
    machine = config.getoption("--machine")
    try:
        check_variant_names(profiles, machine)
        if not any(select_variants(p, machine) for p in profiles):
            raise VariantError(machine, ",".join(p.name for p in profiles), ["default", "all"])
    except VariantError as exc:
        raise pytest.UsageError(f"--machine: {exc}") from None
    timeout = config.getoption("--boot-timeout")
    if not timeout > 0:
        raise pytest.UsageError(f"--boot-timeout must be positive, not {timeout}")
    cpus = config.getoption("--smp")
    if cpus is not None and not 1 <= cpus <= MAX_CPUS:
        raise pytest.UsageError(f"--smp must be 1 to {MAX_CPUS}, not {cpus}")
    wall_factor = config.getoption("--wall-factor")
    if not wall_factor >= 1:
        raise pytest.UsageError(f"--wall-factor must be at least 1, not {wall_factor}")
    deterministic = config.getoption("--deterministic")
    accel = config.getoption("--accel")
    if deterministic and accel == "kvm":
        raise pytest.UsageError("--deterministic needs TCG (-icount), not --accel=kvm")
    worker_input = getattr(config, "workerinput", None)
    if worker_input is not None:
        suite_dir = Path(worker_input[_SUITE_DIR_KEY])
    else:
        suite_dir = Path(tempfile.mkdtemp(prefix="zhb-suites-"))
        LEASH.hold([suite_dir])  # removed even if pytest is killed
    # Accelerator decisions are per run too, never a per-user cache from earlier runs: the
    # run's own directory, also for the tools the tests run (harness.accel.default_cache_dir).
    cache_dir = suite_dir / "accel"
    cache_dir.mkdir(exist_ok=True)
    config.stash[_ACCEL_ENV] = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(cache_dir)
    stress_seconds = config.getoption("--stress-seconds")
    fuzz_calls = config.getoption("--fuzz-calls")
    if stress_seconds is not None and not stress_seconds > 0:
        raise pytest.UsageError(f"--stress-seconds must be positive, not {stress_seconds}")
    if fuzz_calls is not None and fuzz_calls < 1:
        raise pytest.UsageError(f"--fuzz-calls must be at least 1, not {fuzz_calls}")
    fuzz_threads = config.getoption("--fuzz-threads")
    if fuzz_threads is not None and not 1 <= fuzz_threads <= 8:
        raise pytest.UsageError(f"--fuzz-threads must be 1 to 8, not {fuzz_threads}")
    knobs = SuiteKnobs(
        stress_seconds=stress_seconds,
        stress_case=config.getoption("--stress-case"),
        stress_parallel=config.getoption("--stress-parallel"),
        fuzz_calls=fuzz_calls,
        fuzz_seed=config.getoption("--fuzz-seed"),
        fuzz_threads=fuzz_threads,
    )
    config.stash[_SESSION] = HarnessSession(
        knobs=knobs,
        profiles=profiles,
        accel="tcg" if deterministic else accel,
        boot_timeout=timeout,
        wall_factor=wall_factor,
        deterministic=deterministic,
        machine=machine,
        keep_artifacts=config.getoption("--keep-artifacts"),
        cache_dir=cache_dir,
        cpus=cpus,
        suite_dir=suite_dir,
    )
    config.addinivalue_line(
        "markers",
        "ktap_suite(suite): the harness.suites.KtapSuite whose run the suite_run and ktap_case "
        "fixtures give (ktap_case parametrizes the test with the suite's case names)",
    )
    results = config.getoption("--zhb-results")
    if results is not None and worker_input is None:
        _RESULTS_PATH["path"] = str(Path(results).resolve())
    signals = config.stash[_SIGNALS] = ExitStack()
    if threading.current_thread() is threading.main_thread():
        signals.enter_context(sigterm_interrupts())


def pytest_unconfigure(config: pytest.Config) -> None:
    if getattr(config, "workerinput", None) is None:
        _RESULTS_PATH.pop("path", None)
    if _SIGNALS in config.stash:
        config.stash[_SIGNALS].close()
    if _ACCEL_ENV in config.stash:
        previous = config.stash[_ACCEL_ENV]
        if previous is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = previous
    session = config.stash.get(_SESSION, None)
    if session is not None and getattr(config, "workerinput", None) is None:
        assert session.suite_dir is not None
        shutil.rmtree(session.suite_dir, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """pytest-xdist (controller): hand each worker the suite cache directory."""
    config: pytest.Config = node.config  # type: ignore[attr-defined]
    suite_dir = config.stash[_SESSION].suite_dir
    node.workerinput[_SUITE_DIR_KEY] = str(suite_dir)  # type: ignore[attr-defined]


def pytest_report_header(config: pytest.Config) -> str:
    session = config.stash[_SESSION]
    arches = ",".join(p.name for p in session.profiles)
    return (
        f"zhb: arch={arches} accel={session.accel} boot-timeout={session.boot_timeout:g}s"
        f"{' keep-artifacts' if session.keep_artifacts else ''}"
        f"{' deterministic' if session.deterministic else ''}"
        f"{f' machine={session.machine}' if session.machine != 'default' else ''}"
    )


def _parametrizes_arch_itself(metafunc: pytest.Metafunc) -> bool:
    """True when the test has its own `@pytest.mark.parametrize("arch", ...)`."""
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", ())
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",")]
        if "arch" in names:
            return True
    return False


def _ktap_suite(node: pytest.Item) -> KtapSuite:
    mark = node.get_closest_marker("ktap_suite")
    if mark is None or not mark.args or not isinstance(mark.args[0], KtapSuite):
        raise pytest.UsageError(
            f"{node.nodeid}: suite_run / ktap_case need @pytest.mark.ktap_suite(KtapSuite)"
        )
    return mark.args[0]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "arch" in metafunc.fixturenames and not _parametrizes_arch_itself(metafunc):
        targets = []
        marked = metafunc.definition.get_closest_marker("ktap_suite") is not None
        suite = _ktap_suite(metafunc.definition) if marked else None
        for label, target in metafunc.config.stash[_SESSION].suite_targets(suite).items():
            skip = target.get_variant(target.variant).skip
            marks = [pytest.mark.skip(reason=f"{label}: {skip}")] if skip else []
            targets.append(pytest.param(label, id=label, marks=marks))
        metafunc.parametrize("arch", targets, indirect=True)
    if "ktap_case" in metafunc.fixturenames:
        suite = _ktap_suite(metafunc.definition)
        cases = suite.case_names()
        no_cases = pytest.mark.skip(
            reason=f"{suite.name}: no KTAP case declared in {', '.join(suite.sources)}")
        params: list[object] = list(cases) or [pytest.param("", id="no-cases", marks=no_cases)]
        metafunc.parametrize("ktap_case", params, ids=cases or None, indirect=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember whether the test body passed, for the `artifacts` fixture's teardown."""
    report = yield
    if report.when == "call":
        item.stash[_PASSED] = report.passed
    return report


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """--zhb-results: one JSON line per phase that failed or was skipped, and per call phase
    (in the xdist controller, which sees every worker's reports)."""
    path = _RESULTS_PATH.get("path")
    if path is None or (report.when != "call" and report.outcome == "passed"):
        return
    longrepr = "" if report.longrepr is None else str(report.longrepr)
    if report.skipped and isinstance(report.longrepr, tuple):
        longrepr = str(report.longrepr[2])
    record = {
        "nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
        "duration": report.duration, "longrepr": longrepr,
        "properties": [[str(k), str(v)] for k, v in report.user_properties],
    }
    with open(path, "a", encoding="utf-8") as results:
        results.write(json.dumps(record) + "\n")


_RESULTS_PATH: dict[str, str] = {}


def record_outcome(node: pytest.Item, outcome: Outcome | None, what: str = "") -> None:
    """Attach a run's QEMU command line, QMP events and console log to the test's report
    (JUnit properties in the nightly report)."""
    if outcome is None:
        return
    prefix = f"{what}." if what else ""
    node.user_properties += [
        (f"{prefix}qemu_command", shlex.join(outcome.command)),
        (f"{prefix}qmp_events", " ".join(e.describe() for e in outcome.events)),
        (f"{prefix}console_log", str(outcome.log_path)),
        (f"{prefix}elapsed_s", f"{outcome.elapsed:.3f}"),
        (f"{prefix}status", outcome.status.name),
    ]


@pytest.fixture(scope="session")
def harness_session(pytestconfig: pytest.Config) -> HarnessSession:
    return pytestconfig.stash[_SESSION]


_TARGET = pytest.StashKey[Profile]()


@pytest.fixture
def arch(request: pytest.FixtureRequest, harness_session: HarnessSession) -> str:
    """The architecture under test (parametrized from --arch and --machine: the parameter is
    the target's label, e.g. `x86_64-pc`; the fixture's value the architecture's name)."""
    label = str(request.param)
    target = harness_session.target(label)
    if target is None:  # a test's own parametrization: the default variant of that arch
        return label
    request.node.stash[_TARGET] = target
    request.node.user_properties.append(("target", label))
    return target.name


@pytest.fixture
def profile(request: pytest.FixtureRequest, arch: str) -> Profile:
    """The architecture's profile, as the test's machine variant runs it."""
    return request.node.stash.get(_TARGET, None) or get_profile(arch)


@pytest.fixture(scope="session")
def boot_timeout(harness_session: HarnessSession) -> float:
    return harness_session.boot_timeout


@pytest.fixture
def guest_build(harness_session: HarnessSession, profile: Profile) -> GuestOutputs:
    return harness_session.build(profile)


@pytest.fixture
def accel(harness_session: HarnessSession, profile: Profile, guest_build: GuestOutputs) -> Accel:
    """The accelerator: --accel's, or KVM for a KVM variant (skipped where KVM cannot run)."""
    if profile.get_variant(profile.variant).kvm:
        why_not = harness_session.kvm_unavailable(profile)
        if why_not is not None:
            pytest.skip(f"{profile.label}: KVM cannot run it here: {why_not}")
        return Accel.KVM
    return harness_session.decide_accel(profile).accel


@pytest.fixture
def artifacts(
    request: pytest.FixtureRequest, tmp_path: Path, harness_session: HarnessSession
) -> Iterator[Path]:
    """This test's directory for images and logs; removed after a pass unless kept."""
    yield tmp_path
    if request.node.stash.get(_PASSED, False) and not harness_session.keep_artifacts:
        shutil.rmtree(tmp_path, ignore_errors=True)


@pytest.fixture
def make_image(
    profile: Profile, artifacts: Path, guest_build: GuestOutputs
) -> Callable[..., BootImage]:
    names = (f"image{n}" for n in itertools.count())

    def make(
        cmdline: str = "",
        bootfs: bytes | None = None,
        extra_items: Iterable[ZbiItem] = (),
        *,
        corrupt_item: int | None = None,
    ) -> BootImage:
        return build_image(
            profile.name, artifacts, cmdline, bootfs, extra_items,
            corrupt_item=corrupt_item, name=next(names), outputs=guest_build,
        )

    return make


@pytest.fixture
def launch(
    profile: Profile, accel: Accel, boot_timeout: float, artifacts: Path,
    harness_session: HarnessSession,
) -> Iterator[Callable[..., Machine]]:
    log_dirs = (artifacts / f"machine{n}" for n in itertools.count())
    with ExitStack() as machines:

        def start(image: BootImage, append: str = "", cpus: int | None = None) -> Machine:
            machine = Machine(
                profile, image, accel=accel, append=append, timeout=boot_timeout,
                log_dir=next(log_dirs), wall_factor=harness_session.wall_factor,
                deterministic=harness_session.deterministic,
                cpus=cpus if cpus is not None else harness_session.cpus,
            )
            return machines.enter_context(machine)

        yield start


@pytest.fixture
def suite_run(
    request: pytest.FixtureRequest,
    harness_session: HarnessSession,
    profile: Profile,
    tmp_path_factory: pytest.TempPathFactory,
) -> SuiteRun:
    """The run of the test's `ktap_suite` on this arch (one boot per suite and arch)."""
    suite = _ktap_suite(request.node)
    if profile.get_variant(profile.variant).kvm:
        request.getfixturevalue("accel")  # skips the KVM variant where KVM cannot run it
    run = harness_session.suite_run(
        suite, profile, lambda: tmp_path_factory.mktemp(f"{suite.name}-{profile.label}")
    )
    request.node.user_properties.append(("suite", suite.name))
    record_outcome(request.node, run.outcome)
    return run


@dataclass(frozen=True)
class KtapCaseRun:
    """One case of a suite run, as the `ktap_case` fixture gives it."""

    name: str
    run: SuiteRun

    def check(self) -> None:
        """Pass, skip (a `# SKIP` case) or fail with the case's console excerpt."""
        case = self.run.case(self.name)
        if case is not None and case.status is CaseStatus.SKIP:
            pytest.skip(f"{self.name}: {case.skip_reason or 'skipped by the guest'}")
        failure = self.run.case_failure(self.name)
        if failure is not None:
            pytest.fail(f"{self.run.suite} on {self.run.arch}: {failure}", pytrace=False)


def require_no_problems(problems: list[str]) -> None:
    """Fail the test (without a Python traceback) listing `problems`, if there are any."""
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def ktap_case(request: pytest.FixtureRequest, suite_run: SuiteRun) -> KtapCaseRun:
    """One KTAP case (by name, parametrized from the suite's sources) of this arch's run."""
    return KtapCaseRun(str(request.param), suite_run)


@pytest.fixture
def booted_machine(
    make_image: Callable[..., BootImage], launch: Callable[..., Machine]
) -> Machine:
    return launch(make_image())


@pytest.fixture
def fuchsia_test(
    profile: Profile, accel: Accel, boot_timeout: float, artifacts: Path,
    guest_build: GuestOutputs, harness_session: HarnessSession,
) -> Callable[[Path], Outcome]:
    """Boot a Fuchsia-built ZBI test file on this arch; its Outcome says PASS or why not."""
    log_dirs = (artifacts / f"fuchsia{n}" for n in itertools.count())

    def run(path: Path) -> Outcome:
        image = image_from_file(profile.name, path, guest_build)
        return boot_fuchsia_test(
            profile, image, accel=accel, timeout=boot_timeout, log_dir=next(log_dirs),
            wall_factor=harness_session.wall_factor,
            deterministic=harness_session.deterministic,
        )

    return run
