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

import dataclasses
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from harness.errors import ProfileError, VariantError


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
class Variant:
    """One named, frozen emulated-hardware configuration of a profile (the matrix, as data).

    Every field left None keeps the profile's own setting, so `default` (all None) is the
    profile as it is. `kvm`: the variant runs under KVM (skipped where KVM cannot run it);
    `skip`: why the variant cannot work (it is listed, and skipped with this reason).
    """

    name: str
    summary: str
    machine: str | None = None
    cpu: str | None = None
    memory: str | None = None
    smp: int | None = None
    """vCPUs (`-smp`; `--smp` overrides it)."""
    kvm: bool = False
    skip: str | None = None


DEFAULT_VARIANT = Variant("default", "the fast configuration every plain test run uses")


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
    kernel_pc_bias: int = 0
    """Kernel PC at run time less its address in kernel.elf (harness.symbolize)."""
    smp: int = 1
    """vCPUs (`-smp`; not given to QEMU when 1)."""
    variants: tuple[Variant, ...] = (DEFAULT_VARIANT,)
    """The emulated-hardware matrix of this architecture, `default` first."""
    variant: str = DEFAULT_VARIANT.name
    """The variant these settings are (`with_variant()`)."""

    def cpu(self, accel: Accel) -> str:
        """The `-cpu` model to use under `accel`."""
        return {Accel.TCG: self.cpu_tcg, Accel.KVM: self.cpu_kvm}[accel]

    @property
    def memory_bytes(self) -> int:
        """`memory` (QEMU's `-m`: a number with an optional K, M, G or T suffix; plain numbers
        are MiB) in bytes."""
        units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
        text = self.memory.strip().upper()
        if text and text[-1] in units:
            return int(float(text[:-1]) * units[text[-1]])
        return int(float(text) * units["M"])

    @property
    def label(self) -> str:
        """The architecture, with the variant unless it is `default` (test ids, reports)."""
        return self.name if self.variant == DEFAULT_VARIANT.name else f"{self.name}-{self.variant}"

    def get_variant(self, name: str) -> Variant:
        for variant in self.variants:
            if variant.name == name:
                return variant
        raise VariantError(name, self.name, [v.name for v in self.variants])

    def with_variant(self, variant: Variant | str) -> Profile:
        """This profile as variant `variant` (a Variant of this profile or its name) runs."""
        v = self.get_variant(variant) if isinstance(variant, str) else variant
        return dataclasses.replace(
            self, variant=v.name, machine=v.machine or self.machine,
            cpu_tcg=v.cpu or self.cpu_tcg, memory=v.memory or self.memory,
            smp=v.smp or self.smp,
        )


def _common_variants(default_memory: str) -> tuple[Variant, ...]:
    """Memory sizes, vCPU counts and KVM: the variants both architectures have."""
    sizes = [("mem-128m", "128M"), ("mem-256m", "256M"), ("mem-4g", "4G")]
    return (
        *(Variant(name, f"{size} of RAM", memory=size)
          for name, size in sizes if size != default_memory),
        Variant("smp4", "4 vCPUs (multi-threaded TCG)", smp=4),
        Variant("kvm", "under KVM with -cpu host", kvm=True),
    )


def _cpu_models(*models: str) -> tuple[Variant, ...]:
    """One variant per QEMU `-cpu` model, named `cpu-<model>` in lower case."""
    return tuple(Variant(f"cpu-{m.lower()}", f"the {m} CPU model", cpu=m) for m in models)


X86_64_VARIANTS = (
    DEFAULT_VARIANT,
    Variant("pc", "i440fx + PIIX (another PM timer port and ACPI block)", machine="pc"),
    *_cpu_models("qemu64", "Haswell", "EPYC"),
    *_common_variants("256M"),
    Variant("microvm", "QEMU's microvm machine", machine="microvm",
            skip="the kernel's x86 clock is the ACPI PM timer, which microvm (ACPI "
                 "hardware-reduced, no FADT PM1a block) lacks: pc_timer_init panics"),
)

ARM64_VARIANTS = (
    DEFAULT_VARIANT,
    Variant("gicv2", "the GICv2 interrupt controller", machine="virt,gic-version=2"),
    *_cpu_models("cortex-a53", "cortex-a57", "cortex-a72", "neoverse-n1"),
    Variant("el2", "entered at EL2 (virtualization=on)",
            machine="virt,gic-version=3,virtualization=on"),
    Variant("el3", "entered at EL3 (secure=on)", machine="virt,gic-version=3,secure=on"),
    Variant("highmem-off", "no memory map above 4 GiB (highmem=off)",
            machine="virt,gic-version=3,highmem=off"),
    *_common_variants("256M"),
)


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
    variants=X86_64_VARIANTS,
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
    variants=ARM64_VARIANTS,
    kernel_pc_bias=0xFFFF_0000_4000_0000,  # kernel.elf is linked at 0
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


def select_variants(profile: Profile, spec: str | Iterable[str]) -> tuple[Profile, ...]:
    """Resolve a `--machine` value for `profile`: `default`, `all`, or variant names or labels
    (`pc`, `x86_64-pc`, `arm64` for arm64's default), comma separated. A name `profile` lacks is left out (another architecture may have it); the
    result has the registry's order and may be empty. Raises VariantError for an empty spec.
    """
    words = [w.strip().lower() for w in (spec.split(",") if isinstance(spec, str) else spec)]
    words = [w for w in words if w]
    if not words:
        raise VariantError(str(spec), profile.name, ["default", "all"])
    if "all" in words:
        return tuple(profile.with_variant(v) for v in profile.variants)
    return tuple(profile.with_variant(v) for v in profile.variants
                 if v.name in words or _label(profile, v) in words)


def _label(profile: Profile, variant: Variant) -> str:
    return profile.with_variant(variant).label


def check_variant_names(profiles: Iterable[Profile], spec: str | Iterable[str]) -> None:
    """Raise VariantError for a `--machine` name that none of `profiles` has."""
    profiles = tuple(profiles)
    words = [w.strip().lower() for w in (spec.split(",") if isinstance(spec, str) else spec)]
    known = {v.name for p in profiles for v in p.variants}
    known |= {_label(p, v) for p in profiles for v in p.variants}
    for word in words:
        if word and word != "all" and word not in known:
            raise VariantError(word, ",".join(p.name for p in profiles),
                               ["all", *sorted(known)])
