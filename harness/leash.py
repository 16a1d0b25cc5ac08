"""The leash: QEMU processes and temp dirs that die with the harness, whatever kills it.

A harness that exits normally shuts every QEMU down and removes its `/tmp/zhb-*` directory
itself (`harness.machine`). One that is killed (SIGKILL, a SIGHUP it does not handle, a
crashed interpreter) runs none of that. So the first process that holds something on a leash
starts a small watchdog process (Python, standard library only, in a session of its own so a
signal to the harness's terminal or process group does not reach it) and keeps the write end
of a pipe that is the watchdog's stdin. It tells the watchdog, one JSON line each::

    {"op": "hold", "id": N, "paths": [...]}        before QEMU starts: its directories
    {"op": "pid",  "id": N, "pid": P}              right after: QEMU's process id
    {"op": "drop", "id": N}                        after the harness cleaned up itself

The watchdog opens a pidfd for every `pid` (so it can never signal a recycled pid). When the
pipe reaches end of file without the harness having dropped an entry (the harness is gone: the
kernel closes the pipe of a dead process whatever killed it), the watchdog SIGKILLs the
entry's process group and process, also any session leader whose command line names one of the
entry's paths (QEMU started between `hold` and `pid`: its socket paths are on its command
line), waits for them to die and removes the paths. Then it exits.
"""

from __future__ import annotations

import itertools
import json
import os
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

WATCHDOG = r'''
import json, os, select, shutil, signal, sys, time

entries = {}
for line in sys.stdin:
    try:
        msg = json.loads(line)
    except ValueError:
        continue
    key = msg.get("id")
    if msg.get("op") == "hold":
        entries[key] = {"paths": msg.get("paths", []), "pidfd": None, "pid": None}
    elif msg.get("op") == "pid" and key in entries:
        try:
            entries[key]["pidfd"] = os.pidfd_open(msg["pid"])
            entries[key]["pid"] = msg["pid"]
        except OSError:
            pass
    elif msg.get("op") == "drop":
        entry = entries.pop(key, None)
        if entry and entry["pidfd"] is not None:
            os.close(entry["pidfd"])
if not entries:
    sys.exit(0)

def alive(fd):
    return not select.select([fd], [], [], 0)[0]

def strays(paths):
    """Session leaders whose command line names one of `paths` (QEMU before its pid came)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            if os.getsid(pid) != pid:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if any(os.fsencode(p) in cmdline for p in paths):
            found.append(pid)
    return found

fds = []
for entry in entries.values():
    fd = entry["pidfd"]
    if fd is not None and alive(fd):
        try:
            os.killpg(entry["pid"], signal.SIGKILL)  # the leader lives: its group id is its own
        except OSError:
            pass
        try:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
        except OSError:
            pass
        fds.append(fd)
    for pid in strays(entry["paths"]):
        try:
            fd = os.pidfd_open(pid)
            os.killpg(pid, signal.SIGKILL)
            signal.pidfd_send_signal(fd, signal.SIGKILL)
            fds.append(fd)
        except OSError:
            pass
deadline = time.monotonic() + 10.0
while any(alive(fd) for fd in fds) and time.monotonic() < deadline:
    time.sleep(0.02)
for entry in entries.values():
    for path in entry["paths"]:
        shutil.rmtree(path, ignore_errors=True)
'''


class Leash:
    """The harness process's side of the watchdog (one per process; see the docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._owner = 0
        self._pipe: int | None = None
        self.watchdog_pid: int | None = None

    def _send(self, message: dict[str, object]) -> None:
        """Write one line to the watchdog, starting it first if this process has none.

        The watchdog is spawned and fed through a bare pid and descriptor, not a Popen or file
        object, so nothing warns or closes the pipe if this object is ever dropped (pytester
        re-imports the harness in-process): the pipe then stays open until the process ends.
        """
        if self._pipe is not None and self._owner != os.getpid():
            os.close(self._pipe)  # a forked child: its parent's watchdog is not its own
            self._pipe = None
        if self._pipe is None:
            read_end, self._pipe = os.pipe()
            try:
                self.watchdog_pid = os.posix_spawn(
                    sys.executable, [sys.executable, "-I", "-S", "-c", WATCHDOG], os.environ,
                    file_actions=[
                        (os.POSIX_SPAWN_DUP2, read_end, 0),
                        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                        (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
                    ],
                    setsid=True,
                )
            finally:
                os.close(read_end)
            self._owner = os.getpid()
        data = json.dumps(message).encode() + b"\n"
        try:
            while data:
                data = data[os.write(self._pipe, data):]
        except BrokenPipeError:  # someone killed the watchdog: entries so far are lost
            os.close(self._pipe)
            self._pipe = None
            raise

    def hold(self, paths: Iterable[Path]) -> int:
        """Put `paths` on the leash (removed if the harness dies); return the entry's id."""
        with self._lock:
            key = next(self._ids)
            self._send({"op": "hold", "id": key, "paths": [str(p) for p in paths]})
            return key

    def attach(self, key: int, pid: int) -> None:
        """Add process `pid` (a session leader: it and its group are killed) to entry `key`."""
        with self._lock:
            self._send({"op": "pid", "id": key, "pid": pid})

    def drop(self, key: int) -> None:
        """The harness cleaned entry `key` up itself: the watchdog forgets it."""
        with self._lock:
            try:
                self._send({"op": "drop", "id": key})
            except BrokenPipeError:
                pass  # the watchdog is gone: nothing is left to forget


LEASH = Leash()
"""The leash of this process."""
