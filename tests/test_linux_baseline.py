"""harness.linux_baseline without QEMU: the newc writer, figure parsing and row pairing; one
test that builds the initramfs from the cached packages (skipped when they are not fetched)."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from harness import linux_baseline as lb
from harness.profiles import ARM64, PROFILES, X86_64


def test_cpio_newc_round_trip_and_layout() -> None:
    entries = [
        lb.CpioEntry("dev", stat.S_IFDIR | 0o755),
        lb.CpioEntry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)),
        lb.CpioEntry("init", stat.S_IFREG | 0o755, b"\x7fELF" + bytes(range(7))),
    ]
    archive = lb.cpio_newc(entries)
    assert archive.startswith(b"070701")
    assert len(archive) % 4 == 0
    assert b"TRAILER!!!\0" in archive
    assert lb.read_cpio_newc(archive) == entries


def test_cpio_newc_header_fields() -> None:
    archive = lb.cpio_newc([lb.CpioEntry("/x", stat.S_IFREG | 0o644, b"abc")])
    header = archive[:110]
    fields = [int(header[6 + 8 * i:14 + 8 * i], 16) for i in range(13)]
    assert fields[1] == stat.S_IFREG | 0o644  # mode
    assert fields[6] == 3  # filesize
    assert fields[11] == 2  # namesize: "x\0" (leading slash dropped)
    name_end = 110 + 2
    assert archive[110:name_end] == b"x\0"
    data_start = name_end + (-name_end % 4)
    assert archive[data_start:data_start + 3] == b"abc"


@pytest.mark.skipif(shutil.which("cpio") is None, reason="no cpio tool")
def test_cpio_newc_is_read_by_cpio(tmp_path: Path) -> None:
    archive = lb.cpio_newc([lb.CpioEntry("d", stat.S_IFDIR | 0o755),
                            lb.CpioEntry("d/f", stat.S_IFREG | 0o644, b"hello\n")])
    done = subprocess.run(["cpio", "-t"], input=archive, capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [b"d", b"d/f"]


def test_parse_figures_keeps_only_its_prefix() -> None:
    lines = [
        "microbench: null_syscall 394 ns (10000 iterations)",
        "linuxbench: getppid 491 ns (10000 iterations)",
        "microbench: error: something failed (status -1)",
        "  microbench: channel_round_trip 3400 ns (2000 iterations)  ",
        "noise microbench: x 1 ns (1 iterations)",
    ]
    assert lb.parse_figures(lines, "microbench:") == {"null_syscall": 394,
                                                      "channel_round_trip": 3400}
    assert lb.parse_figures(lines, "linuxbench:") == {"getppid": 491}


def test_pair_rows_ratios_and_missing_counterparts() -> None:
    ours = {"null_syscall": 400, "process_lifecycle": 240_000, "brand_new": 5}
    linux = {"getppid": 500, "fork_exit_wait": 1_000_000, "spawn_exit_wait": 1_200_000}
    rows = lb.pair_rows(ours, linux)
    assert [(r.ours_name, r.linux_name) for r in rows] == [
        ("null_syscall", "getppid"),
        ("process_lifecycle", "fork_exit_wait"),
        ("process_lifecycle", "spawn_exit_wait"),
        ("brand_new", None),
    ]
    assert rows[0].ratio == pytest.approx(0.8)
    assert rows[1].ratio == pytest.approx(0.24)
    assert rows[2].ratio == pytest.approx(0.2)
    assert rows[3].ratio is None
    without = lb.pair_rows(ours, None)
    assert [r.linux_name for r in without] == ["getppid", "fork_exit_wait", None]
    assert all(r.ratio is None for r in without)
    assert "-" in lb.format_row("x86_64", without[0])
    assert "0.80" in lb.format_row("x86_64", rows[0])
    assert not rows[0].above_target and "above" not in lb.format_row("x86_64", rows[0])
    slow = lb.PairedRow("channel_round_trip", 5000, "pipe_round_trip", 4000)
    assert slow.above_target and lb.format_row("arm64", slow).endswith("1.25  above 1")


def test_every_microbench_row_has_a_counterpart() -> None:
    microbench = lb.REPO / "guest_payloads" / "programs" / "microbench"
    ours = "".join(path.read_text() for path in sorted(microbench.glob("*.c")))
    reported = set(re.findall(r'bench_report\("(\w+)"', ours))
    assert reported == {mine for mine, _ in lb.PAIRS}
    linux = lb.INIT_SOURCE.read_text()
    for _, theirs in lb.PAIRS:
        assert f'"{theirs}"' in linux, theirs


def test_cmdline_per_profile() -> None:
    assert lb.cmdline(X86_64).startswith("console=ttyS0 quiet cryptomgr.notests ")
    assert "arm64.nopauth" not in lb.cmdline(X86_64)
    assert lb.cmdline(ARM64).startswith("console=ttyAMA0 ")
    assert lb.cmdline(ARM64).endswith("arm64.nopauth")
    assert lb.cmdline(X86_64, lb.POWEROFF_ONLY).endswith(" linuxbench_poweroff")
    assert all(profile.linux is not None for profile in PROFILES.values())


def test_uncached_kernel_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(lb.LinuxUnavailable, match="scripts/linux_baseline fetch"):
        lb.cached_image(X86_64, tmp_path)


@pytest.mark.parametrize("profile", PROFILES.values(), ids=lambda p: p.name)
def test_cached_initramfs_builds(profile: lb.Profile, tmp_path: Path) -> None:
    cached = lb.cache_dir(profile)
    if not (cached / "kernel").exists() or shutil.which(lb.target(profile).gcc) is None:
        pytest.skip(f"Linux baseline not fetched for {profile.name} "
                    "(scripts/linux_baseline fetch)")
    cache = tmp_path / "cache"
    (cache / profile.name).mkdir(parents=True)
    (cache / profile.name / "kernel").symlink_to(cached / "kernel")
    image = lb.cached_image(profile, cache)
    assert image.initrd is not None
    names = {e.name: e for e in lb.read_cpio_newc(image.initrd.read_bytes())}
    assert set(names) == {"dev", "dev/console", "init", "exit0"}
    assert names["init"].data.startswith(b"\x7fELF")
    assert names["dev/console"].rdev == (5, 1)


def _load_bench_boot(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """scripts/bench_boot as a module (registered in sys.modules while the test runs, as its
    dataclasses need)."""
    loader = importlib.machinery.SourceFileLoader("bench_boot", str(lb.REPO / "scripts" /
                                                                     "bench_boot"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_boot", module)
    loader.exec_module(module)
    return module


def test_bench_boot_skips_the_column_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench_boot = _load_bench_boot(monkeypatch)

    def unavailable(profile: lb.Profile) -> lb.BootImage:
        raise lb.LinuxUnavailable(f"no Linux kernel cached for {profile.name}\nmore detail")

    monkeypatch.setattr(bench_boot, "cached_image", unavailable)
    assert bench_boot.linux_image(ARM64) is None
    err = capsys.readouterr().err
    assert err == "bench_boot: arm64: no Linux column: no Linux kernel cached for arm64\n"
    bench_boot.print_linux_rows([ARM64], {"arm64": None}, {}, "tcg", 1.0)
    assert capsys.readouterr().out == ""
