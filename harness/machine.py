"""`Machine`: one QEMU guest, driven over its serial console (pexpect) and QMP (qemu.qmp).

Modelled on QEMU's `qemu.machine.QEMUMachine`: a context manager whose life is
launch -> waits -> shutdown (QMP `quit`, then SIGKILL) -> cleanup, the last two always run.

Plumbing of one machine (all in a private temp dir with a short path, for AF_UNIX's limit)::

    harness                                     QEMU (own session + process group, -S)
    console.sock  (listening) <--- connects --- -chardev socket,id=console,logfile=console.log
                                                -serial chardev:console
    qmp.sock      (listening) <--- connects --- -chardev socket,id=qmp  -mon chardev=qmp
    qemu.log      <----------------------------- QEMU's own stdout / stderr

QEMU starts paused (-S); the harness accepts both connections, negotiates QMP, then sends
`cont`, so no console byte and no QMP event is ever missed, however fast the guest is. The
serial socket is drained from the moment it is accepted by a `ConsolePump` thread: QEMU writes
the console a byte at a time and, once the socket buffer is full (a few hundred one-byte
writes), blocks its main loop, QMP replies included, until someone reads. The pump keeps
reading into memory and feeds a pipe that is read with `pexpect.fdpexpect`; every byte read is kept (`transcript`) and may
be echoed. QMP events are recorded by `harness.qmp.QmpChannel` as they arrive and written to
harness.log together with the command line and, on a timeout, the CPU registers.

Every wait has a timeout and failure patterns (`harness.outcome.DEFAULT_FAILURES`: the panic
prefix and the shim's error line, unless the caller expects that very line). `wait_exit()` ends
promptly when QEMU exits, and soon (`FAILURE_GRACE_S`) after a line that ends the run when it
does not.

QEMU is never reaped before its process group has been killed: `_exited()` looks with
`waitid(WNOWAIT)`, so the (zombie) leader keeps the group id reserved until `_reap()` has sent
SIGKILL to the group. A module-level registry kills what is left at interpreter exit.
"""

from __future__ import annotations

import atexit
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self, TypedDict, Unpack

import pexpect
from pexpect import fdpexpect

from harness import console
from harness.errors import (
    ConsoleClosed,
    ConsoleTimeout,
    GuestCrashed,
    GuestError,
    GuestFailed,
    HarnessError,
    LaunchError,
    QmpError,
)
from harness.image import BootImage
from harness.leash import LEASH
from harness.outcome import (
    DEFAULT_FAILURES,
    FailurePattern,
    Outcome,
    Status,
    classify,
    guest_powered_off,
)
from harness.profiles import Accel, Profile
from harness.qmp import EventLog, QmpChannel, QmpEvent

DEFAULT_TIMEOUT_S = 30.0
LAUNCH_TIMEOUT_S = 30.0
"""How long QEMU may take to connect its sockets and answer QMP (loaded CI, KVM start-up)."""
QUIT_GRACE_S = 3.0
"""How long QEMU gets to exit after QMP `quit` before its process group is killed."""
FAILURE_GRACE_S = 5.0
"""After a failure line: how long the guest gets to finish (pvpanic, power-off) and exit."""
REAP_TIMEOUT_S = 10.0
"""How long a SIGKILLed QEMU may take to die (it can sit in an uninterruptible sleep)."""
WALL_FACTOR = 4.0
"""A wait of S seconds ends after S seconds of wall time *and* S seconds of QEMU CPU time, or
after WALL_FACTOR x S seconds of wall time, whichever comes first (see `TimeLimit`)."""
TAIL_LINES = 20
SOCKET_PATH_MAX = 107
_POLL_S = 0.002

_LIVE: weakref.WeakSet[Machine] = weakref.WeakSet()


@atexit.register
def _kill_leftovers() -> None:
    for machine in list(_LIVE):
        machine.kill()


DEFAULT_CPUS = 1
"""vCPUs of the default variants; a variant names its own (`Profile.smp`), `--smp` overrides."""
MAX_CPUS = 8
"""The most vCPUs the guest kernel brings up (SMP_MAX_CPUS in include/kernel/percpu.h)."""


