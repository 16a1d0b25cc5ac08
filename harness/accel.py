"""Choosing the QEMU accelerator: `--accel=auto|tcg|kvm`.

TCG always works. KVM is *usable* for a profile when the host's machine type is one of the
profile's `kvm_hosts`, `/dev/kvm` opens read-write, reports API version 12 and `KVM_CREATE_VM`
succeeds. Usable is not enough for `auto`: on a nested-virtualised host KVM start-up can cost
seconds while a whole TCG boot of our guests takes ~0.1 s. So `auto` times the trivial power-off
image under both (interleaved, `TRIAL_RUNS` each, medians) and takes KVM only if it is faster.

A failed probe never fails a boot. Usable by the ioctls does not mean QEMU can run: on a
nested-virtualised host `/dev/kvm` opens and `KVM_CREATE_VM` succeeds, yet QEMU's `-cpu host`
aborts at start-up (`failed to set MSR 0x10a`, IA32_ARCH_CAPABILITIES, then an assertion:
status -6) because the outer hypervisor refuses the MSR. A failed KVM trial boot therefore
means TCG. A failed TCG trial boot (a broken power-off image or QEMU; QEMU exits with status 1)
also answers TCG, uncached, so that the real boot is attempted and reports the real problem.

The decision is measured once and kept as JSON in `cache_dir`, in a file named by the profile
and a host key (host name, kernel release, boot id, and the QEMU binary's path, size and mtime),
so a reboot, another host or another QEMU measures again. A file lock makes parallel pytest-xdist
workers measure once between them. Tools outside pytest keep it in `default_cache_dir()`: the
directory named by `$ZHB_ACCEL_CACHE` (the pytest plugin points it at a fresh directory per test
run), else `zhb-accel-<uid>` in the temp directory.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import shutil
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.errors import AccelError, HarnessError
from harness.image import build_poweroff_image
from harness.lockfile import locked
from harness.machine import boot
from harness.profiles import Accel, Profile

KVM_DEVICE = Path("/dev/kvm")
KVM_GET_API_VERSION = 0xAE00  # _IO(KVMIO=0xAE, 0x00)
KVM_CREATE_VM = 0xAE01  # _IO(KVMIO=0xAE, 0x01)
KVM_API_VERSION = 12
TRIAL_RUNS = 3
TRIAL_TIMEOUT_S = 30.0
MEASURE_LOCK_TIMEOUT_S = 600.0
CHOICES = ("auto", "tcg", "kvm")
CACHE_ENV = "ZHB_ACCEL_CACHE"
"""Environment variable naming the directory for accelerator decisions (see default_cache_dir)."""

Trial = Callable[[Profile, Accel], float]
"""Boots the power-off image once under an accelerator and returns the wall time in seconds."""


@dataclass(frozen=True)
class AccelDecision:
    """The accelerator to use and why (with the trial medians when it was measured)."""

    accel: Accel
    reason: str
    tcg_s: float | None = None
    kvm_s: float | None = None

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "accel": self.accel.value}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> AccelDecision:
        """Inverse of to_json(); raises KeyError / ValueError on a malformed record."""
        return cls(
            Accel(str(data["accel"])), str(data["reason"]),
            _seconds(data.get("tcg_s")), _seconds(data.get("kvm_s")),
        )


def _seconds(value: object) -> float | None:
    if value is None or isinstance(value, float):
        return value
    raise ValueError(f"bad trial time {value!r}")


def default_cache_dir() -> Path:
    """Where tools outside pytest keep accelerator decisions: `$ZHB_ACCEL_CACHE` when set and
    not empty (created if missing), else a per-user directory in the temp directory."""
    named = os.environ.get(CACHE_ENV)
    path = Path(named) if named else Path(tempfile.gettempdir()) / f"zhb-accel-{os.getuid()}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def kvm_unusable_reason(
    profile: Profile, device: Path = KVM_DEVICE, host_machine: str | None = None
) -> str | None:
    """None when KVM can run `profile`'s guests here; otherwise why not."""
    host = host_machine if host_machine is not None else platform.machine()
    if host not in profile.kvm_hosts:
        return f"the host is {host}; KVM runs {profile.name} guests only on {profile.kvm_hosts}"
    try:
        kvm = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        return f"cannot open {device} read-write: {exc.strerror}"
    try:
        step = "KVM_GET_API_VERSION"
        version = fcntl.ioctl(kvm, KVM_GET_API_VERSION, 0)
        if version != KVM_API_VERSION:
            return f"{device} has API version {version}, not {KVM_API_VERSION}"
        step = "KVM_CREATE_VM"
        os.close(fcntl.ioctl(kvm, KVM_CREATE_VM, 0))
    except OSError as exc:
        return f"{step} on {device} failed: {exc.strerror}"
    finally:
        os.close(kvm)
    return None


