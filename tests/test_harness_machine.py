"""Machine's life cycle against the fake QEMU of conftest.py (no QEMU is started).

Covers the outcome of each scenario, console waits and their failure patterns, the register
dump and stop sequence on a timeout, process-group cleanup (also when QMP `quit` is ignored and
on KeyboardInterrupt), launch failures, and the command line Machine hands to QEMU.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from conftest import REGISTERS, process_gone

from harness import console
from harness import machine as machine_module
from harness.errors import (
    ConsoleClosed,
    ConsoleTimeout,
    GuestCrashed,
    GuestFailed,
    LaunchError,
)
from harness.image import BootImage
from harness.machine import ConsolePump, Machine, cpu_seconds
from harness.outcome import FailurePattern, Status
from harness.profiles import Profile

IMAGE = BootImage("fake", kernel=Path("/nonexistent/kernel"))
SHORT_S = 0.5  # for waits that are meant to run out


def machine(profile: Profile, scenario: str, tmp_path: Path) -> Machine:
    """A Machine running the fake QEMU `scenario` (see conftest.SCENARIOS)."""
    return Machine(profile, IMAGE, append=scenario, log_dir=tmp_path / "logs", timeout=20,
                   wall_factor=1)  # waits meant to run out end at their wall time


def child_pid(m: Machine) -> int:
    match = m.expect(rb"fake: child (\d+)\r?\n")
    return int(match.group(1))


def test_poweroff_is_a_pass(fake_profile: Profile, tmp_path: Path) -> None:
    with machine(fake_profile, "poweroff", tmp_path) as m:
        assert m.expect(console.BANNER).group(1) == b"fake"
        outcome = m.wait_exit()
    assert outcome.status is Status.PASS
    assert outcome.exit_status == 0
    assert outcome.event_names == ("RESUME", "SHUTDOWN")
    assert outcome.powered_off
    assert b"zhb kernel: powering off" in outcome.transcript
    assert outcome.log_path == tmp_path / "logs" / "console.log"
    assert outcome.log_path.read_bytes() == outcome.transcript


def test_wait_exit_is_computed_once(fake_profile: Profile, tmp_path: Path) -> None:
    with machine(fake_profile, "poweroff", tmp_path) as m:
        assert m.wait_exit() is m.wait_exit()


def test_silent_poweroff_is_no_output(fake_profile: Profile, tmp_path: Path) -> None:
    with machine(fake_profile, "silent", tmp_path) as m:
        outcome = m.wait_exit()
    assert outcome.status is Status.NO_OUTPUT
    assert outcome.powered_off


def test_panic_is_a_crash(fake_profile: Profile, tmp_path: Path) -> None:
    with machine(fake_profile, "panic", tmp_path) as m:
        outcome = m.wait_exit()
    assert outcome.status is Status.CRASH
    assert outcome.exit_status == 1
    assert "GUEST_PANICKED" in outcome.event_names
    with pytest.raises(GuestCrashed, match="ZIRCON KERNEL PANIC: fake: test"):
        outcome.raise_for_status()


def test_panic_ends_a_console_wait(fake_profile: Profile, tmp_path: Path) -> None:
    with machine(fake_profile, "panic", tmp_path) as m, pytest.raises(GuestCrashed) as caught:
        m.expect(console.POWERING_OFF)
    error = caught.value
    assert "kernel panic while waiting for" in error.reason
    assert error.console_tail[-1] == "ZIRCON KERNEL PANIC: fake: test"
    assert error.exit_status == 1
    assert "GUEST_PANICKED(action=poweroff)" in error.events
    assert error.log_path == tmp_path / "logs" / "console.log"


def test_shim_error_fails_a_wait_unless_expected(fake_profile: Profile, tmp_path: Path) -> None:
    with machine(fake_profile, "shim-error", tmp_path) as m, pytest.raises(GuestFailed):
        m.expect(console.BANNER)
    with machine(fake_profile, "shim-error", tmp_path / "again") as m:
        assert m.expect(console.SHIM_ERROR).group(1) == b"invalid ZBI: item CRC32 mismatch"
        outcome = m.wait_exit()
    assert outcome.status is Status.FAIL
    assert outcome.powered_off


def test_caller_failure_pattern(fake_profile: Profile, tmp_path: Path) -> None:
    with machine(fake_profile, "poweroff", tmp_path) as m, pytest.raises(GuestFailed):
        m.expect(console.POWERING_OFF, fail_patterns=[rb"cmdline: \r?\n"])


def test_reset_is_a_failure(fake_profile: Profile, tmp_path: Path) -> None:
    with machine(fake_profile, "reset", tmp_path) as m:
        outcome = m.wait_exit()
    assert outcome.status is Status.FAIL
    assert "guest-reset" in outcome.reason
    assert not outcome.powered_off


def test_console_closed_before_pattern(fake_profile: Profile, tmp_path: Path) -> None:
    with machine(fake_profile, "poweroff", tmp_path) as m, pytest.raises(ConsoleClosed) as caught:
        m.expect(rb"never printed")
    assert caught.value.exit_status == 0


def test_console_timeout_dumps_registers(fake_profile: Profile, tmp_path: Path) -> None:
    with machine(fake_profile, "hang", tmp_path) as m:
        child = child_pid(m)
        with pytest.raises(ConsoleTimeout, match="did not appear within"):
            m.expect(rb"never printed", timeout=SHORT_S)
        assert REGISTERS in m.harness_log.read_text()
    assert process_gone(child)


def test_hang_times_out_and_the_group_is_killed(fake_profile: Profile, tmp_path: Path) -> None:
    with machine(fake_profile, "hang", tmp_path) as m:
        child = child_pid(m)
        outcome = m.wait_exit(timeout=SHORT_S)
        assert m.pid is not None and process_gone(m.pid)
    assert outcome.status is Status.TIMEOUT
    assert outcome.exit_status == 0  # it obeyed QMP quit
    assert REGISTERS in m.harness_log.read_text()
    assert process_gone(child)


def test_busy_hang_hits_the_cpu_limit(fake_profile: Profile, tmp_path: Path) -> None:
    """A guest spinning in a hang uses QEMU's CPU: the limit fires at S seconds of CPU, long
    before the wall-time limit."""
    m = Machine(fake_profile, IMAGE, append="spin", log_dir=tmp_path, wall_factor=100)
    with m:
        child_pid(m)
        outcome = m.wait_exit(timeout=SHORT_S)
    assert outcome.status is Status.TIMEOUT
    assert f"the {SHORT_S:g} s limit ran out (QEMU used" in outcome.reason
    assert outcome.elapsed < 100 * SHORT_S / 2


def test_idle_hang_hits_the_wall_limit(fake_profile: Profile, tmp_path: Path) -> None:
    """A guest idling in a hang uses no CPU: the wall-time limit (factor x S) still ends it."""
    m = Machine(fake_profile, IMAGE, append="hang", log_dir=tmp_path, wall_factor=3)
    with m:
        child_pid(m)
        start = time.monotonic()
        outcome = m.wait_exit(timeout=0.2)
        waited = time.monotonic() - start
    assert outcome.status is Status.TIMEOUT
    assert "the 0.6 s wall-time limit (3 x 0.2 s) ran out" in outcome.reason
    assert waited >= 0.6


def test_a_starved_guest_is_not_a_hang(fake_profile: Profile, tmp_path: Path) -> None:
    """Wall time past the limit with little QEMU CPU time (a loaded host) is no timeout."""
    m = Machine(fake_profile, IMAGE, append="starved", log_dir=tmp_path, wall_factor=10)
    with m:
        outcome = m.wait_exit(timeout=0.25)
    assert outcome.status is Status.PASS, outcome.reason
    assert outcome.elapsed > 0.8


def test_console_wait_names_its_limit(fake_profile: Profile, tmp_path: Path) -> None:
    m = Machine(fake_profile, IMAGE, append="spin", log_dir=tmp_path, wall_factor=100)
    with m, pytest.raises(ConsoleTimeout, match=r"within 0.5 s: the 0.5 s limit ran out"):
        m.expect(rb"never printed", timeout=SHORT_S)


def test_cpu_seconds_of_a_gone_process_is_none() -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    assert cpu_seconds(child.pid) is None
    assert (cpu_seconds(os.getpid()) or 0) > 0


def test_wedged_qemu_is_killed(fake_profile: Profile, tmp_path: Path) -> None:
    with machine(fake_profile, "wedged", tmp_path) as m:
        child = child_pid(m)
        outcome = m.wait_exit(timeout=SHORT_S)
    assert outcome.status is Status.TIMEOUT
    assert outcome.exit_status == -9
    assert process_gone(child)


def test_keyboard_interrupt_reaps_qemu(fake_profile: Profile, tmp_path: Path) -> None:
    m = machine(fake_profile, "wedged", tmp_path)
    with pytest.raises(KeyboardInterrupt), m:
        child = child_pid(m)
        raise KeyboardInterrupt
    assert m.pid is not None and process_gone(m.pid, timeout=0)
    assert process_gone(child)
    assert m.workdir is not None and not m.workdir.exists()


def test_sockets_and_temp_dir_removed_unless_kept(fake_profile: Profile, tmp_path: Path) -> None:
    with Machine(fake_profile, IMAGE, append="poweroff") as m:
        m.wait_exit()
        assert m.workdir is not None and (m.workdir / "console.log").exists()
    assert not m.workdir.exists()
    with Machine(fake_profile, IMAGE, append="poweroff", keep_artifacts=True) as kept:
        kept.wait_exit()
    assert kept.workdir is not None
    try:
        assert (kept.workdir / "harness.log").exists()
    finally:
        shutil.rmtree(kept.workdir)


def test_launch_failure_reports_qemu_output(fake_profile: Profile, tmp_path: Path) -> None:
    with pytest.raises(LaunchError) as caught, machine(fake_profile, "die", tmp_path):
        pass
    error = caught.value
    assert "exited with status 3" in error.reason
    assert "fake-qemu: cannot start" in error.output_tail
    assert error.command[0] == fake_profile.qemu_binary


def test_missing_qemu_binary(fake_profile: Profile, tmp_path: Path) -> None:
    missing = dataclasses.replace(fake_profile, qemu_binary=str(tmp_path / "no-such-qemu"))
    with pytest.raises(LaunchError, match="no-such-qemu"), machine(missing, "poweroff", tmp_path):
        pass


def test_command_line(fake_profile: Profile, tmp_path: Path) -> None:
    with machine(fake_profile, "poweroff", tmp_path) as m:
        m.wait_exit()
    command = " ".join(m.command)
    assert m.command[0] == fake_profile.qemu_binary
    assert "-S" in m.command and "-no-reboot" in m.command and "-nodefaults" in m.command
    assert re.search(r"-chardev socket,id=console,path=\S+/console.sock,logfile=\S+", command)
    assert "-mon chardev=qmp,mode=control" in command
    assert "QEMU exit status 0" in m.harness_log.read_text()
    assert m.command[m.command.index("-append") + 1] == "poweroff"


def test_a_run_ending_line_cuts_the_wait_short(
    fake_profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(machine_module, "FAILURE_GRACE_S", SHORT_S)
    with machine(fake_profile, "panic-hang", tmp_path) as m:
        outcome = m.wait_exit(timeout=600)
    assert outcome.status is Status.CRASH
    assert "ZIRCON KERNEL PANIC: fake: stuck" in outcome.reason
    assert REGISTERS in m.harness_log.read_text()  # it was stopped as a hang


def test_other_failure_lines_do_not_cut_the_run(fake_profile: Profile, tmp_path: Path) -> None:
    not_ok = FailurePattern("custom", re.compile(rb"cmdline: \r?\n"), Status.FAIL)
    with machine(fake_profile, "poweroff", tmp_path) as m:
        outcome = m.wait_exit(fail_patterns=[not_ok])
    assert outcome.status is Status.FAIL
    assert outcome.reason.startswith("custom: ")
    assert outcome.powered_off  # the guest ran on to its power-off


def _read_to_eof(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


def test_console_pump_keeps_qemu_writing_while_nobody_reads() -> None:
    """QEMU writes the console a byte at a time and blocks once the socket is full; the pump
    must drain it (into memory, past the pipe's capacity too) while the reader is away."""
    qemu_end, harness_end = socket.socketpair()
    qemu_end.settimeout(5.0)  # a send that blocks fails the test instead of hanging it
    pump = ConsolePump(harness_end, "test")
    try:
        for _ in range(5000):  # far more one-byte writes than the socket buffer holds
            qemu_end.send(b"x")
        for _ in range(200):  # 200 KiB: more than the pipe holds while nobody reads it
            qemu_end.sendall(b"y" * 1024)
        qemu_end.close()
        assert _read_to_eof(pump.read_fd) == b"x" * 5000 + b"y" * 200 * 1024
    finally:
        os.close(pump.read_fd)
        pump.close()


def test_console_pump_close_ends_the_stream_while_qemu_still_runs() -> None:
    qemu_end, harness_end = socket.socketpair()
    pump = ConsolePump(harness_end, "test")
    qemu_end.sendall(b"partial line")
    pump.close()
    os.set_blocking(pump.read_fd, False)  # a write end left open would raise, not hang
    try:
        assert b"partial line".startswith(_read_to_eof(pump.read_fd))
    finally:
        os.close(pump.read_fd)
        qemu_end.close()


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_listen_closes_its_socket_when_bind_fails(tmp_path: Path) -> None:
    before = _open_fds()
    with pytest.raises(OSError):
        machine_module._listen(tmp_path / "no-such-dir" / "console.sock")
    assert _open_fds() == before


def test_launch_closes_the_first_socket_when_the_second_listen_fails(
    fake_profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[socket.socket] = []
    real_listen = machine_module._listen

    def listen_once(path: Path) -> socket.socket:
        if opened:
            raise OSError("second listen fails")
        opened.append(real_listen(path))
        return opened[-1]

    monkeypatch.setattr(machine_module, "_listen", listen_once)
    with pytest.raises(LaunchError, match="second listen fails"):
        machine(fake_profile, "poweroff", tmp_path).launch()
    assert len(opened) == 1
    assert opened[0].fileno() == -1  # closed


def test_settle_qmp_error_does_not_escape_finish(
    fake_profile: Profile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_settle(self: object, timeout: float) -> None:
        raise machine_module.QmpError("flush", "the event loop is gone")

    monkeypatch.setattr(machine_module.QmpChannel, "settle", broken_settle)
    with machine(fake_profile, "poweroff", tmp_path) as m:
        outcome = m.wait_exit()
    assert outcome.status is Status.PASS
    assert "QMP settle: the event loop is gone" in m.harness_log.read_text()
