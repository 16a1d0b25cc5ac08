"""Image assembly with zbi_tools and the incremental guest build, on fake build outputs.

No QEMU and no real guest build: the kernel payload is a made-up zbi_kernel_t plus bytes, the
shims are filler files, and `build_guest` runs a stand-in Makefile in a temp directory.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from harness.errors import BuildError, ImageError
from harness.image import (
    GUEST_SOURCE,
    KERNEL_CMDLINE_MAX,
    BootImage,
    GuestOutputs,
    build_guest,
    build_image,
    check_cmdline,
    guest_is_stale,
    image_from_file,
    pack_image,
    pack_zbi,
)
from harness.profiles import ARM64, X86_64, Profile
from zbi_tools import ZbiCrcError, ZbiImage, ZbiItem, format

KERNEL = format.KERNEL_HEADER.pack(0x100050, 0x4000) + bytes(range(256)) * 4


@pytest.fixture
def outputs(tmp_path: Path) -> dict[str, GuestOutputs]:
    """Fake build outputs for each profile (the arm64 shim is exactly 64 KiB)."""
    made = {}
    for profile, shim_size in ((X86_64, 3000), (ARM64, 64 * 1024)):
        out = tmp_path / "out" / profile.name
        out.mkdir(parents=True)
        found = GuestOutputs.of(profile, out)
        found.kernel.write_bytes(KERNEL)
        found.shim.write_bytes(b"S" * shim_size)
        found.poweroff.write_bytes(b"P" * 100)
        made[profile.name] = found
    return made


@pytest.mark.parametrize("profile", [X86_64, ARM64], ids=["x86_64", "arm64"])
def test_pack_zbi_item_order(profile: Profile) -> None:
    bootfs = b"B" * 5000
    extra = ZbiItem(format.TYPE_PLATFORM_ID, b"qemu\0\0\0\0")
    data = pack_zbi(profile, KERNEL, cmdline="a=1 b", bootfs=bootfs, extra_items=[extra])
    image = ZbiImage.parse(data)
    image.check(bootable=profile.zbi_kernel_arch)
    kernel, cmdline, storage, platform = image.items
    assert kernel.payload == KERNEL
    assert cmdline.type == format.TYPE_CMDLINE and cmdline.payload == b"a=1 b\0"
    assert storage.type == format.TYPE_STORAGE_BOOTFS and storage.compressed
    assert storage.extra == len(bootfs) and storage.decompressed() == bootfs
    assert platform.payload == extra.payload


def test_pack_zbi_without_cmdline_or_bootfs() -> None:
    image = ZbiImage.parse(pack_zbi(X86_64, KERNEL))
    assert [item.type for item in image.items] == [format.TYPE_KERNEL_X64]


def test_cmdline_limit_is_the_kernels() -> None:
    header = (GUEST_SOURCE / "include" / "kernel" / "bootinfo.h").read_text()
    match = re.search(r"#define BOOT_CMDLINE_MAX (\d+)", header)
    assert match is not None and KERNEL_CMDLINE_MAX == int(match.group(1)) - 1


def test_pack_zbi_refuses_a_command_line_the_kernel_would_cut() -> None:
    fits = "a" * KERNEL_CMDLINE_MAX
    assert ZbiImage.parse(pack_zbi(X86_64, KERNEL, cmdline=fits)).items[1].length == 1024
    with pytest.raises(ImageError, match="command line of 1024 bytes exceeds the kernel's "
                                         "limit of 1023 bytes"):
        pack_zbi(X86_64, KERNEL, cmdline=fits + "b")
    # CMDLINE items are joined with a space, as the kernel joins them.
    extra = ZbiItem.cmdline("b" * 10)
    with pytest.raises(ImageError, match="command line of 1034 bytes"):
        pack_zbi(ARM64, KERNEL, cmdline="a" * 1023, extra_items=[extra])


def test_check_cmdline_counts_bytes_and_skips_empty_parts() -> None:
    check_cmdline("x86_64", "a" * 1000, "", "b" * 22)
    with pytest.raises(ImageError, match="1024 bytes"):
        check_cmdline("x86_64", "\u00e9" * 500, "b" * 23)


@pytest.mark.parametrize("item", [1, 2])
def test_corrupt_item_breaks_only_that_crc(item: int) -> None:
    data = pack_zbi(ARM64, KERNEL, cmdline="x=y", corrupt_item=item)
    with pytest.raises(ZbiCrcError) as caught:
        ZbiImage.parse(data).check()
    assert caught.value.item_index == item
    assert len(data) == len(pack_zbi(ARM64, KERNEL, cmdline="x=y"))


@pytest.mark.parametrize("item", [0, 3])
def test_corrupt_item_out_of_range(item: int) -> None:
    with pytest.raises(ImageError, match=f"cannot corrupt item {item}"):
        pack_zbi(X86_64, KERNEL, cmdline="x=y", corrupt_item=item)


def test_x86_64_image_is_the_zbi(outputs: dict[str, GuestOutputs], tmp_path: Path) -> None:
    data = pack_image("x64", cmdline="c=d", outputs=outputs["x86_64"])
    assert data == pack_zbi(X86_64, KERNEL, cmdline="c=d")
    image = image_from_file("x86_64", tmp_path / "i.zbi", outputs["x86_64"])
    assert image == BootImage("x86_64", kernel=outputs["x86_64"].shim, initrd=tmp_path / "i.zbi")


def test_arm64_image_is_shim_plus_zbi(outputs: dict[str, GuestOutputs], tmp_path: Path) -> None:
    data = pack_image("aarch64", cmdline="c=d", outputs=outputs["arm64"])
    shim = outputs["arm64"].shim.read_bytes()
    assert data[: len(shim)] == shim
    ZbiImage.parse(data[len(shim):]).check(bootable="arm64")
    assert image_from_file("arm64", tmp_path / "i.bin") == BootImage("arm64", tmp_path / "i.bin")


def test_misaligned_arm64_shim(outputs: dict[str, GuestOutputs]) -> None:
    outputs["arm64"].shim.write_bytes(b"S" * 1000)
    with pytest.raises(ImageError) as caught:
        pack_image("arm64", outputs=outputs["arm64"])
    assert caught.value.path == outputs["arm64"].shim
    assert "not a multiple of 0x10000" in caught.value.reason


@pytest.mark.parametrize("arch, suffix", [("x86_64", ".zbi"), ("arm64", ".bin")])
def test_build_image_writes_the_file(
    arch: str, suffix: str, outputs: dict[str, GuestOutputs], tmp_path: Path
) -> None:
    image = build_image(arch, tmp_path / "img", "k=v", name="first", outputs=outputs[arch])
    written = tmp_path / "img" / f"first{suffix}"
    assert written.read_bytes() == pack_image(arch, cmdline="k=v", outputs=outputs[arch])
    assert written in (image.kernel, image.initrd)


MAKEFILE = """\
all:
\tmkdir -p $(OUT)
\techo $(ARCH) >> $(OUT)/../runs
\ttouch $(OUT)/kernel.bin $(OUT)/shim.elf $(OUT)/poweroff.elf
"""


def runs(out_root: Path) -> list[str]:
    path = out_root / "runs"
    return path.read_text().split() if path.exists() else []


def test_build_guest_runs_make_only_when_stale(tmp_path: Path) -> None:
    source, out_root = tmp_path / "src", tmp_path / "out"
    source.mkdir()
    (source / "Makefile").write_text(MAKEFILE)
    (source / "main.c").write_text("int x;\n")
    built = build_guest("x64", source=source, out_root=out_root)
    assert built == GuestOutputs.of(X86_64, out_root / "x86_64")
    assert runs(out_root) == ["x86_64"]
    assert not guest_is_stale(built, source)
    build_guest("x86_64", source=source, out_root=out_root)
    assert runs(out_root) == ["x86_64"]
    newer = built.kernel.stat().st_mtime + 10
    os.utime(source / "main.c", (newer, newer))
    assert guest_is_stale(built, source)
    build_guest("x86_64", source=source, out_root=out_root)
    assert runs(out_root) == ["x86_64", "x86_64"]


def test_build_guest_missing_output_rebuilds(tmp_path: Path) -> None:
    source, out_root = tmp_path / "src", tmp_path / "out"
    source.mkdir()
    (source / "Makefile").write_text(MAKEFILE)
    built = build_guest("x86_64", source=source, out_root=out_root)
    built.poweroff.unlink()
    assert guest_is_stale(built, source)
    build_guest("x86_64", source=source, out_root=out_root)
    assert len(runs(out_root)) == 2


def test_build_failure_carries_the_compiler_output(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "Makefile").write_text(
        "all:\n" + "".join(f"\t@echo line {n}\n" for n in range(60))
        + "\t@echo 'main.c:3: error: boom' >&2\n\t@exit 2\n"
    )
    with pytest.raises(BuildError) as caught:
        build_guest("arm64", source=source, out_root=tmp_path / "out")
    error = caught.value
    assert error.arch == "arm64"
    assert error.returncode == 2
    assert "ARCH=arm64" in error.command
    assert "main.c:3: error: boom" in error.output_tail.splitlines()
    assert "line 0" not in error.output_tail.splitlines()  # only the tail
    assert "main.c:3: error: boom" in str(error)


def test_build_that_writes_nothing_is_an_error(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "Makefile").write_text("all:\n\t@true\n")
    with pytest.raises(BuildError, match="did not write"):
        build_guest("x86_64", source=source, out_root=tmp_path / "out")


def test_build_without_makefile(tmp_path: Path) -> None:
    with pytest.raises(BuildError) as caught:
        build_guest("x86_64", source=tmp_path / "nowhere", out_root=tmp_path / "out")
    assert caught.value.returncode not in (0, None)
