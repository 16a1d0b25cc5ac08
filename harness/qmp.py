"""QMP for synchronous code: recorded events and a `qemu.qmp.QMPClient` on its own thread.

`QmpEvent` is one event as QEMU sent it (name, data, timestamp). `EventLog` is a thread-safe,
append-only list of them that callers can wait on. `QmpChannel` owns a `QMPClient` running on a
private asyncio event loop in a daemon thread: the harness hands it an already connected socket
(QEMU connects to a unix socket the harness listens on), and from then on every event is appended
to the `EventLog` the moment it arrives, even while the caller is blocked on the serial console.
Commands are executed with a timeout; any `qemu.qmp` or socket error is turned into `QmpError`
here, at one place.

Events the harness interprets (QEMU 7.2 QAPI): `SHUTDOWN {guest, reason}` where
`reason == "guest-shutdown"` is a guest power-off (ACPI S5 or PSCI SYSTEM_OFF) and
`"guest-reset"` a reset turned into an exit by `-no-reboot`; `GUEST_PANICKED {action, info}`
from the pvpanic device; `RESET {guest, reason}`; `STOP`.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from qemu.qmp import EventListener, QMPClient, QMPError, Runstate

from harness.errors import QmpError

T = TypeVar("T")


@dataclass(frozen=True)
class QmpEvent:
    """One QMP event: its name, its `data` member and QEMU's timestamp (seconds)."""

    name: str
    data: Mapping[str, Any] = field(default_factory=dict)
    timestamp: float = 0.0

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> QmpEvent:
        """Build an event from a decoded QMP message (`{"event": ..., "data": ...}`)."""
        stamp = message.get("timestamp") or {}
        seconds = float(stamp.get("seconds", 0)) + float(stamp.get("microseconds", 0)) / 1e6
        return cls(str(message["event"]), dict(message.get("data") or {}), seconds)

    @property
    def is_guest_poweroff(self) -> bool:
        """True for the SHUTDOWN event of a guest-initiated power-off (not a reset or panic)."""
        return (
            self.name == "SHUTDOWN"
            and self.data.get("guest") is True
            and self.data.get("reason") == "guest-shutdown"
        )

    def describe(self) -> str:
        """`NAME` or `NAME(key=value, ...)` for logs and error messages."""
        if not self.data:
            return self.name
        args = ", ".join(f"{k}={v}" for k, v in self.data.items() if k != "info")
        return f"{self.name}({args})"


class EventLog:
    """A thread-safe, append-only record of QMP events that can be waited on."""

    def __init__(self, sink: Callable[[QmpEvent], None] | None = None) -> None:
        """`sink`, if given, is called with each event after it was recorded."""
        self._events: list[QmpEvent] = []
        self._changed = threading.Condition()
        self._sink = sink

    def append(self, event: QmpEvent) -> None:
        """Record `event` and wake every waiter."""
        with self._changed:
            self._events.append(event)
            self._changed.notify_all()
        if self._sink is not None:
            self._sink(event)

    def snapshot(self) -> tuple[QmpEvent, ...]:
        """Every event recorded so far, oldest first."""
        with self._changed:
            return tuple(self._events)

    def wait_for(self, name: str, timeout: float) -> QmpEvent | None:
        """The first event called `name`, waiting up to `timeout` seconds for it; else None."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for event in self._events:
                    if event.name == name:
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)


class QmpChannel:
    """A QMP client on a private event-loop thread, recording every event into an EventLog."""

    def __init__(self, name: str, events: EventLog) -> None:
        self._name = name
        self.events = events
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name=f"qmp-{name}", daemon=True
        )
        self._thread.start()
        self._client: QMPClient | None = None
        self._listener: EventListener | None = None
        self._pump: asyncio.Task[None] | None = None

    def _run(self, what: str, coro: Coroutine[Any, Any, T], timeout: float) -> T:
        """Run `coro` on the loop thread; map every failure onto QmpError(`what`)."""
        future = asyncio.run_coroutine_threadsafe(asyncio.wait_for(coro, timeout), self._loop)
        try:
            return future.result(timeout + 1.0)
        except TimeoutError:
            future.cancel()
            raise QmpError(what, f"no answer within {timeout:g} s") from None
        except (QMPError, OSError, EOFError) as exc:
            raise QmpError(what, f"{type(exc).__name__}: {exc}") from exc

    def connect(self, sock: socket.socket, timeout: float) -> None:
        """Run the QMP greeting and capability negotiation over the connected `sock`."""
        self._run("connect", self._connect(sock), timeout)

    async def _connect(self, sock: socket.socket) -> None:
        # Listener and pump exist before the session does, so that even events QEMU sends
        # right after the negotiation (and before connect() returns) are recorded.
        self._client, self._listener = QMPClient(self._name), EventListener()
        self._client.register_listener(self._listener)
        self._pump = asyncio.get_running_loop().create_task(self._drain(self._listener))
        try:
            await self._client.connect(sock)
        except AssertionError as exc:  # qemu.qmp asserts RUNNING; the peer already hung up
            raise QmpError("connect", "QEMU hung up right after the negotiation") from exc

    async def _drain(self, listener: EventListener) -> None:
        async for message in listener:
            self.events.append(QmpEvent.from_message(message))

    def execute(
        self, command: str, arguments: Mapping[str, object] | None = None, timeout: float = 5.0
    ) -> object:
        """Execute a QMP command and return its `return` value."""
        return self._run(command, self._execute(command, arguments), timeout)

    async def _execute(self, command: str, arguments: Mapping[str, object] | None) -> object:
        if self._client is None or self._client.runstate != Runstate.RUNNING:
            raise QmpError(command, "not connected")
        return await self._client.execute(command, dict(arguments or {}))

    def settle(self, timeout: float) -> None:
        """After QEMU exited: wait for the client to see end-of-file, then record every event
        still queued, so `EventLog` holds everything QEMU sent before it went away."""
        try:
            self._run("settle", self._settle(), timeout)
        except QmpError:
            pass  # QEMU went away without closing cleanly; record what did arrive
        self._run("flush", self._flush(), timeout)

    async def _settle(self) -> None:
        while self._client is not None and self._client.runstate == Runstate.RUNNING:
            await self._client.runstate_changed()

    async def _flush(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            self._pump = None
        if self._listener is not None:
            for message in self._listener.clear():
                self.events.append(QmpEvent.from_message(message))

    def close(self) -> None:
        """Record pending events, disconnect and stop the loop thread (idempotent)."""
        if self._loop.is_closed():
            return
        try:
            self._run("disconnect", self._close(), 5.0)
        except QmpError:
            pass  # the peer is gone; the loop is stopped below either way
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)
        self._loop.close()

    async def _close(self) -> None:
        await self._flush()
        client, self._client = self._client, None
        if client is not None:
            try:
                await client.disconnect()
            except (QMPError, OSError, EOFError):
                pass  # the reader saw QEMU hang up: expected once QEMU has exited
