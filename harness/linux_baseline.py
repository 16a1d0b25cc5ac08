"""The Linux baseline of scripts/bench_boot: Debian's cloud kernel + a static /init microbench.

Everything lives in a cache directory (`CACHE`, default out/linux/<arch>/), made by
`fetch()` (scripts/linux_baseline fetch) and never by scripts/setup:

    <arch>/deb/*.deb          `apt-get download` of linux-image-<version>-cloud-<deb arch>
    <arch>/root/              the package unpacked with `dpkg-deb -x` (not installed)
    <arch>/kernel             the -kernel file: boot/vmlinuz-* (arm64: gunzipped to an Image)
    <arch>/init, exit0        guest_payloads/linux-bench/init.c built static (gcc / the Debian
                              aarch64 cross gcc, installed by fetch() with apt-get)
    <arch>/initramfs.cpio     newc archive: /init, /exit0, /dev/console (written by write_cpio)

`boot_linux()` boots it with the harness's own QEMU arguments (harness.machine.Machine: same
machine, CPU, memory and devices, a timeout, a captured serial log, the process group killed
on failure) and the command line `LINUX_CMDLINE` (+ the profile's console and extras). The
/init prints `linuxbench: <name> <ns> ns (<n> iterations)` lines and powers off; with the word
`linuxbench_poweroff` on the command line it powers off at once (the boot-to-power-off figure).

`pair_rows()` puts each `microbench:` figure next to its Linux counterpart (`PAIRS`).
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import console
from harness.errors import HarnessError
from harness.image import BootImage
from harness.machine import DEFAULT_TIMEOUT_S, Machine
from harness.outcome import FailurePattern, Outcome, Status
from harness.profiles import Accel, LinuxBaseline, Profile

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "out" / "linux"
INIT_SOURCE = REPO / "guest_payloads" / "linux-bench" / "init.c"
LINUX_CMDLINE = "quiet cryptomgr.notests mitigations=off nokaslr init_on_alloc=0"
POWEROFF_ONLY = "linuxbench_poweroff"
"""A command-line word the kernel hands to /init as an argument: power off without benchmarking."""
LINUX_LINE = "linuxbench:"
LINUX_PANIC = FailurePattern(
    "Linux kernel panic", re.compile(rb"Kernel panic - not syncing[^\r\n]*"), Status.CRASH,
    ends_run=True,
)


class LinuxUnavailable(HarnessError):
    """The Linux baseline cannot be had (no package, no toolchain, not fetched)."""


def target(profile: Profile) -> LinuxBaseline:
    """The profile's Linux baseline settings (LinuxUnavailable when it has none)."""
    if profile.linux is None:
        raise LinuxUnavailable(f"no Linux baseline for {profile.name}")
    return profile.linux


def cache_dir(profile: Profile, cache: Path = CACHE) -> Path:
    return cache / profile.name


def cmdline(profile: Profile, *extra: str) -> str:
    t = target(profile)
    return " ".join(w for w in (f"console={t.console}", LINUX_CMDLINE, t.extra_cmdline, *extra)
                    if w)


# -- cpio (newc) ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CpioEntry:
    """One archive member: `mode` holds the file type bits too (stat.S_IFREG | 0o755...)."""

    name: str
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


def _pad4(n: int) -> bytes:
    return b"\0" * (-n % 4)


def cpio_newc(entries: Iterable[CpioEntry]) -> bytes:
    """A newc ("070701") archive of `entries` followed by the TRAILER!!! record."""
    out = bytearray()
    members = [*entries, CpioEntry("TRAILER!!!", 0)]
    for ino, entry in enumerate(members, start=1):
        name = entry.name.lstrip("/").encode() + b"\0"
        nlink = 2 if stat.S_ISDIR(entry.mode) else 1
        fields = (ino if entry.name != "TRAILER!!!" else 0, entry.mode, 0, 0, nlink, 0,
                  len(entry.data), 0, 0, entry.rdev[0], entry.rdev[1], len(name), 0)
        header = b"070701" + b"".join(b"%08X" % f for f in fields)
        out += header + name + _pad4(len(header) + len(name))
        out += entry.data + _pad4(len(entry.data))
    return bytes(out)


