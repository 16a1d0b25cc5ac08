"""Symbolized user faults (harness.symbolize.user_faults): the kernel's user-fault line says
where the faulting PC is mapped (VMO name, offset, VMAR base), and the harness names the
function, file and line in the program ELF or the vDSO, in pytest failures and the nightly
report (through SuiteRun's story, as kernel backtraces).

The integration tests boot bin/pb-exit0 (a fixed-address ET_EXEC program) and bin/pb-exit0-dyn
(position independent, loaded at a random address by ld.so's process builder) with the
argument `fault`, which makes them write through a null pointer in pb_exit0_fault
(programs/pb-bench/exit0.c), on both arches.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from bootfs_tools import build as build_bootfs
from harness import console
from harness.image import BootImage, GuestOutputs
from harness.machine import Machine
from harness.outcome import Outcome, Status
from harness.profiles import Accel, Profile, get_profile
from harness.suites import SuiteRun, program_suite, run_suite
from harness.symbolize import user_faults

MakeImage = Callable[..., BootImage]
Launch = Callable[..., Machine]

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "guest_payloads/programs/pb-bench/exit0.c"
LIBS = ("lib/ld.so.1", "lib/libdyn-a.so", "lib/libdyn-b.so")


def fault_line() -> int:
    lines = SOURCE.read_text().splitlines()
    return next(n for n, text in enumerate(lines, 1) if "// pb_exit0_fault: the user fault" in text)


@pytest.mark.parametrize("program", ["pb-exit0", "pb-exit0-dyn"])
def test_user_fault_is_symbolized(
    program: str, make_image: MakeImage, launch: Launch, guest_build: GuestOutputs
) -> None:
    out_dir = guest_build.kernel.parent
    files = (f"bin/{program}", *(LIBS if program.endswith("-dyn") else ()))
    bootfs = build_bootfs({name: (out_dir / name).read_bytes() for name in files})
    image = make_image(cmdline=f"userboot.next=bin/{program}+fault userboot.shutdown",
                       bootfs=bootfs)
    outcome = launch(image).wait_exit()
    fault = console.USER_FAULT.search(outcome.transcript)
    assert fault is not None, outcome.console_tail()
    assert fault.group(1) == program.encode() and fault.group(4) == b"0x0"
    faults = user_faults(outcome.transcript, guest_build)
    assert len(faults) == 1
    where = re.escape(f"pb_exit0_fault at {SOURCE}:{fault_line()}:")
    assert re.search(rf": {where}\d+ \({re.escape(program)}\+0x[0-9a-f]+\)$", faults[0]), faults


def _transcript(vmo: str, offset: int, vmar: int, pc: int, name: str = "prog") -> bytes:
    return (f"zhb kernel: user fault: process {name} koid 7: #PF page fault at address 0x0 "
            f"pc {pc:#x} (vmo \"{vmo}\" offset {offset:#x}, vmar {vmar:#x})\r\n").encode()


def fake_outputs(tmp_path: Path) -> GuestOutputs:
    return GuestOutputs.of(get_profile("x64"), tmp_path / "out")


def test_vdso_and_userboot_faults_use_the_vmo_offset(tmp_path: Path) -> None:
    """Without symbols (files missing) the module and link address are still shown."""
    outputs = fake_outputs(tmp_path)
    vdso = user_faults(_transcript("vdso/full", 0x2345, 0x1000000, 0x1d0a345), outputs)
    assert vdso == [("process prog koid 7: #PF page fault at address 0x0 pc 0x1d0a345: "
                     "(no symbol) (vdso.so+0x2345)")]
    userboot = user_faults(_transcript("userboot", 0x2010, 0x1000000, 0x1002010), outputs)
    assert userboot[0].endswith("(no symbol) (userboot.so+0x2010)")


def test_unknown_modules_stay_bare(tmp_path: Path) -> None:
    outputs = fake_outputs(tmp_path)
    old_line = (b"zhb kernel: user fault: process p koid 7: #PF page fault at address 0x0 "
                b"pc 0x10\n")
    for transcript, pc in ((_transcript("", 0x10, 0x2000000, 0x2000010, "absent"), 0x2000010),
                           (_transcript("?", 0, 0, 0x10), 0x10), (old_line, 0x10)):
        assert user_faults(transcript, outputs)[0].endswith(f"pc {pc:#x}: (no symbol)")


def test_user_faults_are_in_the_failure_story() -> None:
    outcome = Outcome(status=Status.FAIL, reason="exit code", exit_status=0, events=(),
                      transcript=b"", powered_off=True, log_path=Path("/tmp/console.log"),
                      elapsed=1.0, command=())
    run = SuiteRun("core-tests", "x86_64", ("a",), outcome=outcome, report=None,
                   user_faults=("process p koid 7: ... pc 0x10: f at f.c:3:1 (p+0x10)",))
    story = "\n".join(run.shutdown_problems())
    assert "user faults:\n  process p koid 7: ... pc 0x10: f at f.c:3:1 (p+0x10)" in story


def test_suite_failure_names_the_faulting_line(
    profile: Profile, guest_build: GuestOutputs, accel: Accel, boot_timeout: float,
    tmp_path: Path,
) -> None:
    """A real suite run whose program faults: its failure story (what pytest and the nightly
    report show) has the symbolized fault."""
    suite = dataclasses.replace(program_suite("pb-exit0"), sources=(),
                                cmdline="userboot.next=bin/pb-exit0+fault userboot.shutdown")
    run = run_suite(suite, profile, guest_build, accel=accel, timeout=boot_timeout,
                    work_dir=tmp_path)
    story = "\n".join(run.shutdown_problems())
    assert "missing console line" in story  # no `exited with return code 0`
    assert re.search(rf"user faults:\n  process pb-exit0 koid \d+: .* pc 0x[0-9a-f]+: "
                     rf"pb_exit0_fault at {re.escape(str(SOURCE))}:{fault_line()}:", story), story
