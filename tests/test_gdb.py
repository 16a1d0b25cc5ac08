"""`python -m harness boot --gdb` (harness.gdb): the gdb command line it prints, and a real
gdb-multiarch attached to a paused guest, on both arches.

The unit tests build tiny ELF files here; the integration test (`test_gdb_attaches[ARCH]`)
boots bin/pb-exit0 with `--gdb`, runs the printed command in batch mode with breakpoints on
the kernel's syscall dispatcher and on a userboot function, checks that the syscall came from
the vDSO at the address the command line gave it, detaches, and sees the guest power off.
"""

from __future__ import annotations

import re
import shlex
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from harness import gdb
from harness.cli import main
from harness.elf import ET_DYN, ET_EXEC, PF_X, read_elf
from harness.errors import ElfError
from harness.image import GuestOutputs
from harness.profiles import Accel, Profile, get_profile

REPO = Path(__file__).resolve().parent.parent
GDB_TIMEOUT_S = 180.0


def tiny_elf(etype: int, segments: list[tuple[int, int, int]]) -> bytes:
    """An ELF64 header and PT_LOAD program headers (vaddr, memsz, flags) and nothing else."""
    header = struct.pack("<16sHHIQQQIHHHHHH", b"\x7fELF\x02\x01\x01" + bytes(9), etype, 62, 1,
                         0, 64, 0, 0, 64, 56, len(segments), 64, 0, 0)
    phdrs = b"".join(struct.pack("<IIQQQQQQ", 1, flags, vaddr, vaddr, vaddr, 0, memsz, 0x1000)
                     for vaddr, memsz, flags in segments)
    return header + phdrs


def fake_out(tmp_path: Path, userboot_end: int) -> Path:
    out = tmp_path / "out"
    (out / "bin").mkdir(parents=True)
    (out / "userboot.so").write_bytes(
        tiny_elf(ET_DYN, [(0, 0x2000, 4), (0x2000, userboot_end - 0x2000, 4 | PF_X)]))
    (out / "bin" / "static").write_bytes(tiny_elf(ET_EXEC, [(0x8010000000, 0x1000, 5)]))
    (out / "bin" / "dynamic").write_bytes(tiny_elf(ET_DYN, [(0, 0x1000, 5)]))
    return out


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_gdb_command_line(arch: str, tmp_path: Path) -> None:
    """The kernel at its run-time bias, userboot at USERBOOT_BASE, the vDSO right after
    userboot's page-rounded image, a fixed-address program, then the gdbstub."""
    out = fake_out(tmp_path, 0x7123)
    files = gdb.symbol_files(get_profile(arch), out, "static")
    command = gdb.gdb_command(files, gdb.GdbEndpoint(4321))
    kernel = (f"symbol-file -o 0xffff000040000000 {out}/kernel.elf" if arch == "arm64"
              else f"symbol-file {out}/kernel.elf")
    assert command == [
        "gdb-multiarch", "-q", "-ex", "set confirm off", "-ex", kernel,
        "-ex", f"add-symbol-file {out}/userboot.so -o 0x1000000",
        "-ex", f"add-symbol-file {out}/vdso.so -o 0x1008000",
        "-ex", f"add-symbol-file {out}/bin/static",
        "-ex", "target remote 127.0.0.1:4321",
    ]
    dynamic = gdb.symbol_files(get_profile(arch), out, "dynamic")
    assert dynamic.program is None  # loaded at a random address: not in the command line


def test_gdb_endpoint() -> None:
    assert gdb.GdbEndpoint.parse("1234").qemu_spec == "tcp:127.0.0.1:1234,server=on,wait=off"
    assert 0 < gdb.GdbEndpoint.parse("auto").port < 65536


@pytest.mark.parametrize("port", ["0", "65536", "http", "-1"])
def test_gdb_bad_port_is_a_usage_error(port: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["boot", "--arch", "x64", f"--gdb={port}"])
    assert caught.value.code == 2
    assert "not a TCP port" in capsys.readouterr().err


