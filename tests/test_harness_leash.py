"""The leash (harness.leash): QEMU and the harness's temp dirs die with the harness, whatever
kills it — SIGKILL, SIGHUP, a crashed interpreter.

The fake-QEMU tests run a small harness script in a child Python (a Machine booting the fake
QEMU's `hang` scenario, which also starts a child process in QEMU's group) and kill it; the
real-QEMU tests kill `python -m harness boot` on each architecture. Every harness runs with a
TMPDIR of its own, so the test sees exactly the `zhb-*` directories it made.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import process_gone

from harness.image import GuestOutputs
from harness.profiles import Profile

ROOT = Path(__file__).resolve().parent.parent
DEATHS = {
    "sigkill": signal.SIGKILL,
    "sighup": signal.SIGHUP,
    "crash": signal.SIGSEGV,  # a crashed interpreter: no Python code runs any more
}

HARNESS_SCRIPT = """
import dataclasses, re, sys, time
from pathlib import Path
from harness.image import BootImage
from harness.machine import Machine
from harness.profiles import X86_64
profile = dataclasses.replace(X86_64, name="fake", qemu_binary=sys.argv[1])
machine = Machine(profile, BootImage("fake", kernel=Path("/nonexistent")), append="hang",
                  timeout=60).launch()
child = int(machine.expect(rb"fake: child (\\d+)").group(1))
print(machine.pid, child, machine.workdir, flush=True)
time.sleep(600)
"""


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A TMPDIR short enough for the harness's socket paths (it would fall back to /tmp)."""
    path = Path(tempfile.mkdtemp(prefix="leash-", dir="/tmp"))
    yield path
    for leftover in path.iterdir():  # a failed test must not leave QEMU state around
        subprocess.run(["rm", "-rf", str(leftover)], check=False)
    path.rmdir()


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(tmp), "PYTHONPATH": str(ROOT)}


def _gone(path: Path, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while path.exists():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.mark.parametrize("death", list(DEATHS))
def test_fake_qemu_dies_with_its_harness(
    fake_profile: Profile, short_tmp: Path, death: str
) -> None:
    harness = subprocess.Popen(
        [sys.executable, "-c", HARNESS_SCRIPT, fake_profile.qemu_binary],
        stdout=subprocess.PIPE, env=_env(short_tmp), text=True,
    )
    try:
        assert harness.stdout is not None
        qemu, child, workdir = harness.stdout.readline().split()
        assert Path(workdir).parent == short_tmp and Path(workdir).is_dir()
        harness.send_signal(DEATHS[death])
        harness.wait(10)
        assert process_gone(int(qemu)), "QEMU outlived its harness"
        assert process_gone(int(child)), "a process of QEMU's group outlived the harness"
        assert _gone(Path(workdir)), f"{workdir} outlived the harness"
        assert list(short_tmp.iterdir()) == []
    finally:
        harness.kill()
        harness.wait()


def _qemu_child(pid: int, timeout: float = 60.0) -> int:
    """The pid of the qemu-system-* child of process `pid`, once it has one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = []
        for child in children:
            try:
                if Path(f"/proc/{child}/comm").read_text().startswith("qemu-system"):
                    return int(child)
            except OSError:
                continue
        time.sleep(0.01)
    raise AssertionError(f"process {pid} started no QEMU within {timeout:g} s")


@pytest.mark.parametrize("death", ["sigkill"])
def test_qemu_dies_with_harness_boot(
    arch: str, guest_build: GuestOutputs, short_tmp: Path, death: str
) -> None:
    """`python -m harness boot` killed while its guest runs: QEMU and every zhb-* dir go.
    (SIGHUP and a crash are covered with the fake QEMU above; `zhb boot` turns SIGHUP into
    an orderly shutdown, tests/test_harness_cli.py.)"""
    harness = subprocess.Popen(
        [sys.executable, "-m", "harness", "boot", "--arch", arch, "--accel", "tcg",
         "--timeout", "120"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(short_tmp),
    )
    try:
        qemu = _qemu_child(harness.pid)
        harness.send_signal(DEATHS[death])
        harness.wait(30)
        assert process_gone(qemu), "QEMU outlived its harness"
        deadline = time.monotonic() + 10
        while list(short_tmp.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert list(short_tmp.iterdir()) == [], "temp dirs outlived the harness"
    finally:
        harness.kill()
        harness.wait()
