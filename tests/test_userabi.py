"""The user-side ABI: vDSO and userboot ELF layouts, vdso_syms output, and userboot's parsers.

Built once per architecture (only the user-side make targets, into a temporary OUT):
``vdso.so`` and ``userboot.so`` must be RODSOs (two page-aligned, adjacent PT_LOADs, R then
R+X, no relocations, no writable segment); the vDSO exports ``zx_*``/``_zx_*`` for every
syscall in the definition file and keeps its CODE_SYSRET_* labels; ``tools/vdso_syms.py``
offsets equal the symbol values, and userboot's calls land at ``_end + offset``.

userboot's LZ4, BOOTFS/ZBI, ELF and processargs code (and ulib's processargs) is compiled
natively with the host clang into a shared library called through ctypes and checked
differentially: frames from python ``lz4.frame`` and the ``lz4`` CLI (every block size,
linked/independent, with/without checksums and content size) decompress to the original
bytes; corrupt frames are rejected with the right status; ``bootfs_tools.build`` images parse
to the same entries as ``BootfsImage.parse``; the built programs' ELF headers parse to what
pyelftools reads.
"""

from __future__ import annotations

import ctypes
import io
import random
import re
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import lz4.frame
import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

from bootfs_tools import BootfsImage, build
from zbi_tools import format as zbi

REPO = Path(__file__).resolve().parent.parent
GUEST = REPO / "guest_payloads"
sys.path.insert(0, str(GUEST / "tools"))

import sysgen
import vdso_syms

ARCHES = {"x86_64": ("EM_X86_64", 62), "arm64": ("EM_AARCH64", 183)}
PAGE = 4096
PF_X, PF_W, PF_R = 1, 2, 4
USER_TARGETS = (
    "vdso.so",
    "userboot.so",
    "bin/core-tests",
    "bin/microbench",
    "gen/vdso-sysret.inc",
    "gen/userboot/vdso-syms.ld",
)
NATIVE_SOURCES = ("userboot/lz4.c", "userboot/bootfs.c", "ulib/process_builder/elf.c",
                  "ulib/processargs.c", "ulib/process_builder/ldmsg.c")


def enum_values(header: str, enum: str) -> dict[str, int]:
    """Enumerator values of ``enum <name> {...}`` in a guest header (sequential from 0)."""
    text = (GUEST / header).read_text()
    body = re.search(rf"enum {enum} {{(.*?)}};", text, re.DOTALL)
    assert body, f"no enum {enum} in {header}"
    names = re.findall(r"^\s*([A-Z][A-Z0-9_]*)\s*(?:=\s*0)?,", body.group(1), re.MULTILINE)
    return {name: value for value, name in enumerate(names)}


LZ4 = enum_values("userboot/lz4.h", "lz4_status")
BOOTFS = enum_values("userboot/bootfs.h", "bootfs_status")
ELF = enum_values("ulib/include/zhb/elf.h", "elf_status")
PA = enum_values("ulib/include/zhb/processargs.h", "processargs_status")


# ---- Building --------------------------------------------------------------------------


class Built(NamedTuple):
    """A user-side-only build for one arch; ``built / "vdso.so"`` is a file of it."""

    arch: str
    out: Path

    def __truediv__(self, name: str) -> Path:
        return self.out / name


@pytest.fixture(scope="module", params=sorted(ARCHES))
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Only the user-side make targets, into a temporary OUT (no kernel: fast, and independent
    of kernel work in progress)."""
    arch = request.param
    out = tmp_path_factory.mktemp(f"user-{arch}")
    targets = [str(out / t) for t in USER_TARGETS]
    cmd = ["make", "-C", str(GUEST), f"ARCH={arch}", f"OUT={out}", "-j2", *targets]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning" not in done.stderr
    return Built(arch, out)


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    """userboot's parsers as a host shared library."""
    lib = tmp_path_factory.mktemp("native") / "libuserboot-host.so"
    cmd = [
        "clang", "-shared", "-fPIC", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-std=c11",
        f"-I{GUEST / 'include'}", f"-I{GUEST / 'sysroot/include'}",
        f"-I{GUEST / 'ulib/include'}", "-o", str(lib),
        *(str(GUEST / s) for s in NATIVE_SOURCES),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    native = ctypes.CDLL(str(lib))
    size_p = ctypes.POINTER(ctypes.c_size_t)
    native.lz4_decompress.argtypes = [
        ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, size_p, size_p,
    ]  # fmt: skip
    native.xxh32.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint32]
    native.xxh32.restype = ctypes.c_uint32
    native.processargs_handle_info.restype = ctypes.c_uint32
    native.processargs_build.restype = ctypes.c_size_t
    return native


def elf_of(path: Path) -> ELFFile:
    return ELFFile(io.BytesIO(path.read_bytes()))


