"""Time on a loaded host, with real QEMU on every architecture: a QEMU the host starves is not
a hung guest (timeouts count QEMU's CPU time, harness.machine.TimeLimit), and
`--deterministic` guests (-icount, virtual-clock RTC) boot and pass."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

from harness.image import BootImage
from harness.machine import DETERMINISTIC_ARGS, Machine
from harness.outcome import Status
from harness.profiles import Accel, Profile

STOPPED_S = 2.0
LIMIT_S = 1.0


def test_a_stopped_qemu_is_not_a_hang(
    profile: Profile, accel: Accel, make_image: Callable[..., BootImage], artifacts: Path
) -> None:
    """QEMU gets no CPU for 2 s (SIGSTOP), twice the 1 s limit: the boot still passes,
    because the limit counts QEMU's CPU time too (the wall-time cap is 10 x 1 s)."""
    image = make_image()
    with Machine(profile, image, accel=accel, timeout=LIMIT_S, wall_factor=10,
                 log_dir=artifacts / "stopped") as machine:
        assert machine.pid is not None
        os.kill(machine.pid, signal.SIGSTOP)
        resume = threading.Timer(STOPPED_S, os.kill, (machine.pid, signal.SIGCONT))
        resume.start()
        try:
            outcome = machine.wait_exit(timeout=LIMIT_S)
        finally:
            resume.join()
    assert outcome.status is Status.PASS, outcome.reason
    assert outcome.elapsed >= STOPPED_S


def test_deterministic_boot_passes(
    profile: Profile, make_image: Callable[..., BootImage], artifacts: Path, boot_timeout: float
) -> None:
    image = make_image()
    with Machine(profile, image, accel=Accel.TCG, timeout=boot_timeout, deterministic=True,
                 log_dir=artifacts / "deterministic") as machine:
        outcome = machine.wait_exit()
        command = machine.command
    assert outcome.status is Status.PASS, outcome.reason
    assert " ".join(DETERMINISTIC_ARGS) in " ".join(command)
