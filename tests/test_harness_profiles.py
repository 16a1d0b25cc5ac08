"""Profiles as data: aliases, --arch selection, and the QEMU command line built from them."""

from __future__ import annotations

import dataclasses
import itertools
import re
from pathlib import Path

import pytest

from harness.errors import HarnessError, ProfileError, VariantError
from harness.image import BootImage
from harness.machine import plumbing_args, qemu_args
from harness.profiles import (
    ARM64,
    PROFILES,
    X86_64,
    Accel,
    ImageLayout,
    Profile,
    check_variant_names,
    get_profile,
    select_profiles,
    select_variants,
)

KERNEL = Path("/images/kernel")
ZBI = Path("/images/image.zbi")


@pytest.mark.parametrize(
    "name, canonical",
    [
        ("x86_64", "x86_64"), ("x64", "x86_64"), ("X64", "x86_64"), ("amd64", "x86_64"),
        ("arm64", "arm64"), ("aarch64", "arm64"), (" AArch64 ", "arm64"),
    ],
)
def test_aliases(name: str, canonical: str) -> None:
    assert get_profile(name).name == canonical


def test_unknown_arch() -> None:
    with pytest.raises(ProfileError) as caught:
        get_profile("sparc")
    assert caught.value.name == "sparc"
    assert "aarch64" in caught.value.known and "x64" in caught.value.known


@pytest.mark.parametrize(
    "spec, names",
    [
        ("all", ["x86_64", "arm64"]),
        ("aarch64", ["arm64"]),
        ("arm64,x64", ["x86_64", "arm64"]),
        ("x64, x86_64,all", ["x86_64", "arm64"]),
        (["aarch64"], ["arm64"]),
    ],
)
def test_select_profiles(spec: str | list[str], names: list[str]) -> None:
    assert [p.name for p in select_profiles(spec)] == names


@pytest.mark.parametrize("spec", ["", ",", "arm64,mips"])
def test_select_profiles_rejects(spec: str) -> None:
    with pytest.raises(ProfileError):
        select_profiles(spec)


def test_registry_names_are_unique() -> None:
    names = [n for p in PROFILES.values() for n in (p.name, *p.aliases)]
    assert len(names) == len(set(names))


def option(args: list[str], flag: str) -> list[str]:
    """Every value that follows `flag` in `args`."""
    return [value for key, value in itertools.pairwise(args) if key == flag]


def test_x86_64_command_line() -> None:
    args = qemu_args(X86_64, BootImage("x86_64", KERNEL, ZBI), Accel.TCG, append="a=b c")
    assert args[0] == "qemu-system-x86_64"
    assert option(args, "-machine") == ["q35"]
    assert option(args, "-cpu") == ["max"]
    assert option(args, "-accel") == ["tcg"]
    assert option(args, "-m") == ["256M"]
    assert option(args, "-device") == ["isa-debug-exit,iobase=0xf4,iosize=0x04", "pvpanic"]
    assert option(args, "-kernel") == [str(KERNEL)]
    assert option(args, "-initrd") == [str(ZBI)]
    assert option(args, "-append") == ["a=b c"]
    assert option(args, "-action") == ["panic=exit-failure"]
    assert {"-nodefaults", "-no-reboot"} <= set(args)
    assert option(args, "-display") == ["none"]


@pytest.mark.parametrize("profile", [X86_64, ARM64], ids=lambda p: p.name)
def test_smp_command_line(profile: Profile) -> None:
    image = BootImage(profile.name, KERNEL)
    one = qemu_args(profile, image, Accel.TCG)
    assert "-smp" not in one and option(one, "-accel") == ["tcg"]
    four = qemu_args(profile, image, Accel.TCG, cpus=4)
    assert option(four, "-smp") == ["4"]
    assert option(four, "-accel") == ["tcg,thread=multi"]
    assert option(qemu_args(profile, image, Accel.KVM, cpus=2), "-accel") == ["kvm"]
    with pytest.raises(HarnessError, match="at least 1 vCPU"):
        qemu_args(profile, image, Accel.TCG, cpus=0)