def loads(elf: ELFFile) -> list:
    return [seg for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD"]


# ---- RODSO layout ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["vdso.so", "userboot.so"])
def test_rodso_layout(built: Built, name: str) -> None:
    elf = elf_of(built / name)
    assert elf.header["e_type"] == "ET_DYN"
    assert elf.header["e_machine"] == ARCHES[built.arch][0]
    ro, code = (segs := loads(elf))[0], segs[-1]
    assert len(segs) == 2, [s.header for s in segs]
    assert ro["p_flags"] == PF_R and code["p_flags"] == PF_R | PF_X
    assert ro["p_vaddr"] == ro["p_offset"] == 0
    for seg in segs:
        assert seg["p_offset"] == seg["p_vaddr"]
        assert seg["p_vaddr"] % PAGE == 0
        assert seg["p_filesz"] == seg["p_memsz"] and seg["p_memsz"] % PAGE == 0
    assert code["p_vaddr"] == ro["p_vaddr"] + ro["p_memsz"]  # adjacent
    types = {seg["p_type"] for seg in elf.iter_segments()}
    assert "PT_INTERP" not in types and "PT_GNU_RELRO" not in types
    dynamic = elf.get_section_by_name(".dynamic")
    assert isinstance(dynamic, DynamicSection)
    tags = {tag.entry.d_tag for tag in dynamic.iter_tags()}
    forbidden = {"DT_REL", "DT_RELA", "DT_RELR", "DT_JMPREL", "DT_TEXTREL", "DT_NEEDED"}
    assert not tags & forbidden
    assert "DT_GNU_HASH" in tags
    assert not [s.name for s in elf.iter_sections() if s["sh_type"] in ("SHT_REL", "SHT_RELA")]
    # The image ends where the code segment does: userboot's _end, the vDSO's size.
    symtab = elf.get_section_by_name(".symtab")
    assert isinstance(symtab, SymbolTableSection)
    if name == "userboot.so":
        ends = symtab.get_symbol_by_name("_end")
        assert ends is not None
        (end,) = ends
        assert end["st_value"] == code["p_vaddr"] + code["p_memsz"]


def test_vdso_exports_every_syscall(built: Built) -> None:
    spec = sysgen.parse_file(GUEST / "syscalls/zircon.syscalls")
    exports = vdso_syms.read_exports(built / "vdso.so")
    expected = {f"{p}{s.name}" for s in spec.syscalls for p in ("zx_", "_zx_")}
    assert set(exports) == expected
    elf = elf_of(built / "vdso.so")
    code = loads(elf)[1]
    for name, value in exports.items():
        assert code["p_vaddr"] <= value < code["p_vaddr"] + code["p_memsz"], name
        assert value == exports[name.lstrip("_")], name  # zx_ aliases _zx_
    dynamic = elf.get_section_by_name(".dynamic")
    assert isinstance(dynamic, DynamicSection)
    sonames = [getattr(t, "soname", None) for t in dynamic.iter_tags()
               if t.entry.d_tag == "DT_SONAME"]
    assert sonames == ["libzircon.so"]
    dynsym = elf.get_section_by_name(".dynsym")
    assert isinstance(dynsym, SymbolTableSection)
    others = [s.name for s in dynsym.iter_symbols() if s.name and s.name not in exports]
    assert others == []


def test_vdso_sysret_labels(built: Built) -> None:
    spec = sysgen.parse_file(GUEST / "syscalls/zircon.syscalls")
    symtab = elf_of(built / "vdso.so").get_section_by_name(".symtab")
    assert isinstance(symtab, SymbolTableSection)
    symbols = {s.name: s for s in symtab.iter_symbols()}
    table = (built / "gen/vdso-sysret.inc").read_text()
    for syscall in spec.kernel_syscalls:
        label = symbols[syscall.sysret_symbol]
        entry = symbols[f"_zx_{syscall.name}"]
        start = entry["st_value"]
        assert start < label["st_value"] < start + entry["st_size"], syscall.name
        assert f"[ZX_SYS_{syscall.name}] = {label['st_value']:#x}," in table


def test_vdso_syms_ldscript_matches_userboot(built: Built) -> None:
    exports = vdso_syms.read_exports(built / "vdso.so")
    fragment = (built / "gen/userboot/vdso-syms.ld").read_text()
    lines = re.findall(r"PROVIDE_HIDDEN\((zx_\w+) = _end \+ (0x[0-9a-f]+)\);", fragment)
    assert {name: int(off, 16) for name, off in lines} == {
        n: v for n, v in exports.items() if n.startswith("zx_")
    }
    symtab = elf_of(built / "userboot.so").get_section_by_name(".symtab")
    assert isinstance(symtab, SymbolTableSection)
    symbols = {s.name: s["st_value"] for s in symtab.iter_symbols()}
    calls = [name for name, _ in lines if name in symbols]
    assert "zx_channel_read" in calls and "zx_system_powerctl" in calls
    for name in calls:
        assert symbols[name] == symbols["_end"] + exports[name], name


def test_vdso_syms_thunk_offsets_in_programs(built: Built) -> None:
    exports = vdso_syms.read_exports(built / "vdso.so")
    symtab = elf_of(built / "bin/core-tests").get_section_by_name(".symtab")
    assert isinstance(symtab, SymbolTableSection)
    offsets = {
        s.name.removeprefix("__zhb_vdso_off_"): s["st_value"]
        for s in symtab.iter_symbols()
        if s.name.startswith("__zhb_vdso_off_")
    }
    assert offsets == {n: v for n, v in exports.items() if n.startswith("zx_")}


def test_vdso_syms_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "bogus.so"
    bogus.write_bytes(b"not an elf file at all")
    assert vdso_syms.main(["ldscript", str(bogus), "-o", str(tmp_path / "x.ld")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bogus.so" in err and "Traceback" not in err
    assert vdso_syms.main(["thunks", str(tmp_path / "missing.so"), "-o", str(tmp_path / "y")]) == 1
    assert "missing.so" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        vdso_syms.main(["--help"])
    assert exc.value.code == 0
    assert "linker-script" in capsys.readouterr().out


def test_makefile_prefers_venv_python(tmp_path: Path) -> None:
    """make's default PYTHON is the project venv's (vdso_syms.py needs pyelftools)."""
    cmd = ["make", "-s", "-C", str(GUEST), "--eval", "print-python: ; @echo $(PYTHON)",
           f"OUT={tmp_path}", "print-python"]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(REPO / ".venv/bin/python")


# ---- Native LZ4 ------------------------------------------------------------------------


def decompress(native: ctypes.CDLL, data: bytes, cap: int) -> tuple[int, bytes, int]:
    """(status, output, error offset)."""
    dst = ctypes.create_string_buffer(max(cap, 1))
    out_len = ctypes.c_size_t(0)
    err = ctypes.c_size_t(0)
    status = native.lz4_decompress(data, len(data), dst, cap, out_len, err)
    return status, dst.raw[: out_len.value], err.value


def sample_payloads() -> dict[str, bytes]:
    rng = random.Random(4)
    text = b"".join(b"zircon %d handles and objects\n" % (i % 97) for i in range(12000))
    noise = bytes(rng.getrandbits(8) for _ in range(150_000))  # stored as uncompressed blocks
    return {"empty": b"", "tiny": b"a", "text": text, "mixed": text[:70_000] + noise + text}


PAYLOADS = sample_payloads()
BLOCK_SIZES = {
    "64K": lz4.frame.BLOCKSIZE_MAX64KB,
    "256K": lz4.frame.BLOCKSIZE_MAX256KB,
    "1M": lz4.frame.BLOCKSIZE_MAX1MB,
    "4M": lz4.frame.BLOCKSIZE_MAX4MB,
}


def py_frame(data: bytes, block: str, linked: bool, bsum: bool, csum: bool, size: bool) -> bytes:
    compressor = lz4.frame.LZ4FrameCompressor(
        block_size=BLOCK_SIZES[block], block_linked=linked, content_checksum=csum,
        block_checksum=bsum,
    )  # fmt: skip
    head = compressor.begin(source_size=len(data) if size else 0)
    return head + compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize("block", sorted(BLOCK_SIZES))
@pytest.mark.parametrize("linked", [True, False], ids=["linked", "independent"])
def test_lz4_python_frames(native: ctypes.CDLL, block: str, linked: bool) -> None:
    for name, data in PAYLOADS.items():
        for bsum in (False, True):
            for csum in (False, True):
                for size in (False, True):
                    frame = py_frame(data, block, linked, bsum, csum, size)
                    status, out, err = decompress(native, frame, len(data))
                    case = f"{name} bsum={bsum} csum={csum} size={size}"
                    assert (status, err) == (LZ4["LZ4_OK"], 0), case
                    assert out == data, case


@pytest.mark.parametrize("block", ["-B4", "-B5", "-B6", "-B7"])
def test_lz4_cli_frames(native: ctypes.CDLL, block: str, tmp_path: Path) -> None:
    data = PAYLOADS["mixed"]
    source = tmp_path / "in"
    source.write_bytes(data)
    for dep in ("-BD", "-BI"):
        for extra in ([], ["-BX"], ["--no-frame-crc"], ["--content-size", "-BX"]):
            target = tmp_path / "out.lz4"
            cmd = ["lz4", "-q", "-f", block, dep, *extra, str(source), str(target)]
            subprocess.run(cmd, check=True, capture_output=True)
            status, out, _ = decompress(native, target.read_bytes(), len(data))
            assert status == LZ4["LZ4_OK"] and out == data, cmd


def test_lz4_legacy_format_rejected(native: ctypes.CDLL, tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.write_bytes(PAYLOADS["text"])
    subprocess.run(["lz4", "-q", "-f", "-l", str(source), str(tmp_path / "o")], check=True)
    status, _, err = decompress(native, (tmp_path / "o").read_bytes(), 1 << 20)
    assert (status, err) == (LZ4["LZ4_ERR_MAGIC"], 0)


def test_lz4_concatenated_and_skippable_frames(native: ctypes.CDLL) -> None:
    a, b = PAYLOADS["text"][:5000], PAYLOADS["mixed"][-9000:]
    skippable = struct.pack("<II", 0x184D2A5B, 5) + b"skip!"
    stream = lz4.frame.compress(a) + skippable + lz4.frame.compress(b, content_checksum=True)
    status, out, _ = decompress(native, stream, len(a) + len(b))
    assert status == LZ4["LZ4_OK"] and out == a + b


def test_xxh32_vectors(native: ctypes.CDLL) -> None:
    assert native.xxh32(b"", 0, 0) == 0x02CC5D05
    assert native.xxh32(b"abc", 3, 0) == 0x32D153FF


def header_checksum(native: ctypes.CDLL, descriptor: bytes) -> int:
    """HC: the second byte of xxh32(FLG..last descriptor byte) (xxh32 checked above)."""
    return (native.xxh32(descriptor, len(descriptor), 0) >> 8) & 0xFF


def patch_descriptor(
    native: ctypes.CDLL, frame: bytes, flg: int | None = None, bd: int | None = None
) -> bytes:
    """Frame with a new FLG/BD byte and a recomputed header checksum."""
    head = bytearray(frame)
    if flg is not None:
        head[4] = flg
    if bd is not None:
        head[5] = bd
    end = 6 + (8 if head[4] & 0x08 else 0)
    head[end] = header_checksum(native, bytes(head[4:end]))
    return bytes(head)


def corruptions(native: ctypes.CDLL, frame: bytes) -> Iterator[tuple[str, bytes, str]]:
    """(description, corrupted frame, expected status) for a frame with every checksum."""
    yield "magic", b"\x05" + frame[1:], "LZ4_ERR_MAGIC"
    yield (
        "header checksum",
        frame[:14] + bytes([frame[14] ^ 1]) + frame[15:],
        ("LZ4_ERR_HEADER_CHECKSUM"),
    )
    block = 15 + 4 + 10
    yield (
        "block byte",
        frame[:block] + bytes([frame[block] ^ 0x40]) + frame[block + 1 :],
        ("LZ4_ERR_BLOCK_CHECKSUM"),
    )
    yield "content checksum", frame[:-1] + bytes([frame[-1] ^ 1]), "LZ4_ERR_CONTENT_CHECKSUM"
    yield (
        "version",
        patch_descriptor(native, frame, flg=(frame[4] & 0x3F) | 0x80),
        "LZ4_ERR_VERSION",
    )
    yield (
        "reserved FLG bit",
        patch_descriptor(native, frame, flg=frame[4] | 0x02),
        "LZ4_ERR_RESERVED",
    )
    yield "reserved BD bit", patch_descriptor(native, frame, bd=frame[5] | 0x01), "LZ4_ERR_RESERVED"
    yield "dictionary", patch_descriptor(native, frame, flg=frame[4] | 0x01), "LZ4_ERR_DICTIONARY"
    yield "block max id", patch_descriptor(native, frame, bd=0x30), "LZ4_ERR_BLOCK_MAX"
    wrong_size = frame[:6] + struct.pack("<Q", 12345) + frame[14:]
    yield "content size", patch_descriptor(native, wrong_size), "LZ4_ERR_CONTENT_SIZE"


def test_lz4_corrupt_frames_rejected(native: ctypes.CDLL) -> None:
    data = PAYLOADS["text"][:40000]
    frame = py_frame(data, "64K", True, True, True, True)
    assert frame[4] & 0x1C == 0x1C  # block + content checksums and content size present
    for what, bad, expected in corruptions(native, frame):
        status, _, _ = decompress(native, bad, len(data))
        assert status == LZ4[expected], what
    status, _, _ = decompress(native, frame, len(data) - 1)
    assert status == LZ4["LZ4_ERR_OUTPUT_TOO_SMALL"]


def test_lz4_truncated_frames_rejected(native: ctypes.CDLL) -> None:
    frame = py_frame(PAYLOADS["text"][:3000], "64K", True, True, True, True)
    for cut in range(len(frame)):
        status, _, err = decompress(native, frame[:cut], 3000)
        assert status == LZ4["LZ4_ERR_TRUNCATED"], cut
        assert err <= cut


def test_lz4_bad_blocks_rejected(native: ctypes.CDLL) -> None:
    # FLG: version 1, independent blocks, no checksums; BD: 64 KiB.
    header = b"\x04\x22\x4d\x18" + bytes([0x60, 0x40])
    header += bytes([header_checksum(native, header[4:6])])

    def frame(*blocks: bytes) -> bytes:
        body = b"".join(struct.pack("<I", len(b)) + b for b in blocks)
        return header + body + b"\0\0\0\0"

    ok = frame(b"\x40abcd")  # 4 literals, the last sequence
    assert decompress(native, ok, 4)[:2] == (LZ4["LZ4_OK"], b"abcd")
    cases = {
        "offset 0": frame(b"\x40abcd\x00\x00"),
        "offset before block": frame(b"\x10a\x02\x00\x00"),
        "literals past end": frame(b"\x50abcd"),
        "match length past end": frame(b"\x1fa\x01\x00"),
        "previous block (independent)": frame(b"\x40abcd", b"\x00\x04\x00\x00"),
        "oversized block": header + struct.pack("<I", 0x10001),
        "ends with a match": frame(b"\x10a\x01\x00"),
    }
    for what, data in cases.items():
        status, _, _ = decompress(native, data, 1 << 16)
        expected = "LZ4_ERR_BLOCK_SIZE" if what == "oversized block" else "LZ4_ERR_CORRUPT_BLOCK"
        assert status == LZ4[expected], what
    status, out, _ = decompress(native, frame(b"\x10a\x01\x00\x00"), 5)  # overlapping match
    assert (status, out) == (LZ4["LZ4_OK"], b"aaaaa")


# ---- Native BOOTFS and ZBI -------------------------------------------------------------


class Bootfs(ctypes.Structure):
    _fields_ = [("image", ctypes.c_void_p), ("size", ctypes.c_size_t), ("dirsize", ctypes.c_uint32)]


class BootfsEntry(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p), ("name_len", ctypes.c_uint32), ("data_len", ctypes.c_uint32),
        ("data_off", ctypes.c_uint32), ("data", ctypes.c_void_p),
    ]  # fmt: skip


def native_bootfs(native: ctypes.CDLL, image: bytes) -> tuple[int, list[tuple[str, int, int]]]:
    buf = ctypes.create_string_buffer(image, len(image))
    fs = Bootfs()
    status = native.bootfs_open(ctypes.byref(fs), buf, ctypes.c_size_t(len(image)))
    entries: list[tuple[str, int, int]] = []
    cursor = ctypes.c_size_t(0)
    while status == BOOTFS["BOOTFS_OK"]:
        entry = BootfsEntry()
        status = native.bootfs_next(ctypes.byref(fs), ctypes.byref(cursor), ctypes.byref(entry))
        if status == BOOTFS["BOOTFS_OK"]:
            assert entry.data == ctypes.addressof(buf) + entry.data_off
            assert len(entry.name) == entry.name_len
            entries.append((entry.name.decode(), entry.data_off, entry.data_len))
    return status, entries


FILE_SETS = {
    "one": {"bin/core-tests": b"\x7fELF" + b"x" * 5000},
    "many": {f"dir{i % 3}/file-{i}.bin": bytes([i]) * (i * 700) for i in range(1, 40)},
    "long names": {"a" * 200 + "/" + "b" * 54: b"long", "empty": b""},
}


@pytest.mark.parametrize("files", sorted(FILE_SETS))
def test_bootfs_matches_bootfs_tools(native: ctypes.CDLL, files: str) -> None:
    image = build(FILE_SETS[files])
    status, entries = native_bootfs(native, image)
    assert status == BOOTFS["BOOTFS_END"]
    expected = [(e.name, e.data_off, e.data_len) for e in BootfsImage.parse(image).entries]
    assert entries == expected
    for name, off, size in entries:
        assert image[off : off + size] == FILE_SETS[files][name]
    buf = ctypes.create_string_buffer(image, len(image))
    fs = Bootfs()
    assert native.bootfs_open(ctypes.byref(fs), buf, ctypes.c_size_t(len(image))) == 0
    entry = BootfsEntry()
    last = expected[-1][0]
    assert native.bootfs_find(ctypes.byref(fs), last.encode(), ctypes.byref(entry)) == 0
    assert entry.name.decode() == last
    missing = native.bootfs_find(ctypes.byref(fs), b"bin/nothing", ctypes.byref(entry))
    assert missing == BOOTFS["BOOTFS_ERR_NOT_FOUND"]


def test_bootfs_corrupt_images_rejected(native: ctypes.CDLL) -> None:
    good = bytearray(build({"bin/x": b"12345", "lib/y": b"z" * 9000}))
    name_len_at = 16  # first dirent: name_len, data_len, data_off, name

    def patched(offset: int, value: int) -> bytes:
        image = bytearray(good)
        struct.pack_into("<I", image, offset, value)
        return bytes(image)

    cases = {
        "BOOTFS_ERR_MAGIC": patched(0, 0x12345678),
        "BOOTFS_ERR_RESERVED": patched(8, 1),
        "BOOTFS_ERR_TRUNCATED": bytes(good[:12]),
        "BOOTFS_ERR_NAME": patched(name_len_at, 1),
        "BOOTFS_ERR_DATA": patched(name_len_at + 8, PAGE + 4),
    }
    for expected, image in cases.items():
        assert native_bootfs(native, image)[0] == BOOTFS[expected], expected
    no_nul = bytearray(good)
    no_nul[16 + 12 + 5] = ord("!")  # "bin/x" + NUL -> "bin/x!"
    assert native_bootfs(native, bytes(no_nul))[0] == BOOTFS["BOOTFS_ERR_NAME"]
    past_end = patched(name_len_at + 4, len(good))
    assert native_bootfs(native, past_end)[0] == BOOTFS["BOOTFS_ERR_DATA"]
    dirsize = patched(4, len(good))
    assert native_bootfs(native, dirsize)[0] == BOOTFS["BOOTFS_ERR_TRUNCATED"]


def zbi_item(kind: int, payload: bytes, extra: int = 0, flags: int = zbi.FLAGS_VERSION) -> bytes:
    """An item without CRC32 (zbi_tools.format's constants; built by hand to stay independent)."""
    fields = (kind, len(payload), extra, flags, 0, 0, zbi.ITEM_MAGIC, zbi.ITEM_NO_CRC32)
    header = struct.pack("<8I", *fields)
    return header + payload + b"\0" * (-len(payload) % 8)


BOOTFS_TYPE = zbi.TYPE_STORAGE_BOOTFS
COMPRESSED = zbi.FLAGS_VERSION | zbi.FLAGS_STORAGE_COMPRESSED


def make_zbi(*items: bytes) -> bytes:
    body = b"".join(items)
    fields = (zbi.TYPE_CONTAINER, len(body), zbi.CONTAINER_MAGIC, zbi.FLAGS_VERSION, 0, 0,
              zbi.ITEM_MAGIC, zbi.ITEM_NO_CRC32)  # fmt: skip
    head = struct.pack("<8I", *fields)
    return head + body


def test_zbi_find_bootfs_then_decompress(native: ctypes.CDLL) -> None:
    files = FILE_SETS["many"]
    bootfs = build(files)
    compressed = lz4.frame.compress(bootfs, content_checksum=True)
    image = make_zbi(
        zbi_item(zbi.TYPE_CMDLINE, b"userboot.next=bin/x"),
        zbi_item(BOOTFS_TYPE, compressed, extra=len(bootfs), flags=COMPRESSED),
        zbi_item(BOOTFS_TYPE, b"second"),
    )
    buf = ctypes.create_string_buffer(image, len(image))
    header = ctypes.c_void_p()
    payload = ctypes.c_void_p()
    args = (buf, ctypes.c_size_t(len(image)), ctypes.c_uint32(BOOTFS_TYPE))
    assert native.zbi_find_item(*args, ctypes.byref(header), ctypes.byref(payload)) == 0
    assert header.value is not None and payload.value is not None
    offset = payload.value - ctypes.addressof(buf)
    assert header.value == payload.value - 32
    _, length, extra, flags = struct.unpack_from("<4I", image, offset - 32)
    assert (flags & 1, extra) == (1, len(bootfs))
    status, out, _ = decompress(native, image[offset : offset + length], extra)
    assert status == LZ4["LZ4_OK"] and out == bootfs
    assert native_bootfs(native, out)[1] == [
        (e.name, e.data_off, e.data_len) for e in BootfsImage.parse(bootfs).entries
    ]
    for bad, expected in [
        (make_zbi(zbi_item(zbi.TYPE_CMDLINE, b"x")), "ZBI_ERR_NOT_FOUND"),
        (image[:40], "ZBI_ERR_CONTAINER"),
        (image[:56] + b"\0" * 4 + image[60:], "ZBI_ERR_ITEM"),  # first item's magic
    ]:
        buf = ctypes.create_string_buffer(bad, len(bad))
        status = native.zbi_find_item(
            buf, ctypes.c_size_t(len(bad)), ctypes.c_uint32(BOOTFS_TYPE),
            ctypes.byref(header), ctypes.byref(payload),
        )  # fmt: skip
        assert status == BOOTFS[expected], expected


def test_zbi_ram_size_sums_ram_ranges_of_mem_config(native: ctypes.CDLL) -> None:
    """userboot's RAM budget: the RAM ranges of the first MEM_CONFIG item, saturating."""
    native.zbi_ram_size.restype = ctypes.c_uint64
    mem_config = 0x434D454D
    ranges = struct.pack("<QQII", 0, 640 << 10, 1, 0) + struct.pack("<QQII", 1 << 20, 255 << 20,
                                                                       1, 0)
    ranges += struct.pack("<QQII", 0xFEC00000, 1 << 20, 3, 0)  # RESERVED: not counted
    huge = struct.pack("<QQII", 0, 2**64 - 1, 1, 0) * 2
    for image, expected in [
        (make_zbi(zbi_item(zbi.TYPE_CMDLINE, b"x"), zbi_item(mem_config, ranges)),
         (640 << 10) + (255 << 20)),
        (make_zbi(zbi_item(mem_config, huge)), 2**64 - 1),
        (make_zbi(zbi_item(zbi.TYPE_CMDLINE, b"x")), 0),
        (make_zbi(zbi_item(mem_config, ranges[:30])), 640 << 10),  # a partial range is ignored
    ]:
        buf = ctypes.create_string_buffer(image, len(image))
        assert native.zbi_ram_size(buf, ctypes.c_size_t(len(image))) == expected


# ---- Native ELF ------------------------------------------------------------------------


class ElfSegment(ctypes.Structure):
    _fields_ = [
        ("vaddr", ctypes.c_uint64), ("memsz", ctypes.c_uint64), ("offset", ctypes.c_uint64),
        ("filesz", ctypes.c_uint64), ("flags", ctypes.c_uint32),
    ]  # fmt: skip


class ElfInfo(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_uint16), ("machine", ctypes.c_uint16), ("entry", ctypes.c_uint64),
        ("stack_size", ctypes.c_uint64), ("lo", ctypes.c_uint64), ("hi", ctypes.c_uint64),
        ("interp_offset", ctypes.c_uint64), ("interp_size", ctypes.c_uint64),
        ("nsegs", ctypes.c_uint32), ("segs", ElfSegment * 8),
    ]  # fmt: skip


def elf_parse(native: ctypes.CDLL, data: bytes, machine: int) -> tuple[int, ElfInfo]:
    info = ElfInfo()
    buf = ctypes.create_string_buffer(data, len(data))
    status = native.elf_parse(buf, ctypes.c_size_t(len(data)), ctypes.c_uint16(machine),
                              ctypes.byref(info))  # fmt: skip
    return status, info


@pytest.mark.parametrize("name", ["bin/core-tests", "bin/microbench", "vdso.so", "userboot.so"])
def test_elf_parse_matches_pyelftools(native: ctypes.CDLL, built: Built, name: str) -> None:
    machine = ARCHES[built.arch][1]
    data = (built / name).read_bytes()
    status, info = elf_parse(native, data, machine)
    assert status == ELF["ELF_OK"]
    elf = elf_of(built / name)
    segs = [s for s in loads(elf) if s["p_memsz"]]
    assert info.entry == elf.header["e_entry"]
    assert info.type == (2 if elf.header["e_type"] == "ET_EXEC" else 3)
    got = [(s.vaddr, s.memsz, s.offset, s.filesz, s.flags) for s in info.segs[: info.nsegs]]
    assert got == [(s["p_vaddr"], s["p_memsz"], s["p_offset"], s["p_filesz"], s["p_flags"])
                   for s in segs]  # fmt: skip
    assert info.lo == segs[0]["p_vaddr"] & ~(PAGE - 1)
    for seg in segs:
        assert not (seg["p_flags"] & PF_W and seg["p_flags"] & PF_X)
    other = 62 if machine == 183 else 183
    assert elf_parse(native, data, other)[0] == ELF["ELF_ERR_MACHINE"]


def elf_mutations(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(expected status, mutated file) for a static executable with 3 PT_LOADs."""
    phoff = struct.unpack_from("<Q", data, 32)[0]

    def ph(i: int, field: int, fmt: str, value: int) -> bytes:
        out = bytearray(data)
        struct.pack_into(fmt, out, phoff + 56 * i + field, value)
        return bytes(out)

    def at(offset: int, fmt: str, value: int) -> bytes:
        out = bytearray(data)
        struct.pack_into(fmt, out, offset, value)
        return bytes(out)

    index = {seg: i for i, seg in enumerate(program_loads(data))}
    first, code, rw = sorted(index, key=lambda i: index[i])
    yield "ELF_ERR_TRUNCATED", data[:63]
    yield "ELF_ERR_IDENT", b"#!/bin/sh\n"  # short, but not an ELF file at all
    yield "ELF_ERR_IDENT", b"\x7fELG" + data[4:]
    yield "ELF_ERR_IDENT", at(4, "B", 1)  # ELFCLASS32
    yield "ELF_ERR_TYPE", at(16, "<H", 1)  # ET_REL
    yield "ELF_ERR_PHDRS", at(54, "<H", 32)
    yield "ELF_ERR_PHDRS", at(32, "<Q", len(data))
    interp = bytearray(ph(index[rw], 0, "<I", 3))  # PT_INTERP whose name runs past the file
    struct.pack_into("<Q", interp, phoff + 56 * index[rw] + 8, len(data))
    yield "ELF_ERR_INTERP", bytes(interp)
    yield "ELF_ERR_WX", ph(index[rw], 4, "<I", PF_R | PF_W | PF_X)
    yield "ELF_ERR_SEGMENT", ph(index[code], 32, "<Q", 1 << 40)  # filesz > memsz
    yield "ELF_ERR_SEGMENT", ph(index[code], 16, "<Q", first[1])  # overlaps the first
    yield "ELF_ERR_SEGMENT", ph(index[code], 8, "<Q", code[0] + 1)  # vaddr/offset mismatch
    yield "ELF_ERR_ENTRY", at(24, "<Q", first[1])
    stack = [i for i in range(struct.unpack_from("<H", data, 56)[0])
             if struct.unpack_from("<I", data, phoff + 56 * i)[0] == 0x6474E551]  # fmt: skip
    yield "ELF_ERR_STACK", ph(stack[0], 4, "<I", PF_R | PF_W | PF_X)


def program_loads(data: bytes) -> list[tuple[int, int]]:
    """(p_offset, p_vaddr) of each PT_LOAD."""
    (phoff,) = struct.unpack_from("<Q", data, 32)
    (count,) = struct.unpack_from("<H", data, 56)
    headers = [struct.unpack_from("<IIQQ", data, phoff + 56 * i) for i in range(count)]
    return [(off, vaddr) for kind, _, off, vaddr in headers if kind == 1]


def test_elf_bad_headers_rejected(native: ctypes.CDLL, built: Built) -> None:
    machine = ARCHES[built.arch][1]
    data = (built / "bin/core-tests").read_bytes()
    assert len(program_loads(data)) == 3
    for expected, mutated in elf_mutations(data):
        assert elf_parse(native, mutated, machine)[0] == ELF[expected], expected


# ---- Native processargs ----------------------------------------------------------------

PROTOCOL, VERSION = 0x4150585D, 0x0001000


class ProcessArgs(ctypes.Structure):
    _fields_ = [
        ("msg", ctypes.c_void_p), ("bytes", ctypes.c_uint32), ("num_handles", ctypes.c_uint32),
        ("header", ctypes.c_uint32 * 9),
    ]  # fmt: skip


def c_strings(words: list[str]) -> ctypes.Array:  # type: ignore[type-arg]
    return (ctypes.c_char_p * max(len(words), 1))(*[w.encode() for w in words])


def parse_message(native: ctypes.CDLL, msg: bytes, handles: int) -> tuple[int, dict]:
    buf = ctypes.create_string_buffer(msg, len(msg))
    pa = ProcessArgs()
    status = native.processargs_parse(ctypes.byref(pa), buf, len(msg), handles)
    if status != PA["PROCESSARGS_OK"]:
        return status, {}
    out = (ctypes.c_char_p * 16)()
    fields = {}
    for kind in ("args", "environ", "names"):
        count = getattr(native, f"processargs_{kind}")(ctypes.byref(pa), out, 16)
        fields[kind] = [(out[i] or b"").decode() for i in range(count)]
    fields["handles"] = [
        native.processargs_handle_info(ctypes.byref(pa), i) for i in range(handles)
    ]
    return status, fields


def test_processargs_build_then_parse(native: ctypes.CDLL) -> None:
    args = ["bin/core-tests", "--verbose", ""]
    environ = ["userboot.next=bin/core-tests+--verbose", "userboot.shutdown", "kernel.x=1"]
    handles = [0x01, 0x02, 0x04, 0x03, 0x11, 0x1B | (7 << 16), 0x3F]
    info = (ctypes.c_uint32 * len(handles))(*handles)
    buf = ctypes.create_string_buffer(4096)
    size = native.processargs_build(
        buf,
        ctypes.c_size_t(4096),
        info,
        len(handles),
        c_strings(args),
        len(args),
        c_strings(environ),
        len(environ),
    )
    msg = buf.raw[:size]
    header = struct.unpack_from("<9I", msg)
    assert header[:2] == (PROTOCOL, VERSION)
    assert list(struct.unpack_from(f"<{len(handles)}I", msg, header[2])) == handles
    assert msg[header[3] :].split(b"\0")[: len(args)] == [a.encode() for a in args]
    assert header[4] == len(args) and header[6] == len(environ) and header[8] == 0
    status, fields = parse_message(native, msg, len(handles))
    assert status == PA["PROCESSARGS_OK"]
    assert fields == {"args": args, "environ": environ, "names": [], "handles": handles}
    small = native.processargs_build(
        buf,
        ctypes.c_size_t(size - 1),
        info,
        len(handles),
        c_strings(args),
        len(args),
        c_strings(environ),
        len(environ),
    )
    assert small == 0


def message(args: list[bytes], handles: list[int], **override: int) -> bytes:
    strings = b"".join(a + b"\0" for a in args)
    fields = {"protocol": PROTOCOL, "version": VERSION, "handle_info_off": 36,
              "args_off": 36 + 4 * len(handles), "args_num": len(args), "environ_off": 0,
              "environ_num": 0, "names_off": 0, "names_num": 0}  # fmt: skip
    fields.update(override)
    return (
        struct.pack("<9I", *fields.values()) + struct.pack(f"<{len(handles)}I", *handles) + strings
    )


def test_processargs_bad_messages_rejected(native: ctypes.CDLL) -> None:
    good = message([b"prog", b"x"], [0x01, 0x02])
    status, fields = parse_message(native, good, 2)
    assert status == PA["PROCESSARGS_OK"] and fields["args"] == ["prog", "x"]
    cases = [
        ("PROCESSARGS_ERR_SIZE", good[:35], 2),
        ("PROCESSARGS_ERR_PROTOCOL", message([], [], protocol=1), 0),
        ("PROCESSARGS_ERR_PROTOCOL", message([], [], version=2), 0),
        ("PROCESSARGS_ERR_HANDLES", good, 200),
        ("PROCESSARGS_ERR_HANDLES", message([], [1], handle_info_off=37), 1),
        ("PROCESSARGS_ERR_STRINGS", good[:-1], 2),  # last string loses its NUL
        ("PROCESSARGS_ERR_STRINGS", message([b"a"], [], args_num=2), 0),
        ("PROCESSARGS_ERR_STRINGS", message([b"a"], [], environ_num=1, environ_off=4096), 0),
    ]
    for expected, msg, handles in cases:
        assert parse_message(native, msg, handles)[0] == PA[expected], expected


def test_native_library_has_no_syscalls(native: ctypes.CDLL) -> None:
    """The parsers are pure: the objects reference no zx_* symbol."""
    nm = subprocess.run(["llvm-nm", "-u", native._name], capture_output=True, text=True,
                        check=True)  # fmt: skip
    assert not [line for line in nm.stdout.splitlines() if " zx_" in line or "_zx_" in line]


# ---- Native fuchsia.ldsvc messages (ulib/process_builder/ldmsg.c) -----------------------

LDMSG_OP_LOAD_OBJECT = 0x48C5A151D6DF2853
LDMSG_OP_DONE = 0x63BA6B76D3671001


def test_ldmsg_load_object_wire_format(native: ctypes.CDLL) -> None:
    """A LoadObject request is the FIDL header (txid, magic 1, ordinal), then the string as
    size, presence and bytes padded to 8; decode gives back what encode was given."""
    buf = ctypes.create_string_buffer(1024)
    size = native.ldmsg_encode(buf, ctypes.c_uint32(7), ctypes.c_uint64(LDMSG_OP_LOAD_OBJECT),
                               b"libfoo.so", ctypes.c_size_t(9))
    assert size == 16 + 16 + 16
    assert buf.raw[:size] == (struct.pack("<IBBBBQ", 7, 0, 0, 0, 1, LDMSG_OP_LOAD_OBJECT)
                              + struct.pack("<QQ", 9, 2**64 - 1) + b"libfoo.so" + b"\0" * 7)
    ordinal, txid = ctypes.c_uint64(), ctypes.c_uint32()
    name, length = ctypes.c_char_p(), ctypes.c_size_t()
    assert native.ldmsg_decode(buf, ctypes.c_uint32(size), ctypes.byref(ordinal),
                               ctypes.byref(txid), ctypes.byref(name), ctypes.byref(length)) == 0
    assert (ordinal.value, txid.value, length.value) == (LDMSG_OP_LOAD_OBJECT, 7, 9)
    for bad in (size - 8, size + 8, 15):
        assert native.ldmsg_decode(buf, ctypes.c_uint32(bad), ctypes.byref(ordinal),
                                   ctypes.byref(txid), ctypes.byref(name),
                                   ctypes.byref(length)) == -1
    assert native.ldmsg_encode(buf, ctypes.c_uint32(1), ctypes.c_uint64(LDMSG_OP_LOAD_OBJECT),
                               b"x" * 1001, ctypes.c_size_t(1001)) == 0
    done = native.ldmsg_encode(buf, ctypes.c_uint32(2), ctypes.c_uint64(LDMSG_OP_DONE), None,
                               ctypes.c_size_t(0))
    assert done == 16


def test_ldmsg_reply(native: ctypes.CDLL) -> None:
    buf = ctypes.create_string_buffer(32)
    native.ldmsg_encode_reply(buf, ctypes.c_uint32(5), ctypes.c_uint64(LDMSG_OP_LOAD_OBJECT),
                              ctypes.c_int32(-25), 0)
    assert buf.raw == (struct.pack("<IBBBBQ", 5, 0, 0, 0, 1, LDMSG_OP_LOAD_OBJECT)
                       + struct.pack("<iIII", -25, 0, 0, 0))
    native.ldmsg_encode_reply(buf, ctypes.c_uint32(5), ctypes.c_uint64(LDMSG_OP_LOAD_OBJECT),
                              ctypes.c_int32(0), 1)
    assert struct.unpack_from("<iIII", buf.raw, 16) == (0, 0, 0xFFFFFFFF, 0)
