"""Per-architecture QEMU profiles, as data.

A `Profile` says everything the harness needs to know about one guest architecture: which QEMU
binary and machine to use, the CPU model per accelerator, how much memory, how the shim and the
ZBI are handed to QEMU (`ImageLayout`), the power-off and panic devices, the ZBI kernel type, the
`ARCH=` name of the guest build and the host machines on which KVM can run it.

Profiles live in one registry (`PROFILES`); `get_profile()` resolves canonical names and aliases
(`x64` -> `x86_64`, `aarch64` -> `arm64`). Supporting another architecture means adding one
`Profile` to the registry; nothing else in the harness names an architecture.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from harness.errors import ProfileError


class Accel(enum.Enum):
    """A QEMU accelerator the harness can run a guest under."""

    TCG = "tcg"
    KVM = "kvm"


@dataclass(frozen=True)
class ImageLayout:
    """How QEMU is handed the boot shim and the ZBI.

    With `zbi_as_initrd` the shim is `-kernel` and the ZBI is `-initrd`; otherwise the complete
    ZBI is appended to the shim (whose size must then be a multiple of `append_align`) and the
    one resulting file is `-kernel`.
    """

    shim: str
    zbi_as_initrd: bool
    append_align: int = 1


@dataclass(frozen=True)
class LinuxBaseline:
    """How bench_boot's Linux baseline (harness.linux_baseline) is fetched, built and booted."""

    deb_arch: str
    """Debian architecture of `linux-image-cloud-<deb_arch>`."""
    console: str
    extra_cmdline: str
    gcc: str
    """The C compiler building the static /init, and the Debian packages providing it."""
    toolchain_packages: tuple[str, ...]
    gzipped_kernel: bool
    """The package's vmlinuz is a gzip'd Image that is decompressed for QEMU's -kernel."""


@dataclass(frozen=True)
class Profile:
    """QEMU settings and build facts for one guest architecture."""

    name: str
    aliases: tuple[str, ...]
    qemu_binary: str
    machine: str
    cpu_tcg: str
    cpu_kvm: str
    memory: str
    layout: ImageLayout
    devices: tuple[str, ...]
    """`-device` arguments: the power-off (fallback) device and the pvpanic device."""
    debug_exit_status: int | None
    """QEMU's exit status when the guest powers off through the debug-exit fallback device."""
    zbi_kernel_arch: str
    """The architecture name `zbi_tools.ZbiItem.kernel()` takes (picks KERNEL_X64 / _ARM64)."""
    make_arch: str
    kernel_file: str
    poweroff_file: str
    kvm_hosts: tuple[str, ...]
    """`platform.machine()` values of hosts on which KVM can run this guest."""
    linux: LinuxBaseline | None = None
    """The Linux baseline of scripts/bench_boot, None when there is none."""

    def cpu(self, accel: Accel) -> str:
        """The `-cpu` model to use under `accel`."""
        return {Accel.TCG: self.cpu_tcg, Accel.KVM: self.cpu_kvm}[accel]


X86_64 = Profile(
    name="x86_64",
    aliases=("x64", "amd64", "x86-64"),
    qemu_binary="qemu-system-x86_64",
    machine="q35",
    cpu_tcg="max",
    cpu_kvm="host",
    memory="256M",
    layout=ImageLayout(shim="shim.elf", zbi_as_initrd=True),
    devices=("isa-debug-exit,iobase=0xf4,iosize=0x04", "pvpanic"),
    debug_exit_status=31,
    zbi_kernel_arch="x64",
    make_arch="x86_64",
    kernel_file="kernel.bin",
    poweroff_file="poweroff.elf",
    kvm_hosts=("x86_64", "AMD64"),
    linux=LinuxBaseline("amd64", "ttyS0", "", "gcc", ("gcc", "libc6-dev"), False),
)

ARM64 = Profile(
    name="arm64",
    aliases=("aarch64",),
    qemu_binary="qemu-system-aarch64",
    machine="virt,gic-version=3",
    cpu_tcg="max",
    cpu_kvm="host",
    memory="256M",
    layout=ImageLayout(shim="shim.bin", zbi_as_initrd=False, append_align=64 * 1024),
    devices=("pvpanic-pci",),
    debug_exit_status=None,
    zbi_kernel_arch="arm64",
    make_arch="arm64",
    kernel_file="kernel.bin",
    poweroff_file="poweroff.bin",
    kvm_hosts=("aarch64", "arm64"),
    linux=LinuxBaseline(
        "arm64", "ttyAMA0", "arm64.nopauth", "aarch64-linux-gnu-gcc",
        ("gcc-aarch64-linux-gnu", "libc6-dev-arm64-cross"), True,
    ),
)

PROFILES: dict[str, Profile] = {p.name: p for p in (X86_64, ARM64)}
"""Every known profile by canonical name, in the order tests are parametrized."""

_BY_NAME: dict[str, Profile] = {
    alias: p for p in PROFILES.values() for alias in (p.name, *p.aliases)
}


def get_profile(name: str) -> Profile:
    """Return the profile for canonical name or alias `name` (case-insensitive)."""
    try:
        return _BY_NAME[name.strip().lower()]
    except KeyError:
        raise ProfileError(name, sorted(_BY_NAME)) from None


def select_profiles(spec: str | Iterable[str]) -> tuple[Profile, ...]:
    """Resolve an `--arch` value: names/aliases, comma separated, or `all`.

    The result has no duplicates and keeps the registry's order.
    """
    words = spec.split(",") if isinstance(spec, str) else list(spec)
    wanted: set[str] = set()
    for word in (w.strip() for w in words):
        if not word:
            continue
        if word.lower() == "all":
            wanted.update(PROFILES)
        else:
            wanted.add(get_profile(word).name)
    if not wanted:
        raise ProfileError(str(spec), ["all", *sorted(_BY_NAME)])
    return tuple(p for name, p in PROFILES.items() if name in wanted)
