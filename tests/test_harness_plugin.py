"""The pytest plugin in pytester sandboxes: options, per-arch and per-KTAP-case
parametrization, the suite-run cache shared by workers, and SIGTERM handling (a subprocess
pytest running the fake QEMU of conftest.py). Nothing is built or booted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import process_gone

from harness import plugin
from harness.errors import BuildError
from harness.image import GuestOutputs
from harness.profiles import ARM64, X86_64, Accel, Profile
from harness.suites import KERNEL_SELFTEST, KERNEL_SELFTEST_VARIANT, KtapSuite, SuiteRun

CONFTEST = 'pytest_plugins = ["harness.plugin"]\n'
TESTS = """
def test_uses_arch(arch):
    assert arch in ("x86_64", "arm64")

def test_uses_profile(profile):
    assert profile.name

def test_unit():
    pass

import pytest

@pytest.mark.parametrize("arch", ["riscv64"])
def test_own_arch(arch):
    assert arch == "riscv64"
"""


@pytest.fixture
def sandbox(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_sample=TESTS)
    return pytester


def collected(sandbox: pytest.Pytester, *args: str) -> list[str]:
    result = sandbox.runpytest("--collect-only", "-q", *args)
    assert result.ret == 0, result.stdout.str()
    return [line for line in result.stdout.lines if "::" in line]


def test_default_is_every_arch(sandbox: pytest.Pytester) -> None:
    assert collected(sandbox) == [
        "test_sample.py::test_uses_arch[x86_64]",
        "test_sample.py::test_uses_arch[arm64]",
        "test_sample.py::test_uses_profile[x86_64]",
        "test_sample.py::test_uses_profile[arm64]",
        "test_sample.py::test_unit",
        "test_sample.py::test_own_arch[riscv64]",
    ]


@pytest.mark.parametrize("spec", ["arm64", "aarch64", "ARM64", "aarch64,arm64"])
def test_one_arch_by_name_or_alias(sandbox: pytest.Pytester, spec: str) -> None:
    ids = collected(sandbox, f"--arch={spec}")
    assert "test_sample.py::test_uses_arch[arm64]" in ids
    assert not [i for i in ids if "x86_64" in i]


def test_machine_variants_are_in_the_test_ids(sandbox: pytest.Pytester) -> None:
    ids = collected(sandbox, "--machine=default,pc,gicv2", "-k", "uses_profile")
    assert ids == [
        "test_sample.py::test_uses_profile[x86_64]",
        "test_sample.py::test_uses_profile[x86_64-pc]",
        "test_sample.py::test_uses_profile[arm64]",
        "test_sample.py::test_uses_profile[arm64-gicv2]",
    ]
    ids = collected(sandbox, "--machine=all", "-k", "uses_arch")
    assert len(ids) == len(X86_64.variants) + len(ARM64.variants)
    assert "test_sample.py::test_uses_arch[arm64-el3]" in ids


def test_variant_profile_and_skip_reason(sandbox: pytest.Pytester) -> None:
    sandbox.makepyfile(test_variant="""
def test_settings(profile, arch):
    assert arch == "x86_64" and profile.variant == "cpu-haswell"
    assert profile.cpu_tcg == "Haswell" and profile.label == "x86_64-cpu-haswell"
""")
    result = sandbox.runpytest("--arch=x64", "--machine=cpu-haswell,microvm", "-rs",
                               "test_variant.py")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*x86_64-microvm: the kernel's x86 clock is the ACPI PM timer*"])


def test_unit_tests_run_without_guest(sandbox: pytest.Pytester) -> None:
    result = sandbox.runpytest("-k", "unit or own_arch", "--arch=x64")
    result.assert_outcomes(passed=2, deselected=2)


def test_unknown_arch_is_a_usage_error(sandbox: pytest.Pytester) -> None:
    result = sandbox.runpytest("--arch=sparc")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--arch: unknown architecture 'sparc'*"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["--accel=hvf"], "*--accel*invalid choice*"),
        (["--boot-timeout=0"], "*--boot-timeout must be positive*"),
        (["--arch=arm64", "--machine=pc"], "*--machine: unknown machine variant 'pc'*"),
    ],
)
def test_bad_options(sandbox: pytest.Pytester, args: list[str], message: str) -> None:
    result = sandbox.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_report_header(sandbox: pytest.Pytester) -> None:
    result = sandbox.runpytest("--arch=x64", "--accel=tcg", "--boot-timeout=7",
                               "--keep-artifacts", "-k", "unit")
    result.stdout.fnmatch_lines(["zhb: arch=x86_64 accel=tcg boot-timeout=7s keep-artifacts"])


def test_help_lists_the_options(sandbox: pytest.Pytester) -> None:
    result = sandbox.runpytest("--help")
    result.stdout.fnmatch_lines(["*--arch=ARCH*", "*--accel=*", "*--boot-timeout=SECONDS*",
                                 "*--keep-artifacts*"])


def test_session_builds_once_and_remembers_failures(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[str] = []

    def failing_build(arch: str) -> None:
        calls.append(arch)
        raise BuildError(arch, ["make"], 2, "main.c:1: error: boom")

    monkeypatch.setattr(plugin, "build_guest", failing_build)
    session = plugin.HarnessSession((ARM64,), "tcg", 30.0, False, tmp_path)
    for _ in range(2):
        with pytest.raises(BuildError, match="boom"):
            session.build(ARM64)
    assert calls == ["arm64"]
    assert session.decide_accel(ARM64).accel is Accel.TCG


KTAP_TESTS = """
from pathlib import Path