def accel_arg(accel: Accel, cpus: int) -> str:
    """QEMU's `-accel` value: with more than one vCPU, TCG runs each on its own host thread."""
    if accel is Accel.TCG and cpus > 1:
        return "tcg,thread=multi"
    return accel.value


DETERMINISTIC_ARGS = (
    "-icount", "shift=0,sleep=off",
    "-rtc", "base=2000-01-01T00:00:00,clock=vm",
)
"""`--deterministic`: guest time counts executed instructions (1 ns each; an idle guest's
clock jumps to its next timer instead of sleeping) and the RTC starts at a fixed date and runs
on that virtual clock. TCG only."""


def qemu_args(
    profile: Profile, image: BootImage, accel: Accel, append: str = "",
    cpus: int | None = None, deterministic: bool = False,
) -> list[str]:
    """The QEMU command line booting `image`, without console and QMP plumbing.

    Minimal devices (`-nodefaults`), no display, a reset ends QEMU (`-no-reboot`) and a panic
    reported through pvpanic makes QEMU exit with a failure status. The vCPU count is `cpus`,
    or the profile's (its variant's) when None; more than 1 adds `-smp`.
    """
    ncpus = profile.smp if cpus is None else cpus
    if ncpus < 1:
        raise HarnessError(f"a guest needs at least 1 vCPU, not {ncpus}")
    if deterministic and accel is not Accel.TCG:
        raise HarnessError(f"deterministic runs need TCG (-icount), not {accel.value}")
    args = [
        profile.qemu_binary,
        "-machine", profile.machine,
        # -icount runs one TCG thread for all vCPUs
        "-accel", accel.value if deterministic else accel_arg(accel, ncpus),
        "-cpu", profile.cpu(accel),
        "-m", profile.memory,
        "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
        "-action", "panic=exit-failure",
    ]
    if ncpus > 1:
        args += ["-smp", str(ncpus)]
    for device in profile.devices:
        args += ["-device", device]
    if deterministic:
        args += DETERMINISTIC_ARGS
    args += ["-kernel", str(image.kernel)]
    if image.initrd is not None:
        args += ["-initrd", str(image.initrd)]
    if append:
        args += ["-append", append]
    return args


def _opt(path: Path) -> str:
    """A path as a QEMU option value (commas doubled)."""
    return str(path).replace(",", ",,")


def plumbing_args(serial: Path, qmp: Path, console_log: Path) -> list[str]:
    """Arguments connecting QEMU's serial port and QMP monitor to the harness's sockets."""
    return [
        "-chardev",
        f"socket,id=console,path={_opt(serial)},logfile={_opt(console_log)},logappend=off",
        "-serial", "chardev:console",
        "-chardev", f"socket,id=qmp,path={_opt(qmp)}",
        "-mon", "chardev=qmp,mode=control",
        "-S",
    ]


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system, all threads) process `pid` has used; None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


class TimeLimit:
    """A wait's limit that a loaded host does not trip: `seconds` of wall time and `seconds` of
    QEMU's CPU time must both have passed (a starved QEMU is not hung), or `wall_factor` x
    `seconds` of wall time (a guest idling in a hang uses no CPU and is still caught).

    `next_check()` says how long to wait before asking again and, once the limit is reached,
    returns 0 with `fired` naming the limit that ran out and what QEMU used.
    """

    def __init__(self, seconds: float, pid: int | None, wall_factor: float = WALL_FACTOR) -> None:
        self.seconds = seconds
        self.wall_factor = max(wall_factor, 1.0)
        self.pid = pid
        self.fired: str | None = None
        self._start = time.monotonic()
        self._cpu_start = self._cpu() or 0.0

    def _cpu(self) -> float | None:
        return None if self.pid is None else cpu_seconds(self.pid)

    def cpu_used(self) -> float:
        now = self._cpu()
        return 0.0 if now is None else max(now - self._cpu_start, 0.0)

    def next_check(self) -> float:
        """Seconds to wait before checking again; 0 once the limit has run out (see `fired`)."""
        if self.fired is not None:
            return 0.0
        wall = time.monotonic() - self._start
        cap = self.seconds * self.wall_factor
        if wall < self.seconds:
            return self.seconds - wall
        cpu = self.cpu_used()
        if cpu >= self.seconds or self.pid is None:
            self.fired = (f"the {self.seconds:g} s limit ran out (QEMU used {cpu:.2f} s of CPU "
                          f"in {wall:.2f} s)")
        elif wall >= cap:
            self.fired = (f"the {cap:g} s wall-time limit ({self.wall_factor:g} x "
                          f"{self.seconds:g} s) ran out (QEMU used only {cpu:.2f} s of CPU)")
        else:
            return max(min(self.seconds - cpu, cap - wall), 0.01)
        return 0.0


