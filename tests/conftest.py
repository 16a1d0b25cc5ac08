"""Test configuration: the zhb harness plugin, pytester, and a fake QEMU for unit tests.

`harness.plugin` adds --arch / --accel / --boot-timeout / --keep-artifacts and the boot
fixtures (arch, profile, make_image, launch, booted_machine...); `pytester` runs the plugin's
own tests.

The fake QEMU lets the harness's unit tests exercise `Machine` and `QmpChannel` without QEMU:
`FakeQmpServer` speaks QEMU's side of QMP over a socket, and `fake_qemu_main()` stands in for a
`qemu-system-*` binary. It connects to the console and QMP sockets named by the `-chardev`
options as QEMU does, writes the console log, waits for `cont` and then plays the scenario named
by `-append` (see SCENARIOS). The `fake_profile` fixture writes an executable that runs it and
returns a Profile whose `qemu_binary` is that executable.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

pytest_plugins = ["harness.plugin", "pytester"]

REGISTERS = "RIP=000000000000dead RSP=000000000000beef"


class FakeQmpServer:
    """QEMU's side of a QMP connection over `sock`: greeting, commands, events."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.ignore_quit = False
        self._pending = ""

    def requests(self) -> Iterator[dict[str, Any]]:
        """Commands as they arrive (QMP clients need not end them with a newline)."""
        decoder = json.JSONDecoder()
        while True:
            self._pending = self._pending.lstrip()
            try:
                request, end = decoder.raw_decode(self._pending)
            except json.JSONDecodeError:
                chunk = self.sock.recv(4096)
                if not chunk:
                    return
                self._pending += chunk.decode()
                continue
            self._pending = self._pending[end:]
            yield request

    def send(self, message: dict[str, Any]) -> None:
        self.sock.sendall(json.dumps(message).encode() + b"\n")

    def event(self, name: str, **data: Any) -> None:
        now = time.time()
        stamp = {"seconds": int(now), "microseconds": int(now % 1 * 1e6)}
        self.send({"event": name, "data": data, "timestamp": stamp})

    def greet(self) -> None:
        self.send({"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0},
                                       "package": "fake"}, "capabilities": []}})

    def serve(self, until: str | None = None) -> str | None:
        """Answer commands until `until` was answered (returned) or the peer hangs up."""
        for request in self.requests():
            command, reply_id = request["execute"], request.get("id")
            if command == "quit" and self.ignore_quit:
                continue  # a wedged QEMU: the harness must fall back to SIGKILL
            if command in ("qmp_capabilities", "cont", "quit"):
                reply: dict[str, Any] = {"return": {}}
            elif command == "human-monitor-command":
                reply = {"return": REGISTERS + "\r\n"}
            elif command == "query-status":
                reply = {"return": {"status": "running", "running": True}}
            else:
                reply = {"error": {"class": "CommandNotFound", "desc": f"no {command}"}}
            if reply_id is not None:
                reply["id"] = reply_id
            self.send(reply)
            if command == "cont":
                self.event("RESUME")
            if command == "quit":
                self.event("SHUTDOWN", guest=False, reason="host-qmp-quit")
                sys.exit(0)
            if command == until:
                return command
        return None


def _say(console: socket.socket, log: BinaryIO, text: str) -> None:
    data = text.replace("\n", "\r\n").encode()
    log.write(data)
    log.flush()
    console.sendall(data)


BANNER = "zhb kernel: booting on fake\nzhb kernel: cmdline: \n"
SCENARIOS = {
    "poweroff": "banner, power-off: SHUTDOWN(guest, guest-shutdown), exit 0",
    "silent": "no output, power-off, exit 0",
    "panic": "banner, panic line, GUEST_PANICKED, exit 1",
    "panic-hang": "banner, panic line, then nothing (no pvpanic) until QMP quit",
    "shim-error": "shim error line, power-off, exit 0",
    "reset": "banner, SHUTDOWN(guest, guest-reset), exit 0",
    "hang": "banner, a child process in the group, then nothing until QMP quit",
    "spin": "like hang, but a thread burns CPU (a guest hung in a busy loop)",
    "starved": "banner, 0.8 s using no CPU (as a QEMU the host starves), then power-off",
    "wedged": "like hang, but QMP quit is ignored: only SIGKILL ends it",
    "die": "print an error and exit 3 before connecting anything",
}


