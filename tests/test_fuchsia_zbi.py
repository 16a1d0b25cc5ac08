"""Fuchsia's own ZBI tests (tests/data/*.zbi, built by Fuchsia) booted through our x86-64 shim.

They are phys kernels that print a success string and reset the machine (harness.fuchsia);
these tests boot them with the `fuchsia_test` fixture. x86-64 only: the images hold
KERNEL_X64 items. Besides the three real images, one composed by our own `zbi` tool
(chain-load-test, then x86-boot-shim-tests as a zstd STORAGE_KERNEL item) must chain-load
through every kernel to the success string, which shows that our tool writes what Fuchsia's
kernels read. The classification itself is unit-tested on recorded transcripts without QEMU.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.fuchsia import classify_fuchsia, is_fuchsia_test_image
from harness.outcome import Outcome, Status
from harness.profiles import Profile
from harness.qmp import QmpEvent
from zbi_tools.cli import main as zbi_main

DATA = Path(__file__).parent / "data"
FuchsiaTest = Callable[[Path], Outcome]
MODULE = re.compile(rb"\{\{\{module:0:([^:]+):")


@pytest.fixture
def x86_64_only(profile: Profile) -> None:
    if profile.name != "x86_64":
        pytest.skip("the Fuchsia ZBI tests in tests/data are x86-64 kernels")
    if profile.cpu_tcg == "qemu64":
        pytest.skip(f"{profile.label}: the Fuchsia-built kernels in tests/data reset the "
                    "machine under the qemu64 CPU model (they assume CPU features it lacks)")


def kernels_booted(outcome: Outcome) -> list[str]:
    """The phys programs in the order they started (symbolizer markup, repeats folded)."""
    names: list[str] = []
    for name in MODULE.findall(outcome.transcript):
        if not names or names[-1] != name.decode():
            names.append(name.decode())
    return names


@pytest.mark.usefixtures("x86_64_only")
@pytest.mark.parametrize("name", ["zbi-chain-load-hello-world-test", "x86-boot-shim-tests"])
def test_fuchsia_zbi_test_passes(fuchsia_test: FuchsiaTest, name: str) -> None:
    outcome = fuchsia_test(DATA / f"{name}.zbi")
    assert outcome.status is Status.PASS, outcome.reason
    assert outcome.reason.endswith("then a guest reset")


@pytest.mark.usefixtures("x86_64_only")
def test_chain_load_test_alone_fails(fuchsia_test: FuchsiaTest) -> None:
    outcome = fuchsia_test(DATA / "chain-load-test.zbi")
    assert outcome.status is Status.FAIL
    assert "*** Test FAILED: status" in outcome.reason
    assert "No ZBI_TYPE_STORAGE_KERNEL item found" in outcome.reason


@pytest.mark.usefixtures("x86_64_only")
def test_composed_chain_load_boots_every_kernel(
    fuchsia_test: FuchsiaTest, tmp_path: Path
) -> None:
    composed = tmp_path / "composed.zbi"
    assert zbi_main([
        "-o", str(composed), str(DATA / "chain-load-test.zbi"),
        "-c", "zstd", "-T", "KERNEL", str(DATA / "x86-boot-shim-tests.zbi"),
    ]) == 0
    outcome = fuchsia_test(composed)
    assert outcome.status is Status.PASS, outcome.reason
    assert kernels_booted(outcome) == [
        "chain-load-test", "x86-legacy-zbi-boot-shim", "pic-1mb-shim", "hello-world-test",
    ]


# -- classification and detection, no QEMU ---------------------------------------------------

RESET = QmpEvent("SHUTDOWN", {"guest": True, "reason": "guest-reset"})
POWER_OFF = QmpEvent("SHUTDOWN", {"guest": True, "reason": "guest-shutdown"})
QUIT = QmpEvent("SHUTDOWN", {"guest": False, "reason": "host-qmp-quit"})
SUCCESS = b"hello\n*** Test succeeded ***\n***ZBI-test-successful!-MDd7/O65=***\n"


@pytest.mark.parametrize("transcript, events, status, reason", [
    pytest.param(SUCCESS, [RESET], Status.PASS, "*** Test succeeded ***, then a guest reset",
                 id="success-reset"),
    pytest.param(b"x\nBoot-test-successful\n", [RESET], Status.PASS, "Boot-test-successful",
                 id="new-success-reset"),
    pytest.param(SUCCESS, [POWER_OFF], Status.FAIL, "instead of resetting", id="power-off"),
    pytest.param(b"booting\n", [RESET], Status.FAIL, "without the success string",
                 id="reset-only"),
    pytest.param(b"why\n*** Test FAILED: status -1 ***\n", [RESET], Status.FAIL,
                 "test failed: *** Test FAILED: status -1 *** (after: why)", id="failed"),
    pytest.param(b"ASSERT FAILED at (a.cc:3): x\n" + SUCCESS, [RESET], Status.FAIL,
                 "assertion failed: ASSERT FAILED at (a.cc:3): x", id="assert"),
    pytest.param(b"ZIRCON KERNEL PANIC: oops\n", [RESET], Status.CRASH, "kernel panic",
                 id="panic"),
    pytest.param(b"phys: abort() called!\n", [RESET], Status.CRASH, "abort: phys: abort()",
                 id="abort"),
    pytest.param(SUCCESS, [QUIT], Status.TIMEOUT, "did not reset", id="timeout"),
    pytest.param(SUCCESS, [], Status.FAIL, "without a guest reset", id="qemu-exit"),
])
def test_classify_fuchsia(
    transcript: bytes, events: list[QmpEvent], status: Status, reason: str
) -> None:
    got_status, got_reason = classify_fuchsia(transcript, events, 0)
    assert got_status is status
    assert reason in got_reason


def test_fuchsia_images_are_detected() -> None:
    for path in DATA.glob("*.zbi"):
        assert is_fuchsia_test_image(path.read_bytes()), path
    assert not is_fuchsia_test_image(b"not a ZBI")
