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

from bootfs_tools import BootfsImage
from harness import cli as cli_module
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
    helped = subprocess.run([sys.executable, "-m", "harness", "--help"], capture_output=True,
                            text=True, check=False, timeout=60)
    assert helped.stdout.startswith("usage: python -m harness ")


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
        (outputs.kernel.parent / "bin").mkdir(exist_ok=True)
        (outputs.kernel.parent / "bin" / "core-tests").write_bytes(b"\x7fELF core-tests")
        (outputs.kernel.parent / "bin" / "microbench").write_bytes(b"\x7fELF microbench")
        return outputs

    monkeypatch.setattr(image_module, "build_guest", build)
    monkeypatch.setattr(cli_module, "build_guest", build)
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
    assert bytes(items[1].payload) == b"userboot.next=bin/core-tests userboot.shutdown a=b c\0"
    bootfs = BootfsImage.parse(items[2].decompressed())
    assert bootfs.read("bin/core-tests") == b"\x7fELF core-tests"
    assert bootfs.read("bin/microbench") == b"\x7fELF microbench"


def test_image_program_option_picks_userboot_next(
    fake_build: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "image.zbi"
    assert main(["image", "--arch", "x86_64", "-o", str(output), "--program", "microbench"]) == 0
    items = ZbiImage.parse(output.read_bytes()).items
    assert bytes(items[1].payload) == b"userboot.next=bin/microbench userboot.shutdown\0"


def test_unknown_program_is_one_line(
    fake_build: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "image.zbi"
    assert main(["image", "--arch", "x86_64", "-o", str(output), "--program", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "no guest program 'nope'" in err
    assert "core-tests, microbench" in err
    assert not output.exists()


@pytest.fixture
def no_launch(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the CLI chooses an accelerator (which may boot QEMU) or boots."""

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("QEMU must not be started for a bad argument")

    monkeypatch.setattr(cli_module, "choose_accel", forbidden)
    monkeypatch.setattr(cli_module, "boot", forbidden)


def test_boot_missing_image_is_one_line(
    fake_build: Path, no_launch: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.zbi"
    assert main(["boot", "--arch", "x86_64", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err == f"boot: x86_64 image: {missing}: no such file\n"


def test_boot_unknown_program_is_refused_before_launch(
    fake_build: Path, no_launch: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["boot", "--arch", "arm64", "--program", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no guest program 'nope'" in err


@pytest.mark.parametrize("image", [False, True])
def test_boot_too_long_command_line_is_refused_before_launch(
    image: bool, fake_build: Path, no_launch: None, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    extra = []
    if image:
        extra = [str(tmp_path / "image.zbi")]
        (tmp_path / "image.zbi").write_bytes(b"not checked before the command line")
    assert main(["boot", "--arch", "x86_64", *extra, "--append", "x" * 1100]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "exceeds the kernel's limit of 1023 bytes" in err


def test_image_too_long_command_line_is_one_line(
    fake_build: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "image.zbi"
    assert main(["image", "--arch", "arm64", "-o", str(output), "--append", "y" * 990]) == 1
    err = capsys.readouterr().err
    assert err.startswith("image: arm64 image: command line of 1037 bytes exceeds")
    assert err.count("\n") == 1
    assert not output.exists()


def test_image_into_a_missing_directory_is_refused_before_building(
    no_launch: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli_module, "build_guest", no_launch)  # must not be called
    output = tmp_path / "missing" / "image.zbi"
    assert main(["image", "--arch", "arm64", "-o", str(output)]) == 1
    assert capsys.readouterr().err == f"image: arm64 image: {output.parent}: no such directory\n"


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "inf", "soon"])
def test_boot_timeout_must_be_positive(timeout: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["boot", "--arch", "arm64", "--timeout", timeout])
    assert caught.value.code == 2
    assert "not a positive number of seconds" in capsys.readouterr().err


@pytest.mark.parametrize("cpus", ["0", "9", "two"])
def test_boot_smp_must_be_a_vcpu_count(cpus: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["boot", "--arch", "arm64", "--smp", cpus])
    assert caught.value.code == 2
    assert "not a vCPU count from 1 to 8" in capsys.readouterr().err


@pytest.mark.parametrize("factor", ["0.5", "0", "nan", "inf", "x"])
def test_wall_factor_must_be_at_least_one(
    factor: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["boot", "--arch", "arm64", "--wall-factor", factor])
    assert caught.value.code == 2
    assert "not a number of at least 1" in capsys.readouterr().err


def test_deterministic_needs_tcg(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["boot", "--arch", "x86_64", "--deterministic", "--accel", "kvm"]) == 1
    assert capsys.readouterr().err == "boot: --deterministic needs TCG (-icount), not --accel=kvm\n"


def test_zhb_console_script() -> None:
    zhb = Path(sys.executable).parent / "zhb"
    assert zhb.is_file(), "pyproject.toml [project.scripts] installs zhb next to python"
    helped = subprocess.run([zhb, "--help"], capture_output=True, text=True, check=False,
                            timeout=60)
    assert helped.returncode == 0
    assert helped.stdout.startswith("usage: zhb ")
    assert all(command in helped.stdout for command in ("boot", "image", "accel"))
    done = subprocess.run([zhb, "image", "--arch", "mips", "-o", "x"], capture_output=True,
                          text=True, check=False, timeout=60)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("image: unknown architecture 'mips'")


@pytest.mark.parametrize(
    ("transcript", "verdict"),
    [
        (b"userboot: bin/core-tests exited with return code 0\r\nzhb kernel: powering off\r\n",
         None),
        (b"userboot: bin/core-tests exited with return code 3\r\n",
         "userboot: bin/core-tests exited with return code 3"),
        (b"userboot: error: bin/nope: file not found in BOOTFS\r\n",
         "userboot: error: bin/nope: file not found in BOOTFS"),
        (b"zhb kernel: booting on arm64\r\nzhb kernel: powering off\r\n", None),
    ],
)
def test_guest_verdict_fails_userboot_errors_and_nonzero_codes(
    transcript: bytes, verdict: str | None
) -> None:
    assert cli_module._guest_verdict(transcript) == verdict


def test_fuchsia_test_needs_an_image(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["boot", "--arch", "x86_64", "--fuchsia-test"]) == 1
    assert capsys.readouterr().err == "boot: x86_64 image: --fuchsia-test needs an IMAGE\n"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_become_keyboard_interrupt(signum: signal.Signals) -> None:
    before = signal.getsignal(signum)
    with pytest.raises(KeyboardInterrupt), sigterm_interrupts():
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler interrupts this at once
    assert signal.getsignal(signum) == before