import pytest

from harness.suites import CaseSyntax, KtapSuite

ROOT = Path(__file__).parent
DEMO = KtapSuite("demo", ("demo/*.c",), CaseSyntax.MACRO, "", source_root=ROOT)
EMPTY = KtapSuite("empty", ("none/*.c",), CaseSyntax.MACRO, "", source_root=ROOT)

@pytest.mark.ktap_suite(DEMO)
def test_demo(ktap_case):
    pass

@pytest.mark.ktap_suite(DEMO)
def test_demo_summary(suite_run):
    pass

@pytest.mark.ktap_suite(EMPTY)
def test_empty(ktap_case):
    pass
"""


@pytest.fixture
def ktap_sandbox(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_ktap=KTAP_TESTS)
    (pytester.path / "demo").mkdir()
    (pytester.path / "demo" / "a.c").write_text("KTAP_CASE(alpha) {}\nKTAP_CASE(beta) {}\n")
    (pytester.path / "demo" / "b.c").write_text("KTAP_CASE(gamma) {}\n")
    return pytester


def test_ktap_cases_are_test_ids_per_arch(ktap_sandbox: pytest.Pytester) -> None:
    assert collected(ktap_sandbox, "--arch=all") == [
        *(f"test_ktap.py::test_demo[{arch}-{case}]" for arch in ("x86_64", "arm64")
          for case in ("alpha", "beta", "gamma")),
        "test_ktap.py::test_demo_summary[x86_64]",
        "test_ktap.py::test_demo_summary[arm64]",
        "test_ktap.py::test_empty[x86_64-no-cases]",
        "test_ktap.py::test_empty[arm64-no-cases]",
    ]


VARIANT_TESTS = """
from pathlib import Path

import pytest

from harness.suites import CaseSyntax, KtapSuite

ROOT = Path(__file__).parent
SMP = KtapSuite("smp", ("none/*.c",), CaseSyntax.MACRO, "", source_root=ROOT, variants=("smp4",))

@pytest.mark.ktap_suite(SMP)
def test_smp_summary(suite_run):
    pass

def test_plain(arch):
    pass
"""


@pytest.mark.parametrize(("args", "labels"), [
    ((), ["x86_64", "arm64", "x86_64-smp4", "arm64-smp4"]),
    (("--machine=smp4",), ["x86_64-smp4", "arm64-smp4"]),
    (("--machine=all", "--arch=arm64"), None),
    (("--smp=2",), ["x86_64", "arm64"]),
    (("--machine=default,gicv2", "--arch=arm64"), ["arm64", "arm64-gicv2"]),
])
def test_suite_variants_join_only_a_plain_run(
    pytester: pytest.Pytester, args: tuple[str, ...], labels: list[str] | None
) -> None:
    """4 CPUs have one spelling, the smp4 variant: a plain run adds it to the suites that name
    it, --machine asks for it explicitly (never twice), --smp replaces every count."""
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_variants=VARIANT_TESTS)
    ids = collected(pytester, *args)
    summary = [i.split("[")[1].rstrip("]") for i in ids if "smp_summary" in i]
    plain = [i.split("[")[1].rstrip("]") for i in ids if "test_plain" in i]
    if labels is None:  # every variant once, the suite's among them
        assert summary == plain and len(set(summary)) == len(summary) and "arm64-smp4" in summary
    else:
        assert summary == labels
        assert plain == [label for label in labels if not label.endswith("-smp4") or args]


def test_suite_without_cases_is_skipped_with_a_reason(ktap_sandbox: pytest.Pytester) -> None:
    result = ktap_sandbox.runpytest("-rs", "--arch=x64", "-k", "empty")
    result.assert_outcomes(skipped=1, deselected=4)
    result.stdout.fnmatch_lines(["*empty: no KTAP case declared in none/*.c*"])


def test_ktap_fixtures_need_the_marker(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_unmarked="def test_x(ktap_case):\n    pass\n")
    result = pytester.runpytest("--collect-only")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*suite_run / ktap_case need @pytest.mark.ktap_suite*"])


def test_suite_boots_once_for_all_workers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Two sessions sharing a suite directory stand for two pytest-xdist workers."""
    runs: list[tuple[str, str]] = []
    outputs = GuestOutputs.of(ARM64, tmp_path / "out")

    def fake_run_suite(suite: KtapSuite, profile: Profile, built: GuestOutputs,
                       **options: object) -> SuiteRun:
        assert built == outputs and options["accel"] is Accel.TCG
        runs.append((suite.name, profile.name))
        return SuiteRun(suite.name, profile.name, ("a",), error=f"run {len(runs)}")

    monkeypatch.setattr(plugin, "build_guest", lambda arch: outputs)
    monkeypatch.setattr(plugin, "run_suite", fake_run_suite)
    shared = tmp_path / "suites"
    shared.mkdir()
    workers = [plugin.HarnessSession((ARM64,), "tcg", 30.0, False, tmp_path, shared)
               for _ in range(2)]
    results = [w.suite_run(KERNEL_SELFTEST, ARM64, lambda: tmp_path) for w in workers * 2]
    assert runs == [("kernel-selftest", "arm64")]
    assert {r.error for r in results} == {"run 1"}
    workers[0].suite_run(KERNEL_SELFTEST_VARIANT, ARM64, lambda: tmp_path)
    assert runs[-1] == ("kernel-selftest-variant", "arm64")