def test_arm64_command_line() -> None:
    args = qemu_args(ARM64, BootImage("arm64", KERNEL), Accel.TCG)
    assert args[0] == "qemu-system-aarch64"
    assert option(args, "-machine") == ["virt,gic-version=3"]
    assert option(args, "-cpu") == ["max"]
    assert option(args, "-device") == ["pvpanic-pci"]
    assert option(args, "-kernel") == [str(KERNEL)]
    assert "-initrd" not in args and "-append" not in args


@pytest.mark.parametrize("name", list(PROFILES))
def test_kvm_uses_the_host_cpu(name: str) -> None:
    args = qemu_args(PROFILES[name], BootImage(name, KERNEL), Accel.KVM)
    assert option(args, "-accel") == ["kvm"]
    assert option(args, "-cpu") == ["host"]


def test_layouts() -> None:
    assert X86_64.layout == ImageLayout(shim="shim.elf", zbi_as_initrd=True)
    assert ARM64.layout == ImageLayout(shim="shim.bin", zbi_as_initrd=False, append_align=65536)
    assert (X86_64.zbi_kernel_arch, ARM64.zbi_kernel_arch) == ("x64", "arm64")
    assert (X86_64.debug_exit_status, ARM64.debug_exit_status) == (31, None)


def test_a_new_architecture_is_only_a_new_profile() -> None:
    riscv = dataclasses.replace(
        ARM64, name="riscv64", aliases=("rv64",), qemu_binary="qemu-system-riscv64",
        machine="virt", cpu_tcg="rv64", cpu_kvm="host", memory="512M", devices=(),
        zbi_kernel_arch="riscv64", make_arch="riscv64",
    )
    args = qemu_args(riscv, BootImage("riscv64", KERNEL), Accel.TCG)
    assert args[0] == "qemu-system-riscv64"
    assert option(args, "-machine") == ["virt"]
    assert option(args, "-cpu") == ["rv64"]
    assert option(args, "-m") == ["512M"]
    assert "-device" not in args


def test_plumbing_args() -> None:
    args = plumbing_args(Path("/t/console.sock"), Path("/t/qmp.sock"), Path("/logs,1/console.log"))
    assert option(args, "-chardev") == [
        "socket,id=console,path=/t/console.sock,logfile=/logs,,1/console.log,logappend=off",
        "socket,id=qmp,path=/t/qmp.sock",
    ]
    assert option(args, "-serial") == ["chardev:console"]
    assert option(args, "-mon") == ["chardev=qmp,mode=control"]
    assert args[-1] == "-S"


@pytest.mark.parametrize("profile", [X86_64, ARM64], ids=lambda p: p.name)
def test_variants_are_named_once_default_first(profile: Profile) -> None:
    names = [v.name for v in profile.variants]
    assert names[0] == "default" and len(set(names)) == len(names)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) for name in names)
    assert profile.with_variant("default") == profile


def test_with_variant_overrides_only_its_fields() -> None:
    four = ARM64.with_variant("mem-4g")
    assert (four.memory, four.memory_bytes, four.machine) == ("4G", 4 << 30, ARM64.machine)
    assert four.label == "arm64-mem-4g"
    smp = X86_64.with_variant("smp4")
    assert (smp.smp, smp.cpu_tcg, smp.label) == (4, X86_64.cpu_tcg, "x86_64-smp4")
    with pytest.raises(VariantError, match="unknown machine variant 'pc' for arm64"):
        ARM64.with_variant("pc")


def test_select_variants() -> None:
    assert [p.variant for p in select_variants(X86_64, "default")] == ["default"]
    assert [p.variant for p in select_variants(X86_64, "all")] == [
        v.name for v in X86_64.variants]
    assert [p.variant for p in select_variants(ARM64, "pc, gicv2")] == ["gicv2"]
    check_variant_names([X86_64, ARM64], "pc,gicv2,all")
    with pytest.raises(VariantError, match="'vax'"):
        check_variant_names([X86_64, ARM64], "default,vax")


def test_smp_reaches_the_command_line() -> None:
    image = BootImage("x86_64", kernel=KERNEL, initrd=ZBI)
    args = qemu_args(X86_64.with_variant("smp4"), image, Accel.TCG)
    assert args[args.index("-smp") + 1] == "4"
    assert "-smp" not in qemu_args(X86_64, image, Accel.TCG)
