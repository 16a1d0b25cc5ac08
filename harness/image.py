"""Guest builds and bootable images.

The guest side (`guest_payloads/`, built with `make -C guest_payloads ARCH=<a> OUT=out/<arch>`)
produces per architecture, in `out/<arch>/`::

    kernel.bin       the KERNEL_<ARCH> item payload (starts with zbi_kernel_t)
    <layout.shim>    the boot shim QEMU loads with -kernel
    <poweroff_file>  a trivial image that only powers the machine off (the benchmark baseline)

`build_guest()` runs make only when some file under `guest_payloads/` is newer than the oldest
output (make itself is incremental too), under a file lock so parallel workers build once.

`pack_image()` assembles the bootable bytes with zbi_tools: the KERNEL item first, then an
optional CMDLINE item, an optional LZ4-compressed BOOTFS and any extra items. What the bytes are
depends on the profile's `ImageLayout`: the ZBI itself when QEMU gets it as `-initrd` (x86_64),
or the shim with the complete ZBI appended (arm64: one `-kernel` file). `build_image()` writes
them to a directory and returns the `BootImage` (what to pass to -kernel / -initrd);
`image_from_file()` does the same for an image built earlier.

The kernel joins the CMDLINE items (and the boot loader's command line, QEMU's -append, which
the shim adds as one more CMDLINE item) with spaces into a buffer of BOOT_CMDLINE_MAX = 1024
bytes (`guest_payloads/include/kernel/bootinfo.h`), so at most `KERNEL_CMDLINE_MAX` = 1023
bytes of text survive. Longer text would be cut in the guest, losing e.g. a final
`userboot.shutdown`; `pack_zbi()` and `check_cmdline()` refuse it with an ImageError instead
(the kernel also warns on its console when it has to cut).

`corrupt_item=N` flips the last payload byte of item N after packing (numbered as zbi_tools
numbers items: 1 = the kernel item), so that item's CRC32 no longer matches: the shim must
refuse such an image.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import BuildError, ImageError
from harness.lockfile import locked
from harness.profiles import Profile, get_profile
from zbi_tools import ZbiError, ZbiImage, ZbiItem
from zbi_tools.format import HEADER_SIZE, TYPE_CMDLINE, TYPE_STORAGE_BOOTFS

REPO_ROOT = Path(__file__).resolve().parent.parent
GUEST_SOURCE = REPO_ROOT / "guest_payloads"
OUT_ROOT = REPO_ROOT / "out"

KERNEL_CMDLINE_MAX = 1023
"""Bytes of joined command line the kernel keeps: BOOT_CMDLINE_MAX (1024) less the NUL."""

BUILD_LOCK_TIMEOUT_S = 900.0
"""How long a worker waits for another one's guest build before giving up."""
BUILD_OUTPUT_TAIL_LINES = 40


@dataclass(frozen=True)
class GuestOutputs:
    """The files one guest build produced (they exist once build_guest() returned)."""

    arch: str
    kernel: Path
    shim: Path
    poweroff: Path

    @classmethod
    def of(cls, profile: Profile, out_dir: Path) -> GuestOutputs:
        return cls(
            arch=profile.name,
            kernel=out_dir / profile.kernel_file,
            shim=out_dir / profile.layout.shim,
            poweroff=out_dir / profile.poweroff_file,
        )

    @property
    def files(self) -> tuple[Path, ...]:
        return (self.kernel, self.shim, self.poweroff)


@dataclass(frozen=True)
class BootImage:
    """What QEMU boots: `kernel` is the -kernel file, `initrd` the -initrd file or None."""

    arch: str
    kernel: Path
    initrd: Path | None = None


def _newest_mtime(root: Path) -> float:
    """The newest modification time of any file under `root` (0 when there is none)."""
    newest = 0.0
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            newest = max(newest, os.stat(os.path.join(dirpath, name)).st_mtime)
    return newest


def guest_is_stale(outputs: GuestOutputs, source: Path = GUEST_SOURCE) -> bool:
    """True when an output is missing or a source file is newer than the oldest output."""
    try:
        oldest = min(path.stat().st_mtime for path in outputs.files)
    except FileNotFoundError:
        return True
    return _newest_mtime(source) > oldest


def build_guest(
    arch: str, *, source: Path = GUEST_SOURCE, out_root: Path = OUT_ROOT
) -> GuestOutputs:
    """Make sure `out_root/<arch>/` holds an up-to-date guest build and return its files."""
    profile = get_profile(arch)
    out_dir = out_root / profile.name
    outputs = GuestOutputs.of(profile, out_dir)
    if not guest_is_stale(outputs, source):
        return outputs
    command = [
        "make", "-C", str(source), f"-j{os.cpu_count() or 1}",
        f"ARCH={profile.make_arch}", f"OUT={out_dir}",
    ]
    with locked(out_root / f".{profile.name}.build.lock", BUILD_LOCK_TIMEOUT_S):
        if not guest_is_stale(outputs, source):
            return outputs  # another worker built it while we waited
        try:
            done = subprocess.run(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, check=False,
            )
        except OSError as exc:
            raise BuildError(profile.name, command, None, str(exc)) from exc
        text = done.stdout.decode("utf-8", errors="replace")
        tail = "\n".join(text.splitlines()[-BUILD_OUTPUT_TAIL_LINES:])
        if done.returncode != 0:
            raise BuildError(profile.name, command, done.returncode, tail)
    missing = [str(path) for path in outputs.files if not path.is_file()]
    if missing:
        raise BuildError(profile.name, command, 0, f"make succeeded but did not write {missing}")
    return outputs