SIGTERM_TESTS = """
import dataclasses
import os
from pathlib import Path

from harness.image import BootImage
from harness.machine import Machine
from harness.profiles import X86_64


def test_hangs_until_terminated(tmp_path):
    profile = dataclasses.replace(X86_64, name="fake", qemu_binary=os.environ["FAKE_QEMU"])
    image = BootImage("fake", kernel=tmp_path / "kernel")
    with Machine(profile, image, append="hang", timeout=600) as machine:
        child = machine.expect(rb"fake: child (\\d+)\\r?\\n").group(1).decode()
        Path(os.environ["PIDS"]).write_text(f"{machine.pid} {child}")
        machine.wait_exit()
"""


def test_sigterm_stops_pytest_and_reaps_qemu(
    pytester: pytest.Pytester, fake_profile: Profile, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_hang=SIGTERM_TESTS)
    pids_file = pytester.path / "pids"
    monkeypatch.setenv("FAKE_QEMU", fake_profile.qemu_binary)
    monkeypatch.setenv("PIDS", str(pids_file))
    monkeypatch.setenv("PYTHONPATH", str(Path(plugin.__file__).parent.parent))
    proc = pytester.popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           "test_hang.py"], stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not pids_file.exists() or not pids_file.read_text():
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline, "the fake QEMU never started"
            time.sleep(0.05)
        qemu, child = (int(pid) for pid in pids_file.read_text().split())
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == pytest.ExitCode.INTERRUPTED, output
    assert b"KeyboardInterrupt" in output
    assert process_gone(qemu) and process_gone(child)


XDIST_CONFTEST = r"""
import os
import time

import pytest

from harness import plugin
from harness.image import GuestOutputs
from harness.profiles import get_profile
from harness.suites import SuiteRun

pytest_plugins = ["harness.plugin"]


def fake_run_suite(suite, profile, outputs, **options):
    with open(os.environ["RUNS"], "a") as runs:
        runs.write(f"{suite.name}-{profile.name}\n")
    time.sleep(0.2)  # long enough for the other worker to want the same run meanwhile
    return SuiteRun(suite.name, profile.name, ("alpha", "beta", "gamma"), error="fake")


plugin.run_suite = fake_run_suite
plugin.build_guest = lambda arch: GuestOutputs.of(get_profile(arch), plugin.Path("/none"))


@pytest.fixture(autouse=True)
def record_suite_dir(harness_session):
    with open(os.environ["DIRS"], "a") as dirs:
        dirs.write(f"{harness_session.suite_dir}\n")
"""


def test_xdist_workers_share_one_run_per_suite_and_arch(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(XDIST_CONFTEST)
    pytester.makepyfile(test_ktap=KTAP_TESTS)
    (pytester.path / "demo").mkdir()
    (pytester.path / "demo" / "a.c").write_text("KTAP_CASE(alpha)\nKTAP_CASE(beta)\n")
    (pytester.path / "demo" / "b.c").write_text("KTAP_CASE(gamma)\n")
    runs = pytester.path / "runs"
    monkeypatch.setenv("RUNS", str(runs))
    monkeypatch.setenv("DIRS", str(pytester.path / "dirs"))
    result = pytester.runpytest_subprocess("-n", "2", "--accel=tcg", "-k", "demo")
    result.assert_outcomes(passed=8)
    assert sorted(runs.read_text().split()) == ["demo-arm64", "demo-x86_64"]
    (shared,) = set(Path(os.environ["DIRS"]).read_text().split())
    assert not Path(shared).exists()  # the controller removed it when the run ended


def test_unit_tests_pass_on_a_fresh_machine(tmp_path: Path) -> None:
    """Issue 13: with an empty TMPDIR and HOME (no accelerator decision cached by an earlier
    run), the CLI and accelerator tests still pass. `.ci/run` runs the whole suite so."""
    fresh_tmp, fresh_home = tmp_path / "tmp", tmp_path / "home"
    fresh_tmp.mkdir()
    fresh_home.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("ZHB_ACCEL_CACHE", "PYTEST_XDIST_WORKER", "PYTEST_ADDOPTS")}
    env.update(TMPDIR=str(fresh_tmp), HOME=str(fresh_home))
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_harness_cli.py", "tests/test_harness_accel.py"],
        cwd=root, env=env, capture_output=True, text=True, check=False, timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
    assert not (fresh_tmp / f"zhb-accel-{os.getuid()}").exists()  # no per-user cache used