def _socket_root() -> str:
    """A temp directory short enough for two socket paths below a mkdtemp() name."""
    root = tempfile.gettempdir()
    return root if len(root) <= SOCKET_PATH_MAX - 40 else "/tmp"


def _listen(path: Path) -> socket.socket:
    if len(os.fsencode(path)) > SOCKET_PATH_MAX:
        raise OSError(f"socket path {path} is longer than {SOCKET_PATH_MAX} bytes")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        listener.listen(1)
    except BaseException:
        listener.close()
        raise
    return listener


class _Transcript:
    """pexpect's `logfile_read`: keeps every console byte read, optionally echoing it."""

    def __init__(self, echo: BinaryIO | None) -> None:
        self.data = bytearray()
        self._echo = echo

    def write(self, chunk: bytes) -> None:
        self.data += chunk
        if self._echo is not None:
            self._echo.write(chunk)
            self._echo.flush()

    def flush(self) -> None:
        """Nothing to flush: writes go straight to `data` and the echo stream."""


def _as_failure(pattern: console.PatternLike | FailurePattern) -> FailurePattern:
    if isinstance(pattern, FailurePattern):
        return pattern
    regex = console.compile_pattern(pattern)
    return FailurePattern(f"failure pattern {regex.pattern!r}", regex, Status.FAIL)


class ConsolePump:
    """Drains a connected serial socket on its own thread into a pipe (`read_fd`).

    Bytes wait in memory while the pipe is full, so QEMU never blocks on the console however
    long the reader is busy elsewhere (a QMP command, a test's own work). The pipe's write end
    is closed when QEMU closes the socket (the reader then sees EOF) or on `close()`.
    """

    def __init__(self, sock: socket.socket, name: str) -> None:
        self._sock = sock
        self._sock.setblocking(False)
        self.read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name=f"console-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pending = bytearray()
        eof = False
        try:
            while not (eof and not pending):
                readers: list[int | socket.socket] = [self._wake_r]
                if not eof:
                    readers.append(self._sock)
                writers = [self._write_fd] if pending else []
                readable, writable, _ = select.select(readers, writers, [])
                if self._wake_r in readable:
                    return
                if self._sock in readable:
                    try:
                        data = self._sock.recv(1 << 16)
                    except BlockingIOError:
                        data = None
                    except OSError:
                        data = b""
                    if data == b"":
                        eof = True
                    elif data:
                        pending += data
                if writable and pending:
                    try:
                        del pending[: os.write(self._write_fd, pending)]
                    except BlockingIOError:
                        pass
                    except OSError:  # the reader closed its end: nobody wants the rest
                        return
        finally:
            os.close(self._write_fd)

    def close(self) -> None:
        """Stop the thread and release the socket and the pump's own descriptors (the
        reader closes `read_fd`)."""
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=5.0)
        for fd in (self._wake_r, self._wake_w):
            os.close(fd)
        self._sock.close()