def check_cmdline(arch: str, *parts: str | bytes) -> None:
    """Raise ImageError unless the command line pieces, joined with spaces as the kernel joins
    its CMDLINE items (empty ones skipped), fit in KERNEL_CMDLINE_MAX bytes."""
    pieces = [part.encode() if isinstance(part, str) else part for part in parts]
    length = len(b" ".join(piece for piece in pieces if piece))
    if length > KERNEL_CMDLINE_MAX:
        raise ImageError(
            arch,
            f"command line of {length} bytes exceeds the kernel's limit of "
            f"{KERNEL_CMDLINE_MAX} bytes (BOOT_CMDLINE_MAX 1024 less the NUL)",
        )


def pack_zbi(
    profile: Profile,
    kernel_payload: bytes,
    *,
    cmdline: str = "",
    bootfs: bytes | None = None,
    extra_items: Sequence[ZbiItem] = (),
    corrupt_item: int | None = None,
) -> bytes:
    """A complete ZBI: the kernel item first, then CMDLINE, BOOTFS and `extra_items`.

    Raises ImageError when the command line (`cmdline` and any CMDLINE in `extra_items`) is
    longer than the kernel keeps (see check_cmdline).

    `corrupt_item` (numbered from 1, as zbi_tools numbers items) gets the last byte of its
    payload inverted after packing, so its CRC32 no longer matches.
    """
    cmdlines = [bytes(item.payload).split(b"\0", 1)[0]
                for item in extra_items if item.type == TYPE_CMDLINE]
    check_cmdline(profile.name, cmdline, *cmdlines)
    items = [ZbiItem.kernel(profile.zbi_kernel_arch, kernel_payload)]
    if cmdline:
        items.append(ZbiItem.cmdline(cmdline))
    if bootfs is not None:
        items.append(ZbiItem.storage(TYPE_STORAGE_BOOTFS, bootfs, compression="lz4"))
    items.extend(extra_items)
    image = ZbiImage(items)
    try:
        packed = bytearray(image.pack())
    except ZbiError as exc:
        raise ImageError(profile.name, f"zbi_tools: {exc}") from exc
    if corrupt_item is not None:
        located = {index: (offset, item) for index, offset, item in image.enumerate_items()}
        if corrupt_item not in located or not located[corrupt_item][1].length:
            raise ImageError(
                profile.name,
                f"cannot corrupt item {corrupt_item}: the image has items 1..{len(items)} "
                "and the item must have a payload",
            )
        offset, item = located[corrupt_item]
        packed[offset + HEADER_SIZE + item.length - 1] ^= 0xFF
    return bytes(packed)


def pack_image(
    arch: str,
    *,
    cmdline: str = "",
    bootfs: bytes | None = None,
    extra_items: Iterable[ZbiItem] = (),
    corrupt_item: int | None = None,
    outputs: GuestOutputs | None = None,
) -> bytes:
    """The bootable bytes for `arch`: the ZBI, or the shim with the ZBI appended (per layout).

    `outputs` defaults to `build_guest(arch)`.
    """
    profile = get_profile(arch)
    outputs = outputs if outputs is not None else build_guest(profile.name)
    zbi = pack_zbi(
        profile, outputs.kernel.read_bytes(), cmdline=cmdline, bootfs=bootfs,
        extra_items=list(extra_items), corrupt_item=corrupt_item,
    )
    layout = profile.layout
    if layout.zbi_as_initrd:
        return zbi
    shim = outputs.shim.read_bytes()
    if len(shim) % layout.append_align:
        raise ImageError(
            profile.name,
            f"shim is {len(shim):#x} bytes, not a multiple of {layout.append_align:#x}; "
            "the ZBI cannot be appended",
            outputs.shim,
        )
    return shim + zbi


def image_from_file(arch: str, path: Path, outputs: GuestOutputs | None = None) -> BootImage:
    """The BootImage for a file written by pack_image() (the ZBI, or shim + ZBI)."""
    profile = get_profile(arch)
    if not profile.layout.zbi_as_initrd:
        return BootImage(profile.name, kernel=path)
    outputs = outputs if outputs is not None else build_guest(profile.name)
    return BootImage(profile.name, kernel=outputs.shim, initrd=path)


def build_image(
    arch: str,
    out_dir: Path,
    cmdline: str = "",
    bootfs: bytes | None = None,
    extra_items: Iterable[ZbiItem] = (),
    *,
    corrupt_item: int | None = None,
    name: str = "image",
    outputs: GuestOutputs | None = None,
) -> BootImage:
    """Write `out_dir/<name>.zbi|.bin` and return its BootImage.

    `outputs` defaults to `build_guest(arch)` (which builds only when something changed).
    """
    profile = get_profile(arch)
    outputs = outputs if outputs is not None else build_guest(profile.name)
    data = pack_image(
        profile.name, cmdline=cmdline, bootfs=bootfs, extra_items=extra_items,
        corrupt_item=corrupt_item, outputs=outputs,
    )
    suffix = ".zbi" if profile.layout.zbi_as_initrd else ".bin"
    path = out_dir / f"{name}{suffix}"
    out_dir.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return image_from_file(profile.name, path, outputs)


def build_poweroff_image(arch: str) -> BootImage:
    """The trivial image that only powers the machine off, loaded on its own with -kernel."""
    outputs = build_guest(arch)
    return BootImage(outputs.arch, kernel=outputs.poweroff)
