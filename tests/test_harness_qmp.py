"""QMP event handling: QmpEvent parsing, EventLog waits, and QmpChannel against a fake peer.

The peer is conftest.FakeQmpServer on the other end of a socketpair, in a thread: no QEMU.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from conftest import REGISTERS, FakeQmpServer

from harness.errors import QmpError
from harness.qmp import EventLog, QmpChannel, QmpEvent

SHUTDOWN_MESSAGE = {
    "event": "SHUTDOWN",
    "data": {"guest": True, "reason": "guest-shutdown"},
    "timestamp": {"seconds": 1700000000, "microseconds": 250000},
}


def test_event_from_message() -> None:
    event = QmpEvent.from_message(SHUTDOWN_MESSAGE)
    assert event.name == "SHUTDOWN"
    assert event.data == {"guest": True, "reason": "guest-shutdown"}
    assert event.timestamp == 1700000000.25
    assert event.is_guest_poweroff
    assert event.describe() == "SHUTDOWN(guest=True, reason=guest-shutdown)"


@pytest.mark.parametrize(
    "name, data",
    [
        ("SHUTDOWN", {"guest": False, "reason": "host-qmp-quit"}),
        ("SHUTDOWN", {"guest": True, "reason": "guest-reset"}),
        ("SHUTDOWN", {"guest": True, "reason": "guest-panic"}),
        ("RESET", {"guest": True, "reason": "guest-shutdown"}),
        ("STOP", {}),
    ],
)
def test_only_a_guest_shutdown_is_a_poweroff(name: str, data: dict[str, object]) -> None:
    assert not QmpEvent(name, data).is_guest_poweroff


def test_event_without_data_or_timestamp() -> None:
    event = QmpEvent.from_message({"event": "STOP"})
    assert (event.name, dict(event.data), event.timestamp) == ("STOP", {}, 0.0)
    assert event.describe() == "STOP"


def test_describe_leaves_out_panic_info() -> None:
    event = QmpEvent("GUEST_PANICKED", {"action": "poweroff", "info": {"type": "hyper-v"}})
    assert event.describe() == "GUEST_PANICKED(action=poweroff)"


def test_event_log_wait_for_wakes_on_append() -> None:
    seen: list[QmpEvent] = []
    log = EventLog(sink=seen.append)
    later = threading.Timer(0.05, log.append, [QmpEvent("SHUTDOWN")])
    log.append(QmpEvent("RESUME"))
    later.start()
    try:
        found = log.wait_for("SHUTDOWN", timeout=30)
    finally:
        later.join()
    assert found == QmpEvent("SHUTDOWN")
    assert [e.name for e in log.snapshot()] == ["RESUME", "SHUTDOWN"]
    assert seen == list(log.snapshot())


def test_event_log_wait_for_times_out() -> None:
    log = EventLog()
    log.append(QmpEvent("RESUME"))
    assert log.wait_for("SHUTDOWN", timeout=0.05) is None


@pytest.fixture
def peer() -> Iterator[Callable[[Callable[[FakeQmpServer], None]], QmpChannel]]:
    """connect(script): a QmpChannel whose peer runs `script(server)` after the greeting."""
    threads: list[threading.Thread] = []
    channels: list[QmpChannel] = []

    def connect(script: Callable[[FakeQmpServer], None]) -> QmpChannel:
        ours, theirs = socket.socketpair()
        server = FakeQmpServer(theirs)

        def run() -> None:
            server.greet()
            server.serve(until="qmp_capabilities")
            script(server)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        threads.append(thread)
        channel = QmpChannel("test", EventLog())
        channels.append(channel)
        channel.connect(ours, timeout=30)
        return channel

    yield connect
    for channel in channels:
        channel.close()
    for thread in threads:
        thread.join(30)


def test_channel_records_events_and_executes(peer: Callable[..., QmpChannel]) -> None:
    def script(server: FakeQmpServer) -> None:
        server.serve(until="cont")  # answers cont and sends RESUME
        server.serve(until="human-monitor-command")
        server.event("STOP")
        server.serve()

    channel = peer(script)
    events = channel.events
    assert channel.execute("cont") == {}
    assert events.wait_for("RESUME", timeout=30) is not None
    assert channel.execute("human-monitor-command", {"command-line": "info registers"}) == (
        REGISTERS + "\r\n"
    )
    assert events.wait_for("STOP", timeout=30) is not None
    assert channel.execute("query-status") == {"status": "running", "running": True}


def test_channel_maps_command_errors(peer: Callable[..., QmpChannel]) -> None:
    channel = peer(lambda server: server.serve())
    with pytest.raises(QmpError) as caught:
        channel.execute("no-such-command")
    assert caught.value.command == "no-such-command"
    assert "CommandNotFound" in caught.value.reason or "no no-such-command" in caught.value.reason


def test_channel_times_out(peer: Callable[..., QmpChannel]) -> None:
    hold = threading.Event()
    channel = peer(lambda server: hold.wait(30))
    try:
        with pytest.raises(QmpError, match="no answer within"):
            channel.execute("query-status", timeout=0.1)
    finally:
        hold.set()


def test_settle_keeps_events_sent_just_before_hangup(peer: Callable[..., QmpChannel]) -> None:
    def script(server: FakeQmpServer) -> None:
        server.serve(until="cont")
        server.event("GUEST_PANICKED", action="poweroff")
        server.event("SHUTDOWN", guest=True, reason="guest-panic")
        server.sock.close()

    channel = peer(script)
    channel.execute("cont")
    channel.settle(timeout=30)
    names = [e.name for e in channel.events.snapshot()]
    assert names == ["RESUME", "GUEST_PANICKED", "SHUTDOWN"]
    with pytest.raises(QmpError, match="not connected|connection|EOF"):
        channel.execute("query-status", timeout=1)