class Machine:
    """One QEMU guest booting `image` under `profile`; use it as a context manager."""

    def __init__(
        self,
        profile: Profile,
        image: BootImage,
        *,
        accel: Accel = Accel.TCG,
        append: str = "",
        timeout: float = DEFAULT_TIMEOUT_S,
        log_dir: Path | None = None,
        keep_artifacts: bool = False,
        echo: BinaryIO | None = None,
        launch_timeout: float = LAUNCH_TIMEOUT_S,
        cpus: int | None = None,
        wall_factor: float = WALL_FACTOR,
        deterministic: bool = False,
        gdb: str | None = None,
    ) -> None:
        """`timeout` is the default for waits (a `TimeLimit` with `wall_factor`); logs go to
        `log_dir` (default: the private temp dir, removed on exit unless `keep_artifacts`);
        console bytes are copied to `echo`; `deterministic` adds `DETERMINISTIC_ARGS`. With
        `gdb` (QEMU's `-gdb` chardev, harness.gdb) the gdbstub listens there and the guest
        stays paused after launch until a debugger resumes it."""
        self.profile = profile
        self.image = image
        self.accel = accel
        self.cpus = cpus
        self.append = append
        self.timeout = timeout
        self.keep_artifacts = keep_artifacts
        self.launch_timeout = launch_timeout
        self.wall_factor = wall_factor
        self.deterministic = deterministic
        self.gdb = gdb
        self._leash: int | None = None
        self.events = EventLog(sink=self._log_event)
        self.workdir: Path | None = None
        self.command: list[str] = []
        self._log_dir = log_dir
        self._transcript = _Transcript(echo)
        self._log_lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._reaped = False
        self._console: fdpexpect.fdspawn | None = None
        self._pump: ConsolePump | None = None
        self._qmp: QmpChannel | None = None
        self._launched_at = 0.0
        self._ended_at: float | None = None
        self._outcome: Outcome | None = None

    # -- paths and state -------------------------------------------------------------------

    @property
    def log_dir(self) -> Path:
        if self._log_dir is not None:
            return self._log_dir
        if self.workdir is None:
            raise HarnessError("the machine has not been launched")
        return self.workdir

    @property
    def console_log(self) -> Path:
        """The full serial console log, written by QEMU itself."""
        return self.log_dir / "console.log"

    @property
    def qemu_log(self) -> Path:
        return self.log_dir / "qemu.log"

    @property
    def harness_log(self) -> Path:
        """Command line, QMP events, register dumps and the outcome of this run."""
        return self.log_dir / "harness.log"

    @property
    def transcript(self) -> bytes:
        """Every console byte read so far."""
        return bytes(self._transcript.data)

    @property
    def pid(self) -> int | None:
        return None if self._proc is None else self._proc.pid

    def _log(self, text: str) -> None:
        """Append to harness.log; best effort, a log that cannot be written never stops a run."""
        stamp = time.monotonic() - self._launched_at if self._launched_at else 0.0
        try:
            with self._log_lock, open(self.harness_log, "a", encoding="utf-8") as log:
                log.writelines(f"[{stamp:9.3f}] {line}\n" for line in text.splitlines() or [""])
        except OSError:
            pass

    def _log_event(self, event: QmpEvent) -> None:
        self._log(f"QMP event {event.describe()}")

    def _error(self, cls: type[GuestError], reason: str) -> GuestError:
        return cls(
            reason,
            console_tail=console.tail(self.transcript, TAIL_LINES),
            events=[e.describe() for e in self.events.snapshot()],
            log_path=self.console_log,
            exit_status=self._proc.returncode if self._reaped and self._proc else None,
        )

    # -- life cycle ------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.launch()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, KeyboardInterrupt):
            self.kill()  # the user wants out now: no QMP quit grace period
        self.close()

    def launch(self) -> Machine:
        """Start QEMU paused, connect console and QMP, then let the guest run (unless it
        waits for a debugger, `gdb`)."""
        if self.workdir is not None:
            raise HarnessError("a Machine can be launched only once")
        self.workdir = Path(tempfile.mkdtemp(prefix="zhb-", dir=_socket_root()))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        serial_path, qmp_path = self.workdir / "console.sock", self.workdir / "qmp.sock"
        self.command = [
            *qemu_args(self.profile, self.image, self.accel, self.append, self.cpus,
                       self.deterministic),
            *plumbing_args(serial_path, qmp_path, self.console_log),
            *(["-gdb", self.gdb] if self.gdb is not None else []),
        ]
        self._leash = LEASH.hold([] if self.keep_artifacts else [self.workdir])
        listeners: list[socket.socket] = []
        try:
            for path in (serial_path, qmp_path):
                listeners.append(_listen(path))  # closed below even if the next one fails
            self._log(f"command: {shlex.join(self.command)}")
            with open(self.qemu_log, "wb") as qemu_output:
                self._launched_at = time.monotonic()
                self._proc = subprocess.Popen(
                    self.command, stdin=subprocess.DEVNULL, stdout=qemu_output,
                    stderr=subprocess.STDOUT, start_new_session=True,
                )
            LEASH.attach(self._leash, self._proc.pid)
            _LIVE.add(self)
            deadline = self._launched_at + self.launch_timeout
            serial = self._accept(listeners[0], deadline, "serial console")
            qmp_sock = self._accept(listeners[1], deadline, "QMP")
            self._pump = ConsolePump(serial, self.workdir.name)
            self._console = fdpexpect.fdspawn(self._pump.read_fd, logfile=None, use_poll=True)
            self._console.logfile_read = self._transcript
            self._qmp = QmpChannel(self.workdir.name, self.events)
            self._qmp.connect(qmp_sock, max(deadline - time.monotonic(), 0.1))
            if self.gdb is None:  # else the debugger resumes the guest
                self._qmp.execute("cont", timeout=max(deadline - time.monotonic(), 0.1))
        except (OSError, QmpError) as exc:
            reason = exc.reason if isinstance(exc, QmpError) else str(exc)
            if self._proc is not None and self._exited():
                self._reap()
                reason = f"QEMU exited with status {self._proc.returncode} during start-up"
            self.shutdown()
            error = self._launch_error(reason)
            self.close()
            raise error from exc
        except BaseException:
            self.close()
            raise
        finally:
            for listener in listeners:
                listener.close()
        return self

    def _launch_error(self, reason: str) -> LaunchError:
        try:
            output = self.qemu_log.read_text(errors="replace")
        except OSError:
            output = ""
        tail = "\n".join(output.splitlines()[-TAIL_LINES:])
        kept = self.keep_artifacts or self._log_dir is not None
        return LaunchError(self.command, reason, tail, self.harness_log if kept else None)

    def _accept(self, listener: socket.socket, deadline: float, what: str) -> socket.socket:
        """Accept QEMU's connection to `listener`, failing early if QEMU exits."""
        while True:
            ready, _, _ = select.select([listener], [], [], 0.05)
            if ready:
                conn, _ = listener.accept()
                return conn
            if self._exited():
                raise OSError(f"QEMU exited before connecting its {what} socket")
            if time.monotonic() >= deadline:
                limit = self.launch_timeout
                raise OSError(f"QEMU did not connect its {what} socket within {limit:g} s")

    def _exited(self) -> bool:
        """True once QEMU has exited; it is not reaped here (see the module docstring)."""
        if self._proc is None or self._reaped:
            return True
        try:
            info = os.waitid(os.P_PID, self._proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return True
        return info is not None

    def _wait_exited(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self._exited():
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_S)
        return True

    def _reap(self) -> None:
        """SIGKILL QEMU's process group (a no-op for an exited leader), then reap QEMU."""
        if self._proc is None or self._reaped:
            return
        try:
            os.killpg(self._proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self._proc.wait(REAP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._log(f"QEMU (pid {self._proc.pid}) survived SIGKILL for {REAP_TIMEOUT_S:g} s")
            return  # still registered in _LIVE: the exit handler tries again
        self._reaped = True
        if self._ended_at is None:
            self._ended_at = time.monotonic()
        self._log(f"QEMU exit status {self._proc.returncode}")

    def kill(self) -> None:
        """Kill QEMU's process group and reap it at once (no QMP `quit`)."""
        self._reap()

    def shutdown(self, grace: float = QUIT_GRACE_S) -> None:
        """Stop QEMU: QMP `quit`, `grace` seconds to exit, then SIGKILL the group; reap."""
        if self._proc is None or self._reaped:
            return
        deadline = time.monotonic() + grace
        if not self._exited() and self._qmp is not None:
            try:
                self._qmp.execute("quit", timeout=grace)
            except QmpError as exc:
                self._log(f"QMP quit: {exc.reason}")
        self._wait_exited(deadline - time.monotonic())
        self._reap()

    def close(self) -> None:
        """Shut QEMU down if it still runs, then release sockets and (unless kept) files."""
        try:
            self.shutdown()
        finally:
            if self._reaped or self._proc is None:
                _LIVE.discard(self)
            if self._qmp is not None:
                self._qmp.close()
            if self._console is not None:
                self._console.close()
                self._console = None
            if self._pump is not None:
                self._pump.close()
                self._pump = None
            if self.workdir is not None and not self.keep_artifacts:
                shutil.rmtree(self.workdir, ignore_errors=True)
            if self._leash is not None and (self._reaped or self._proc is None):
                LEASH.drop(self._leash)
                self._leash = None

    # -- waits -----------------------------------------------------------------------------

    def _failures(
        self, want: re.Pattern[bytes] | None, extra: Sequence[console.PatternLike | FailurePattern]
    ) -> list[FailurePattern]:
        failures = [*DEFAULT_FAILURES, *(_as_failure(p) for p in extra)]
        return [f for f in failures if want is None or f.regex.pattern != want.pattern]

    def _require_console(self) -> fdpexpect.fdspawn:
        if self._console is None:
            raise HarnessError("the machine is not running (launch it first)")
        return self._console

    def _read_until_eof(self, timeout: float) -> bool:
        """Read the console until QEMU closes it or `timeout` runs out; True on EOF."""
        index = self._require_console().expect_list(
            [pexpect.EOF, pexpect.TIMEOUT], timeout=max(timeout, 0.0)
        )
        return index == 0

    def expect(
        self,
        pattern: console.PatternLike,
        timeout: float | None = None,
        fail_patterns: Sequence[console.PatternLike | FailurePattern] = (),
    ) -> re.Match[bytes]:
        """Wait for `pattern` on the console; return its match.

        Raises GuestCrashed / GuestFailed when a failure pattern comes first (after giving a
        guest that stops there `FAILURE_GRACE_S` to finish, so the error holds the whole story),
        ConsoleClosed when QEMU exits first and ConsoleTimeout after `timeout` seconds
        (default: the machine's), having dumped the CPU registers into harness.log.
        """
        timeout = self.timeout if timeout is None else timeout
        want = console.compile_pattern(pattern)
        failures = self._failures(want, fail_patterns)
        session = self._require_console()
        limit = TimeLimit(timeout, self.pid, self.wall_factor)
        patterns = [want, *(f.regex for f in failures), pexpect.EOF, pexpect.TIMEOUT]
        while True:
            index = session.expect_list(patterns, timeout=limit.next_check())
            if index != len(patterns) - 1 or limit.next_check() == 0:
                break
        if index == 0:
            match = session.match
            assert isinstance(match, re.Match)
            return match
        if index <= len(failures):
            failure = failures[index - 1]
            if failure.ends_run and self._read_until_eof(FAILURE_GRACE_S):
                self._finish()
            seen = failure.regex.search(self.transcript)
            line = console.line_at(self.transcript, seen) if seen else failure.name
            cls = GuestCrashed if failure.status is Status.CRASH else GuestFailed
            raise self._error(cls, f"{failure.name} while waiting for {want.pattern!r}: {line}")
        if index == len(failures) + 1:
            self._finish()
            raise self._error(ConsoleClosed, f"QEMU exited before {want.pattern!r} appeared")
        self.dump_registers()
        raise self._error(
            ConsoleTimeout, f"{want.pattern!r} did not appear within {timeout:g} s: {limit.fired}"
        )

    def _finish(self) -> None:
        """QEMU closed the console: note when it exited, reap it, collect its QMP events."""
        self._wait_exited(QUIT_GRACE_S)
        if self._ended_at is None:
            self._ended_at = time.monotonic()
        self._reap()
        if self._qmp is not None:
            try:
                self._qmp.settle(QUIT_GRACE_S)
            except QmpError as exc:  # QEMU is gone; the events that did arrive are kept
                self._log(f"QMP settle: {exc.reason}")

    def wait_exit(
        self,
        timeout: float | None = None,
        fail_patterns: Sequence[console.PatternLike | FailurePattern] = (),
    ) -> Outcome:
        """Wait until QEMU exits (the guest powers off, panics...), at most `timeout` seconds.

        After a line that ends the run (a panic, the shim's error) the wait is cut to
        `FAILURE_GRACE_S`; other failure lines count only for the outcome. On a timeout the CPU
        registers go to harness.log and QEMU is stopped. The result is classified by
        `harness.outcome.classify` (it is computed once; later calls return it again).
        """
        if self._outcome is not None:
            return self._outcome
        timeout = self.timeout if timeout is None else timeout
        failures = self._failures(None, fail_patterns)
        session = self._require_console()
        limit = TimeLimit(timeout, self.pid, self.wall_factor)
        grace_end: float | None = None
        patterns = [*(f.regex for f in failures), pexpect.EOF, pexpect.TIMEOUT]
        timed_out = False
        while True:
            wait = limit.next_check()
            if grace_end is not None:
                wait = min(wait, max(grace_end - time.monotonic(), 0.0))
            index = session.expect_list(patterns, timeout=wait)
            if index < len(failures):
                if failures[index].ends_run and grace_end is None:
                    grace_end = time.monotonic() + FAILURE_GRACE_S
                continue
            if index == len(failures) + 1:  # this slice ran out
                if grace_end is not None and time.monotonic() >= grace_end:
                    timed_out = True
                    limit.fired = limit.fired or (
                        f"the guest did not exit within {FAILURE_GRACE_S:g} s of its failure line")
                    break
                if limit.next_check() > 0:
                    continue
                timed_out = True
            break
        if timed_out:
            self._ended_at = time.monotonic()
            self.dump_registers()
            self.shutdown()
            self._read_until_eof(QUIT_GRACE_S)
        self._finish()
        assert self._proc is not None and self._ended_at is not None
        events = self.events.snapshot()
        status, reason = classify(
            self.transcript, events, self._proc.returncode,
            timed_out=limit.fired if timed_out else None,
            debug_exit_status=self.profile.debug_exit_status, failures=failures,
        )
        self._outcome = Outcome(
            status=status, reason=reason, exit_status=self._proc.returncode, events=events,
            transcript=self.transcript,
            powered_off=guest_powered_off(
                events, self._proc.returncode, self.profile.debug_exit_status
            ),
            log_path=self.console_log, elapsed=self._ended_at - self._launched_at,
            command=tuple(self.command),
        )
        self._log(f"outcome {status.name}: {reason} ({self._outcome.elapsed:.3f} s)")
        return self._outcome

    # -- QMP -------------------------------------------------------------------------------

    def qmp(self, command: str, arguments: dict[str, object] | None = None,
            timeout: float = QUIT_GRACE_S) -> object:
        """Execute a QMP command and return its result."""
        if self._qmp is None:
            raise HarnessError("the machine is not running (launch it first)")
        return self._qmp.execute(command, arguments, timeout)

    def hmp(self, command_line: str, timeout: float = QUIT_GRACE_S) -> str:
        """Run a human-monitor command (e.g. `info registers`) and return its text."""
        return str(
            self.qmp("human-monitor-command", {"command-line": command_line}, timeout)
        )

    def dump_registers(self) -> None:
        """Append `info registers` to harness.log (best effort: QEMU may be gone)."""
        try:
            self._log(f"info registers:\n{self.hmp('info registers')}")
        except (QmpError, HarnessError) as exc:
            self._log(f"info registers failed: {exc}")


class MachineOptions(TypedDict, total=False):
    """The keyword options of `Machine` (Machine.__init__ has their meaning and defaults)."""

    accel: Accel
    append: str
    timeout: float
    log_dir: Path | None
    keep_artifacts: bool
    echo: BinaryIO | None
    launch_timeout: float
    cpus: int | None
    wall_factor: float
    deterministic: bool
    gdb: str | None


def boot(profile: Profile, image: BootImage, **options: Unpack[MachineOptions]) -> Outcome:
    """Boot `image` once and wait for QEMU to exit: `Machine(profile, image, **options)`,
    launch, `wait_exit()` within the machine's `timeout`, clean up."""
    with Machine(profile, image, **options) as machine:
        return machine.wait_exit()