def test_gdb_refuses_fuchsia_tests(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    image = tmp_path / "test.zbi"
    image.write_bytes(b"x")
    assert main(["boot", "--arch", "x64", "--gdb", "--fuchsia-test", str(image)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "boot: --gdb boots zhb images, not Fuchsia ZBI tests"]


def test_userboot_base_is_the_kernels() -> None:
    """USERBOOT_BASE is USER_ASPACE_BASE of both arches' kernel layouts."""
    for arch in ("x86_64", "arm64"):
        layout = (REPO / f"guest_payloads/arch/{arch}/include/arch/kernel-layout.h").read_text()
        found = re.search(r"#define ARCH_USER_ASPACE_BASE U64_CONST\((0x[0-9a-fA-F]+)\)", layout)
        assert found is not None and int(found.group(1), 16) == gdb.USERBOOT_BASE


def test_elf_errors_name_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x7fELF")
    with pytest.raises(ElfError, match="e_ident at offset 0x0") as caught:
        read_elf(bad)
    assert caught.value.field == "e_ident"
    bad.write_bytes(tiny_elf(ET_DYN, [(0, 0x1000, 5)])[:80])  # program headers cut off
    with pytest.raises(ElfError, match="e_phoff at offset 0x20"):
        read_elf(bad)
    with pytest.raises(ElfError, match="file at offset 0x0"):
        read_elf(tmp_path / "missing")


def test_gdb_attaches(profile: Profile, guest_build: GuestOutputs, accel: Accel) -> None:
    """A real gdb-multiarch stops the paused guest in the kernel's syscall dispatcher (the
    syscall's PC is in the vDSO) and in userboot, by the printed command line alone."""
    if shutil.which(gdb.GDB) is None:
        pytest.fail(f"no {gdb.GDB} (scripts/setup installs it)")
    boot = subprocess.Popen(
        [sys.executable, "-m", "harness", "boot", "--arch", profile.name, "--machine",
         profile.variant, "--accel", accel.value, "--program", "pb-exit0", "--gdb",
         "--timeout", str(GDB_TIMEOUT_S)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
    )
    try:
        assert boot.stderr is not None
        told = [boot.stderr.readline() for _ in range(2)]
        assert told[0].startswith("boot: QEMU is paused in its gdbstub"), told
        command = shlex.split(told[1])
        assert command[0] == gdb.GDB
        session = subprocess.run(
            [*command, "-nx", "-batch",
             "-ex", "break syscall_dispatch", "-ex", "continue", "-ex", "info symbol pc",
             "-ex", "delete", "-ex", "break bootfs_find", "-ex", "continue",
             "-ex", "delete", "-ex", "detach"],
            capture_output=True, text=True, timeout=GDB_TIMEOUT_S, check=False,
        )
        said = session.stdout + session.stderr
        assert re.search(r"Breakpoint 1, syscall_dispatch \(num=", said), said
        vdso = guest_build.kernel.parent / "vdso.so"
        assert re.search(rf"\n\w+ \+ \d+ in section \.text of {re.escape(str(vdso))}\n", said), said
        assert re.search(r"Breakpoint 2, bootfs_find \(.*userboot/bootfs\.c", said), said
        assert "detached" in said, said
        out, err = boot.communicate(timeout=GDB_TIMEOUT_S)
    finally:
        if boot.poll() is None:
            boot.kill()
            boot.communicate()
    assert boot.returncode == 0, err
    assert "userboot: bin/pb-exit0 exited with return code 0" in out
    loaded = gdb.USERBOOT_LOADED.search(out.encode())
    files = gdb.symbol_files(profile, guest_build.kernel.parent, None)
    assert loaded is not None and (int(loaded.group(1), 16), int(loaded.group(2), 16)) == (
        files.userboot_base, files.vdso_base)
    assert "warning" not in err


def test_image_gdb_prints_both_command_lines(
    profile: Profile, guest_build: GuestOutputs, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    output = tmp_path / "image"
    assert main(["image", "--arch", profile.name, "-o", str(output), "--gdb=4567"]) == 0
    qemu, debugger = (shlex.split(line) for line in capsys.readouterr().out.splitlines())
    assert qemu[-3:] == ["-S", "-gdb", "tcp:127.0.0.1:4567,server=on,wait=off"]
    files = gdb.symbol_files(profile, guest_build.kernel.parent, "core-tests")
    assert files.program is not None  # core-tests is linked at a fixed address
    assert debugger == gdb.gdb_command(files, gdb.GdbEndpoint(4567))
    assert f"{gdb.FIXED_WORD}".encode() in output.read_bytes()
