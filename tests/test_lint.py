"""The Python code stays clean under ruff and mypy (both from the `dev` extra that
scripts/setup installs), so style and type regressions fail the suite like any other bug."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Extension-less Python scripts, checked one mypy run each: mypy names every script
# `__main__`, so two in one run collide.
SCRIPTS = ("scripts/bench_boot", "scripts/bench_images", "scripts/linux_baseline")


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO, capture_output=True, text=True, timeout=300,
        check=False,
    )


def test_ruff_finds_nothing() -> None:
    done = run_tool("ruff", "check", "--no-cache", ".", *SCRIPTS)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("targets", [(".",), *((script,) for script in SCRIPTS)], ids=str)
def test_mypy_finds_nothing(targets: tuple[str, ...], tmp_path: Path) -> None:
    done = run_tool("mypy", "--cache-dir", str(tmp_path / "cache"), *targets)
    assert done.returncode == 0, done.stdout + done.stderr