def read_cpio_newc(data: bytes) -> list[CpioEntry]:
    """The entries of a newc archive (without the trailer): the inverse of `cpio_newc`."""
    entries: list[CpioEntry] = []
    pos = 0
    while True:
        if data[pos:pos + 6] != b"070701":
            raise ValueError(f"no newc header at offset {pos}")
        fields = [int(data[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
        namesize, filesize = fields[11], fields[6]
        name_start = pos + 110
        name = data[name_start:name_start + namesize - 1].decode()
        data_start = name_start + namesize + (-(110 + namesize) % 4)
        body = data[data_start:data_start + filesize]
        pos = data_start + filesize + (-filesize % 4)
        if name == "TRAILER!!!":
            return entries
        entries.append(CpioEntry(name, fields[1], body, (fields[9], fields[10])))


def initramfs_entries(init: bytes, exit0: bytes) -> list[CpioEntry]:
    return [
        CpioEntry("dev", stat.S_IFDIR | 0o755),
        CpioEntry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)),
        CpioEntry("init", stat.S_IFREG | 0o755, init),
        CpioEntry("exit0", stat.S_IFREG | 0o755, exit0),
    ]


# -- fetch and build --------------------------------------------------------------------------

def _run(command: Sequence[str], what: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LinuxUnavailable(f"{what}: {exc}") from exc
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise LinuxUnavailable(f"{what}: {lines[-1] if lines else f'exit {done.returncode}'}")
    return done.stdout


def _as_root(command: list[str]) -> list[str]:
    return command if os.geteuid() == 0 else ["sudo", "-n", *command]


def _installed(package: str) -> bool:
    done = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                          capture_output=True, text=True, check=False)
    return done.returncode == 0 and "install ok installed" in done.stdout


def kernel_package(deb_arch: str) -> str:
    """The versioned linux-image package `linux-image-cloud-<deb_arch>` depends on."""
    meta = f"linux-image-cloud-{deb_arch}:{deb_arch}"
    out = _run(["apt-cache", "depends", meta], f"apt-cache depends {meta}")
    for line in out.splitlines():
        match = re.match(r"\s*Depends:\s*(linux-image-\S+)", line)
        if match:
            name = match.group(1).split(":")[0]
            return f"{name}:{deb_arch}"
    raise LinuxUnavailable(f"{meta} names no kernel package")


def _ensure_architecture(deb_arch: str) -> None:
    native = _run(["dpkg", "--print-architecture"], "dpkg").strip()
    foreign = _run(["dpkg", "--print-foreign-architectures"], "dpkg").split()
    if deb_arch != native and deb_arch not in foreign:
        _run(_as_root(["dpkg", "--add-architecture", deb_arch]), "dpkg --add-architecture")
        _run(_as_root(["apt-get", "update", "-q"]), "apt-get update")


def fetch(profile: Profile, cache: Path = CACHE, log: bool = True) -> None:
    """Download and unpack the kernel, install the toolchain, build the initramfs (each step
    skipped when its result is there)."""
    t = target(profile)
    root = cache_dir(profile, cache)
    if not (root / "kernel").exists():
        _ensure_architecture(t.deb_arch)
        package = kernel_package(t.deb_arch)
        debs = root / "deb"
        shutil.rmtree(debs, ignore_errors=True)
        debs.mkdir(parents=True)
        if log:
            print(f"linux_baseline: {profile.name}: apt-get download {package}", flush=True)
        done = subprocess.run(["apt-get", "download", package], cwd=debs, capture_output=True,
                              text=True, timeout=900, check=False)
        deb = next(debs.glob("*.deb"), None)
        if done.returncode != 0 or deb is None:
            lines = done.stderr.strip().splitlines()
            raise LinuxUnavailable(f"apt-get download {package}: "
                                   f"{lines[-1] if lines else 'no package'}")
        shutil.rmtree(root / "root", ignore_errors=True)
        _run(["dpkg-deb", "-x", str(deb), str(root / "root")], f"dpkg-deb -x {deb.name}")
        vmlinuz = next((root / "root" / "boot").glob("vmlinuz-*"), None)
        if vmlinuz is None:
            raise LinuxUnavailable(f"{deb.name} holds no boot/vmlinuz-*")
        raw = vmlinuz.read_bytes()
        if t.gzipped_kernel and raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        tmp = root / "kernel.tmp"
        tmp.write_bytes(raw)
        tmp.replace(root / "kernel")
        (root / "version").write_text(vmlinuz.name.removeprefix("vmlinuz-") + "\n")
    missing = [p for p in t.toolchain_packages if not _installed(p)]
    if missing:
        if log:
            print(f"linux_baseline: installing {' '.join(missing)}", flush=True)
        _run(_as_root(["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y",
                       "-q", "--no-install-recommends", *missing]), "apt-get install")
    build_initramfs(profile, cache)


def build_initramfs(profile: Profile, cache: Path = CACHE) -> Path:
    """Compile /init and /exit0 and write initramfs.cpio (again when init.c is newer)."""
    t = target(profile)
    root = cache_dir(profile, cache)
    archive = root / "initramfs.cpio"
    if archive.exists() and archive.stat().st_mtime >= INIT_SOURCE.stat().st_mtime:
        return archive
    if shutil.which(t.gcc) is None:
        raise LinuxUnavailable(f"{t.gcc} is not installed (scripts/linux_baseline fetch)")
    root.mkdir(parents=True, exist_ok=True)
    init, exit0 = root / "init", root / "exit0"
    _run([t.gcc, "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(init),
          str(INIT_SOURCE), "-lpthread"], f"{t.gcc} init.c")
    _run([t.gcc, "-static", "-nostdlib", "-O2", "-DEXIT0", "-o", str(exit0), str(INIT_SOURCE)],
         f"{t.gcc} -DEXIT0 init.c")
    tmp = root / "initramfs.cpio.tmp"
    tmp.write_bytes(cpio_newc(initramfs_entries(init.read_bytes(), exit0.read_bytes())))
    tmp.replace(archive)
    return archive


def cached_image(profile: Profile, cache: Path = CACHE) -> BootImage:
    """The fetched kernel + initramfs of `profile` (rebuilding the initramfs when init.c
    changed); LinuxUnavailable when `fetch()` has not run."""
    root = cache_dir(profile, cache)
    kernel = root / "kernel"
    target(profile)
    if not kernel.exists():
        raise LinuxUnavailable(f"no Linux kernel cached in {root} "
                               "(run scripts/linux_baseline fetch)")
    return BootImage(profile.name, kernel, build_initramfs(profile, cache))


# -- boot and figures -------------------------------------------------------------------------

def boot_linux(profile: Profile, image: BootImage, accel: Accel = Accel.TCG,
               timeout: float = DEFAULT_TIMEOUT_S, poweroff_only: bool = False) -> Outcome:
    """Boot Linux once under the harness's QEMU arguments; the run must power off cleanly."""
    append = cmdline(profile, *([POWEROFF_ONLY] if poweroff_only else []))
    with Machine(profile, image, accel=accel, append=append, timeout=timeout) as machine:
        outcome = machine.wait_exit(fail_patterns=[LINUX_PANIC])
    if outcome.status is not Status.PASS or not outcome.powered_off:
        raise outcome.error()
    return outcome


def figure_lines(transcript: bytes, prefix: str) -> list[str]:
    """The console lines that start with `prefix`, stripped."""
    lines = (line.strip() for line in console.decode(transcript).split("\n"))
    return [line for line in lines if line.startswith(prefix)]


_FIGURE = re.compile(r"^(\S+:) (\w+) (\d+) ns \((\d+) iterations\)$")


def parse_figures(lines: Iterable[str], prefix: str) -> dict[str, int]:
    """`{name: ns}` of every `<prefix> <name> <ns> ns (<n> iterations)` line."""
    figures: dict[str, int] = {}
    for line in lines:
        match = _FIGURE.match(line.strip())
        if match and match.group(1) == prefix:
            figures[match.group(2)] = int(match.group(3))
    return figures


PAIRS: tuple[tuple[str, str], ...] = (
    ("null_syscall", "getppid"),
    ("process_lifecycle", "fork_exit_wait"),
    ("process_lifecycle", "spawn_exit_wait"),
    ("pb_launch_static", "spawn_exit_wait"),
    ("pb_launch_dynamic", "spawn_exit_wait"),
    ("zygote_clone_start", "fork_exit_wait"),
    ("channel_round_trip", "pipe_round_trip"),
    ("port_queue_wait", "eventfd_write_read"),
    ("futex_round_trip", "futex_round_trip"),
    ("socket_round_trip", "socketpair_round_trip"),
    ("channel_call_round_trip", "pipe_call_round_trip"),
)
"""(microbench row, its Linux counterpart); a row may have more than one counterpart."""

LINUX_TARGET = 1.0
"""Every paired row's target: ours at most this many times Linux's (`bench_boot --check`)."""


@dataclass(frozen=True)
class PairedRow:
    ours_name: str
    ours_ns: int
    linux_name: str | None
    linux_ns: int | None

    @property
    def ratio(self) -> float | None:
        if self.linux_ns is None or self.linux_ns <= 0:
            return None
        return self.ours_ns / self.linux_ns

    @property
    def above_target(self) -> bool:
        return self.ratio is not None and self.ratio > LINUX_TARGET


def pair_rows(ours: Mapping[str, int], linux: Mapping[str, int] | None) -> list[PairedRow]:
    """Every microbench figure (in its order) with each Linux counterpart `PAIRS` names
    (`linux` None or lacking it: a row without one)."""
    rows: list[PairedRow] = []
    for name, ns in ours.items():
        counterparts = [theirs for mine, theirs in PAIRS if mine == name]
        found = [c for c in counterparts if linux is not None and c in linux]
        if not found:
            rows.append(PairedRow(name, ns, counterparts[0] if counterparts else None, None))
        for theirs in found:
            assert linux is not None
            rows.append(PairedRow(name, ns, theirs, linux[theirs]))
    return rows


def format_ns(ns: float) -> str:
    if ns >= 1_000_000:
        return f"{ns / 1_000_000:.2f} ms"
    if ns >= 10_000:
        return f"{ns / 1000:.1f} us"
    return f"{ns:.0f} ns"


def format_row(arch: str, row: PairedRow) -> str:
    linux = "-" if row.linux_ns is None else format_ns(row.linux_ns)
    ratio = "-" if row.ratio is None else f"{row.ratio:.2f}"
    flag = f"  above {LINUX_TARGET:g}" if row.above_target else ""
    return (f"{arch:8} {row.ours_name:24} {format_ns(row.ours_ns):>10}   "
            f"{row.linux_name or '-':22} {linux:>10} {ratio:>6}{flag}")