def host_key(profile: Profile) -> str:
    """A short hash naming this host, its current boot and the profile's QEMU binary."""
    parts = [platform.node(), platform.release(), platform.machine()]
    try:
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
    except OSError:
        parts.append("no-boot-id")
    binary = shutil.which(profile.qemu_binary)
    if binary is not None:
        stat = os.stat(binary)
        parts += [binary, str(stat.st_size), str(stat.st_mtime_ns)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def time_poweroff(profile: Profile, accel: Accel) -> float:
    """Boot the power-off image once under `accel`; its launch-to-exit wall time (seconds)."""
    outcome = boot(profile, build_poweroff_image(profile.name), accel=accel,
                   timeout=TRIAL_TIMEOUT_S)
    if not outcome.powered_off:
        raise outcome.error()
    return outcome.elapsed


def measure(
    profile: Profile, trial: Trial = time_poweroff, runs: int = TRIAL_RUNS
) -> AccelDecision:
    """Time TCG and KVM boots of the power-off image, interleaved; pick the faster.

    Never raises a trial's HarnessError: a failed KVM trial means TCG, and so does a failed
    TCG trial (the decision then has no times, and choose_accel() does not cache it).
    """
    tcg: list[float] = []
    kvm: list[float] = []
    for _ in range(runs):
        try:
            tcg.append(trial(profile, Accel.TCG))
        except HarnessError as exc:
            return AccelDecision(Accel.TCG, f"TCG trial boot failed: {exc}".splitlines()[0])
        try:
            kvm.append(trial(profile, Accel.KVM))
        except HarnessError as exc:
            return AccelDecision(Accel.TCG, f"KVM trial boot failed: {exc}".splitlines()[0],
                                 statistics.median(tcg))
    tcg_s, kvm_s = statistics.median(tcg), statistics.median(kvm)
    if kvm_s < tcg_s:
        return AccelDecision(Accel.KVM, "KVM starts faster", tcg_s, kvm_s)
    return AccelDecision(Accel.TCG, "TCG starts faster (KVM start-up is slow here)", tcg_s, kvm_s)


def choose_accel(
    profile: Profile,
    requested: str,
    cache_dir: Path,
    *,
    trial: Trial = time_poweroff,
    kvm_check: Callable[[Profile], str | None] = kvm_unusable_reason,
) -> AccelDecision:
    """Resolve `requested` (auto, tcg or kvm) for `profile`.

    Raises AccelError for an unknown name or when kvm is requested but unusable.
    """
    if requested not in CHOICES:
        raise AccelError(requested, profile.name, f"unknown accelerator (choose {CHOICES})")
    if requested == "tcg":
        return AccelDecision(Accel.TCG, "requested")
    unusable = kvm_check(profile)
    if requested == "kvm":
        if unusable is not None:
            raise AccelError("kvm", profile.name, unusable)
        return AccelDecision(Accel.KVM, "requested")
    if unusable is not None:
        return AccelDecision(Accel.TCG, f"KVM unusable: {unusable}")
    path = cache_dir / f"accel-{profile.name}-{host_key(profile)}.json"
    with locked(path.with_suffix(".lock"), MEASURE_LOCK_TIMEOUT_S):
        try:
            return AccelDecision.from_json(json.loads(path.read_text()))
        except (OSError, ValueError, KeyError):
            pass  # not measured yet (or an unreadable file): measure now
        decision = measure(profile, trial)
        if decision.tcg_s is not None:  # a failed TCG trial is not a property of the host
            path.write_text(json.dumps(decision.to_json(), indent=2) + "\n")
    return decision
