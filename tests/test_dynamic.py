"""Dynamic linking: bin/dyn-tests (guest_payloads/programs/dyn-tests/) booted as userboot.next.

The program has PT_INTERP `ld.so.1` and needs libdyn-a.so, which needs libdyn-b.so; both it and
the libraries call the vDSO through dynamic symbols. userboot loads the dynamic linker from
BOOTFS `lib/ld.so.1`, hands it the loader service and serves its loads (`lib/<name>`) until
the channel closes. Every `KTAP_CASE` of the program is its own test per arch
(`test_dyn_tests[x86_64-<name>]`), plus the usual summary and clean-shutdown tests and one that
userboot's console shows both loads and the loader channel closing.

The error paths are booted with BOOTFS images made here from the build's files: a missing
library, a library lacking a symbol, an unsupported relocation type, a corrupt dynamic
section (each one `ld.so: error: ...` line, exit code 127, the kernel going on to power off)
and a missing dynamic linker (a `userboot: error:` line).
"""

from __future__ import annotations

import dataclasses
import io
import re
import struct
from collections.abc import Callable

import pytest
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.segments import InterpSegment

from bootfs_tools import build as build_bootfs
from harness import console
from harness.image import BootImage, GuestOutputs
from harness.machine import Machine
from harness.outcome import Outcome, Status
from harness.plugin import KtapCaseRun, require_no_problems
from harness.suites import SuiteRun, program_suite

MakeImage = Callable[..., BootImage]
Launch = Callable[..., Machine]

PROGRAM = "bin/dyn-tests"
LIBS = ("lib/ld.so.1", "lib/libdyn-a.so", "lib/libdyn-b.so")
LDSO_EXIT = 127
SERVED = [re.compile(rb"userboot: loader: served lib/libdyn-a\.so\r?\n"),
          re.compile(rb"userboot: loader: served lib/libdyn-b\.so\r?\n")]
CLOSED = re.compile(rb"userboot: loader: channel closed after 2 loads\r?\n")

DYN_TESTS = dataclasses.replace(
    program_suite("dyn-tests"),
    sources=("programs/dyn-tests/main.c",),
    bootfs=(PROGRAM, *LIBS, "bin/core-tests"),
)


@pytest.mark.ktap_suite(DYN_TESTS)
def test_dyn_tests(ktap_case: KtapCaseRun) -> None:
    ktap_case.check()


@pytest.mark.ktap_suite(DYN_TESTS)
def test_dyn_tests_report_every_source_case(suite_run: SuiteRun) -> None:
    require_no_problems(suite_run.summary_problems())


@pytest.mark.ktap_suite(DYN_TESTS)
def test_dyn_tests_shut_down_cleanly(suite_run: SuiteRun) -> None:
    require_no_problems(suite_run.shutdown_problems())


@pytest.mark.ktap_suite(DYN_TESTS)
def test_userboot_served_the_loads_then_the_channel_closed(suite_run: SuiteRun) -> None:
    outcome = suite_run.outcome
    assert outcome is not None, suite_run.error
    text = outcome.transcript
    interp = re.search(rb"userboot: bin/dyn-tests: dynamic linker lib/ld\.so\.1\r?\n", text)
    assert interp is not None, "\n".join(outcome.console_tail())
    ends = []
    for served in SERVED:
        match = served.search(text, interp.end())
        assert match is not None, f"no {served.pattern!r}:\n" + "\n".join(outcome.console_tail())
        ends.append(match.end())
    assert CLOSED.search(text, max(ends)) is not None, "\n".join(outcome.console_tail())
    assert text.index(b"KTAP version 1") >= max(ends)  # ld.so loaded both before main ran


# ---- ld.so's and userboot's errors -----------------------------------------------------------


def files(guest_build: GuestOutputs) -> dict[str, bytes]:
    out = guest_build.kernel.parent
    return {name: (out / name).read_bytes() for name in (PROGRAM, *LIBS)}


def patch_rela_type(lib: bytes, new_type: int) -> bytes:
    """`lib` with the type of its first .rela.dyn entry changed to `new_type`."""
    section = ELFFile(io.BytesIO(lib)).get_section_by_name(".rela.dyn")
    assert section is not None and section["sh_size"] >= 24
    out = bytearray(lib)
    offset = section["sh_offset"] + 8  # r_info: type in the low 32 bits
    struct.pack_into("<I", out, offset, new_type)
    return bytes(out)


