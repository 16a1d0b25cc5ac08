"""The pytest plugin's options and parametrization, in pytester sandboxes (collection only:
nothing is built or booted)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import plugin
from harness.errors import BuildError
from harness.profiles import ARM64, Accel

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
