"""`python -m harness`: usage, help and one-line errors (nothing is built or booted here)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import image as image_module
from harness.cli import main, sigterm_interrupts
from harness.image import GuestOutputs
from harness.profiles import get_profile
from zbi_tools import ZbiImage, format


def test_help_for_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ([], ["boot"], ["image"], ["accel"]):
        with pytest.raises(SystemExit) as caught:
            main([*command, "--help"])
        assert caught.value.code == 0
    out = capsys.readouterr().out
    assert "out/x86_64/shim.elf" in out  # image --help says how x86_64 images boot


@pytest.mark.parametrize(
    "argv",
    [[], ["boot"], ["image", "--arch", "arm64"], ["boot", "--arch", "arm64", "--accel", "hvf"]],
)
def test_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["boot", "image", "accel"])
def test_unknown_arch_is_one_line(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    extra = ["-o", "/nonexistent/image"] if command == "image" else []
    assert main([command, "--arch", "sparc", *extra]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        (f"{command}: unknown architecture 'sparc' "
         "(known: aarch64, amd64, arm64, x64, x86-64, x86_64)"),
    ]
    assert captured.out == ""


def test_module_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "boot", "--arch", "mips"],
        capture_output=True, text=True, check=False, timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("boot: unknown architecture 'mips'")
    assert "Traceback" not in done.stderr


@pytest.fixture
def fake_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Make build_guest() return filler outputs in tmp_path/out/<arch> (no make)."""

    def build(arch: str) -> GuestOutputs:
        profile = get_profile(arch)
        outputs = GuestOutputs.of(profile, tmp_path / "out" / profile.name)
        outputs.kernel.parent.mkdir(parents=True, exist_ok=True)
        outputs.kernel.write_bytes(format.KERNEL_HEADER.pack(0x1000, 0) + b"K" * 64)
        outputs.shim.write_bytes(b"S" * profile.layout.append_align)
        outputs.poweroff.write_bytes(b"P")
        return outputs

    monkeypatch.setattr(image_module, "build_guest", build)
    return tmp_path / "out"


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_image_writes_file_and_prints_qemu_line(
    arch: str, fake_build: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "image"
    assert main(["image", "--arch", arch, "-o", str(output), "--append", "a=b c"]) == 0
    command = shlex.split(capsys.readouterr().out)
    profile = get_profile(arch)
    assert command[0] == profile.qemu_binary
    assert command[-2:] == ["-serial", "stdio"]
    data = output.read_bytes()
    if profile.layout.zbi_as_initrd:
        zbi = data
        assert command[command.index("-kernel") + 1] == str(fake_build / arch / "shim.elf")
        assert command[command.index("-initrd") + 1] == str(output)
    else:
        zbi = data[profile.layout.append_align:]
        assert command[command.index("-kernel") + 1] == str(output)
        assert "-initrd" not in command
    items = ZbiImage.parse(zbi).items
    assert items[1].payload == b"a=b c\0"


def test_sigterm_becomes_keyboard_interrupt() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), sigterm_interrupts():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this at once
    assert signal.getsignal(signal.SIGTERM) == before