def patch_dynamic(lib: bytes, tag: int, value: int) -> bytes:
    """`lib` with the value of its dynamic entry `tag` changed to `value`."""
    section = ELFFile(io.BytesIO(lib)).get_section_by_name(".dynamic")
    assert section is not None
    out = bytearray(lib)
    for at in range(section["sh_offset"], section["sh_offset"] + section["sh_size"], 16):
        if struct.unpack_from("<q", lib, at)[0] == tag:
            struct.pack_into("<Q", out, at + 8, value)
            return bytes(out)
    raise AssertionError(f"no dynamic tag {tag}")


DT_SYMENT = 11


def run(make_image: MakeImage, launch: Launch, bootfs: dict[str, bytes]) -> Outcome:
    image = make_image(cmdline=f"userboot.next={PROGRAM} userboot.shutdown",
                       bootfs=build_bootfs(bootfs))
    return launch(image).wait_exit()


def assert_no_panic_power_off(outcome: Outcome) -> None:
    assert outcome.status is Status.FAIL, outcome.reason  # never a hang
    assert outcome.powered_off
    assert "GUEST_PANICKED" not in outcome.event_names
    assert console.parse_console(outcome.transcript).panic is None


LDSO_ERRORS = {
    "missing-library": (lambda f: {k: v for k, v in f.items() if k != "lib/libdyn-b.so"},
                        "ld.so: error: libdyn-b.so: library not found (status -25)"),
    "undefined-symbol": (lambda f: {**f, "lib/libdyn-b.so": f["lib/libdyn-a.so"]},
                         "ld.so: error: libdyn-a.so: undefined symbol: dynb_"),
    "unsupported-relocation": (
        lambda f: {**f, "lib/libdyn-b.so": patch_rela_type(f["lib/libdyn-b.so"], 0x7F)},
        "ld.so: error: libdyn-b.so: unsupported relocation type 127"),
    "corrupt-dynamic-section": (
        lambda f: {**f, "lib/libdyn-b.so": patch_dynamic(f["lib/libdyn-b.so"], DT_SYMENT, 16)},
        "ld.so: error: libdyn-b.so: corrupt dynamic section: DT_SYMENT"),
}


@pytest.mark.parametrize("case", sorted(LDSO_ERRORS))
def test_ldso_error_is_one_line_and_exit_127(
    make_image: MakeImage, launch: Launch, guest_build: GuestOutputs, case: str
) -> None:
    change, line = LDSO_ERRORS[case]
    outcome = run(make_image, launch, change(files(guest_build)))
    assert_no_panic_power_off(outcome)
    assert re.search(re.escape(line.encode()), outcome.transcript), "\n".join(
        outcome.console_tail())
    exited = console.userboot_exit(PROGRAM, LDSO_EXIT)
    assert exited.search(outcome.transcript) is not None, outcome.reason
    assert b"KTAP version" not in outcome.transcript  # the program never ran


def test_missing_dynamic_linker_is_a_userboot_error(
    make_image: MakeImage, launch: Launch, guest_build: GuestOutputs
) -> None:
    bootfs = {k: v for k, v in files(guest_build).items() if k != "lib/ld.so.1"}
    outcome = run(make_image, launch, bootfs)
    assert_no_panic_power_off(outcome)
    assert outcome.reason.startswith(
        f"userboot: error: {PROGRAM}: dynamic linker lib/ld.so.1: not found in BOOTFS"
    ), outcome.reason


def test_ldso_has_no_relocations(guest_build: GuestOutputs) -> None:
    """ld.so relocates others, never itself: no dynamic relocation, no PT_INTERP."""
    data = (guest_build.kernel.parent / "lib/ld.so.1").read_bytes()
    elf = ELFFile(io.BytesIO(data))
    assert elf.header["e_type"] == "ET_DYN"
    for section in elf.iter_sections():
        assert not (section.name.startswith(".rela") and section["sh_size"]), section.name
    assert all(seg["p_type"] != "PT_INTERP" for seg in elf.iter_segments())
    assert not any(seg["p_flags"] & 2 and seg["p_flags"] & 1 for seg in elf.iter_segments())


def test_dyn_tests_is_dynamic(guest_build: GuestOutputs) -> None:
    elf = ELFFile(io.BytesIO((guest_build.kernel.parent / PROGRAM).read_bytes()))
    interp = [seg for seg in elf.iter_segments() if isinstance(seg, InterpSegment)]
    assert len(interp) == 1 and interp[0].get_interp_name() == "ld.so.1"
    dynamic = elf.get_section_by_name(".dynamic")
    assert isinstance(dynamic, DynamicSection)
    needed = [getattr(tag, "needed", None) for tag in dynamic.iter_tags()
              if tag.entry.d_tag == "DT_NEEDED"]
    assert needed == ["libdyn-a.so", "libzircon.so"]
    assert any(seg["p_type"] == "PT_GNU_RELRO" for seg in elf.iter_segments())