def _spin() -> None:
    while True:
        pass


def fake_qemu_main(argv: list[str]) -> int:
    """Behave like qemu-system-* started by harness.machine.Machine (see the docstring)."""
    options: dict[str, list[str]] = {}
    for flag, value in itertools.pairwise(argv):
        if flag.startswith("-"):
            options.setdefault(flag, []).append(value)
    scenario = options.get("-append", ["poweroff"])[0]
    if scenario not in SCENARIOS:
        print(f"fake-qemu: unknown scenario {scenario!r}", file=sys.stderr)
        return 2
    if scenario == "die":
        print("fake-qemu: cannot start", file=sys.stderr)
        return 3
    chardevs = {}
    for spec in options["-chardev"]:
        fields = dict(part.split("=", 1) for part in spec.split(",")[1:])
        chardevs[fields["id"]] = fields
    console = socket.socket(socket.AF_UNIX)
    console.connect(chardevs["console"]["path"])
    qmp_sock = socket.socket(socket.AF_UNIX)
    qmp_sock.connect(chardevs["qmp"]["path"])
    qmp = FakeQmpServer(qmp_sock)
    qmp.ignore_quit = scenario == "wedged"
    qmp.greet()
    with open(chardevs["console"]["logfile"], "wb") as log:
        qmp.serve(until="cont")
        if scenario == "silent":
            qmp.event("SHUTDOWN", guest=True, reason="guest-shutdown")
            return 0
        if scenario == "shim-error":
            _say(console, log, "zhb-shim: error: invalid ZBI: item CRC32 mismatch\n")
            qmp.event("SHUTDOWN", guest=True, reason="guest-shutdown")
            return 0
        _say(console, log, BANNER)
        if scenario == "poweroff":
            _say(console, log, "zhb kernel: powering off\n")
            qmp.event("SHUTDOWN", guest=True, reason="guest-shutdown")
            return 0
        if scenario == "panic":
            _say(console, log, "ZIRCON KERNEL PANIC: fake: test\n")
            qmp.event("GUEST_PANICKED", action="poweroff")
            qmp.event("SHUTDOWN", guest=True, reason="guest-panic")
            return 1
        if scenario == "panic-hang":
            _say(console, log, "ZIRCON KERNEL PANIC: fake: stuck\n")
            qmp.serve()
            return 0
        if scenario == "starved":
            time.sleep(0.8)
            qmp.event("SHUTDOWN", guest=True, reason="guest-shutdown")
            return 0
        if scenario == "spin":
            threading.Thread(target=_spin, daemon=True).start()
        if scenario == "reset":
            qmp.event("SHUTDOWN", guest=True, reason="guest-reset")
            return 0
        child = subprocess.Popen(["sleep", "600"])
        _say(console, log, f"fake: child {child.pid}\n")
        qmp.serve()
        return 0


@pytest.fixture
def fake_profile(tmp_path: Path) -> Any:
    """A Profile whose QEMU is fake_qemu_main(); pick the scenario with Machine(append=...)."""
    from harness.profiles import X86_64

    binary = tmp_path / "fake-qemu"
    binary.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from conftest import fake_qemu_main\n"
        "sys.exit(fake_qemu_main(sys.argv[1:]))\n"
    )
    binary.chmod(0o755)
    return dataclasses.replace(X86_64, name="fake", qemu_binary=str(binary))


def process_gone(pid: int, timeout: float = 10.0) -> bool:
    """True once `pid` no longer runs (gone, or a zombie awaiting its new parent)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)

