"""Figures for the nightly report's trend charts (harness.nightly), measured on every target:
the boot time of the default image and every bin/microbench row, each recorded as a
`figure:` test property (`figure:boot_ms`, `figure:microbench:<row>`) that the nightly runner
keeps in its history store. In a plain pytest run they are only checked to exist; the figures
of a loaded host are what they are (trends, not targets)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from harness.image import BootImage, GuestOutputs
from harness.linux_baseline import figure_lines, parse_figures
from harness.machine import Machine
from harness.nightly import BOOT_FIGURE, FIGURE, MICROBENCH_FIGURE
from harness.profiles import Profile
from harness.suites import program_suite, suite_image

MakeImage = Callable[..., BootImage]
Launch = Callable[..., Machine]
RecordProperty = Callable[[str, object], None]

MICROBENCH = dataclasses.replace(
    program_suite("microbench"),
    bootfs=("bin/microbench", "bin/pb-exit0", "bin/pb-exit0-dyn", "lib/ld.so.1",
            "lib/libdyn-a.so", "lib/libdyn-b.so"),
)
"""bin/microbench with what its pb_launch_* rows start (as scripts/bench_boot boots it)."""


def test_boot_time_figure(make_image: MakeImage, launch: Launch,
                          record_property: RecordProperty) -> None:
    """The default image (shim, kernel, userboot with nothing to run, power-off)."""
    outcome = launch(make_image()).wait_exit()
    outcome.raise_for_status()
    record_property(FIGURE + BOOT_FIGURE, round(outcome.elapsed * 1000.0, 1))


def test_microbench_figures(profile: Profile, guest_build: GuestOutputs, launch: Launch,
                            tmp_path: Path, record_property: RecordProperty) -> None:
    outcome = launch(suite_image(MICROBENCH, profile, guest_build, tmp_path)).wait_exit()
    outcome.raise_for_status()
    lines = figure_lines(outcome.transcript, "microbench:")
    assert not [line for line in lines if line.startswith("microbench: error")], lines
    rows = parse_figures(lines, "microbench:")
    assert "null_syscall" in rows, lines
    for row, ns in rows.items():
        record_property(f"{FIGURE}{MICROBENCH_FIGURE}{row}", ns)
