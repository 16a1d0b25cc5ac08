"""Boot tests: build the guest, boot it in QEMU, watch the console and QMP.

Each test runs once per `--arch` (ids like `test_banner[arm64]`). The guest must always end the
run itself: a clean power-off (QMP SHUTDOWN guest=true), or for the negative cases the shim's
error line followed by a power-off, or a panic reported through pvpanic.

Guest programs run by userboot (`userboot.next=bin/<program> userboot.shutdown`, the program in
the image's BOOTFS) are KTAP suites (harness.suites): every `KTAP_CASE(name)` of
guest_payloads/programs/<program>/*.c is its own test per arch (`test_core_tests[arm64-<name>]`),
plus a test that source and output agree and one that the run ends with userboot's
`userboot: bin/<program> exited with return code 0`, a guest power-off and no panic. A program
the guest build did not make fails every one of these tests with that reason. Another program
plugs in with these three small tests and one `program_suite()` entry in harness.suites.SUITES.

userboot's other endings are booted with BOOTFS images made here (no guest code of their own):
each error (program missing, corrupt BOOTFS, not an ELF file, a BOOTFS or a program larger
than RAM allows) is one `userboot: error: <what>` line and then a guest power-off, never a hang
or a fault; a program the kernel kills for a fault is reported on the console (process, koid,
address, PC) and userboot still prints its non-zero return code and powers off. All of these
are failed runs for the harness: with `userboot.shutdown` only the exit line with return code
0 passes one (harness.outcome.userboot_verdict).

Broken kernel items (reserve_memory_size 0, a payload cut short) end in one `zhb-shim: error:`
line and a power-off on both arches; kernel items after the first are passed on in the data ZBI.
"""

from __future__ import annotations

import dataclasses
import re
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from bootfs_tools import build as build_bootfs
from bootfs_tools.format import BOOTFS_MAGIC
from harness import console
from harness.errors import GuestCrashed
from harness.image import BootImage, GuestOutputs, build_image, build_poweroff_image
from harness.machine import Machine
from harness.outcome import Outcome, Status
from harness.plugin import KtapCaseRun, require_no_problems
from harness.profiles import Profile
from harness.suites import CORE_TESTS, SuiteRun
from zbi_tools import ZbiItem
from zbi_tools.format import TYPE_STORAGE_BOOTFS

MakeImage = Callable[..., BootImage]
Launch = Callable[..., Machine]


def test_banner(booted_machine: Machine, profile: Profile) -> None:
    match = booted_machine.expect(console.BANNER)
    assert match.group(1).decode().strip() == profile.name
    booted_machine.wait_exit().raise_for_status()


def test_cmdline_round_trip(make_image: MakeImage, launch: Launch) -> None:
    cmdline = "zhb.test=round-trip-7 loglevel=3"
    machine = launch(make_image(cmdline=cmdline))
    machine.expect(console.BANNER)
    match = machine.expect(console.CMDLINE)
    assert match.group(1).decode().strip() == cmdline
    machine.wait_exit().raise_for_status()


def test_truncated_cmdline_is_reported(make_image: MakeImage, launch: Launch) -> None:
    """The kernel keeps 1023 bytes of command line and says so when it drops the rest. The
    harness refuses such images (harness.image.check_cmdline), so the long text comes as
    QEMU's -append, which the shim hands over as a CMDLINE item after the image's."""
    machine = launch(make_image(cmdline="zhb.test=first"), append="zhb.pad=" + "p" * 1100)
    kept = machine.expect(console.CMDLINE).group(1)
    assert len(kept.rstrip(b"\r")) == 1023 and kept.startswith(b"zhb.test=first zhb.pad=")
    match = machine.expect(console.CMDLINE_TRUNCATED)
    assert (int(match.group(1)), int(match.group(2))) == (15 + 8 + 1100 - 1023, 1023)
    machine.wait_exit().raise_for_status()


def test_memory_is_reported(booted_machine: Machine, profile: Profile) -> None:
    match = booted_machine.expect(console.MEMORY)
    mib, ranges = int(match.group(1)), int(match.group(2))
    ram_mib = profile.memory_bytes >> 20
    assert ram_mib // 2 <= mib <= ram_mib  # the machine's RAM, some of it reserved
    assert ranges >= 1
    booted_machine.wait_exit().raise_for_status()


def test_guest_powers_off(booted_machine: Machine) -> None:
    outcome = booted_machine.wait_exit()
    assert outcome.status is Status.PASS, outcome.reason
    shutdowns = [e for e in outcome.events if e.name == "SHUTDOWN"]
    assert [e.data for e in shutdowns] == [{"guest": True, "reason": "guest-shutdown"}]
    assert outcome.powered_off
    assert outcome.exit_status == 0
    assert console.parse_console(outcome.transcript).powering_off


def test_corrupt_zbi_shim_error_then_poweroff(make_image: MakeImage, launch: Launch) -> None:
    machine = launch(make_image(cmdline="zhb.test=corrupt", corrupt_item=1))
    match = machine.expect(console.SHIM_ERROR)
    assert b"crc" in match.group(1).lower()
    outcome = machine.wait_exit()
    assert outcome.status is Status.FAIL
    assert outcome.reason.startswith("shim error: ")
    assert outcome.powered_off
    assert console.parse_console(outcome.transcript).arch is None  # the kernel never ran


SHIM_HANDOFF = re.compile(rb"zhb-shim: kernel entry 0x[0-9a-f]+, data ZBI 0x[0-9a-f]+ \((\d+) bytes\)")


def test_later_kernel_items_reach_the_data_zbi(
    make_image: MakeImage, launch: Launch, profile: Profile
) -> None:
    """Kernel items after the first are data (Fuchsia's chain-loading tests boot them): the
    shim accepts them and copies them into the data ZBI, and our kernel boots as before."""
    payload = bytes(16) + b"\xa5" * 0x10000  # a zbi_kernel_t and 64 KiB, never entered
    later = ZbiItem.kernel(profile.zbi_kernel_arch, payload)
    machine = launch(make_image(cmdline="zhb.test=later-kernel", extra_items=[later]))
    handoff = machine.expect(SHIM_HANDOFF)
    assert int(handoff.group(1)) > len(payload)
    machine.expect(console.BANNER)


def zero_reserve(kernel: bytes) -> bytes:
    return kernel[:8] + bytes(8) + kernel[16:]  # zbi_kernel_t.reserve_memory_size = 0


def cut_in_half(kernel: bytes) -> bytes:
    return kernel[: len(kernel) // 2]  # the item's length says so too: a consistent ZBI


@pytest.mark.parametrize("damage, error", [
    pytest.param(zero_reserve, "kernel reserve_memory_size is 0: no room for the kernel's bss "
                 "and stack", id="reserve-0"),
    pytest.param(cut_in_half, "(truncated or corrupt kernel image?)", id="truncated-payload"),
])
def test_bad_kernel_item_shim_error_then_poweroff(
    launch: Launch, guest_build: GuestOutputs, tmp_path: Path,
    damage: Callable[[bytes], bytes], error: str,
) -> None:
    """A kernel header the shim cannot honour, or a payload cut short (which zbi_kernel_t
    cannot reveal: the kernel faults into the shim's handlers), ends in one shim error line
    and a power-off on both arches, never in a hang or a silent reset."""
    kernel = tmp_path / "kernel.bin"
    kernel.write_bytes(damage(guest_build.kernel.read_bytes()))
    damaged = dataclasses.replace(guest_build, kernel=kernel)
    image = build_image(guest_build.arch, tmp_path, "zhb.test=bad-kernel", outputs=damaged)
    outcome = launch(image).wait_exit()
    assert outcome.status is Status.FAIL, outcome.reason
    shim_error = console.parse_console(outcome.transcript).shim_error
    assert shim_error is not None and error in shim_error, outcome.reason
    assert outcome.powered_off


def test_panic_is_reported_as_crash(make_image: MakeImage, launch: Launch) -> None:
    machine = launch(make_image(cmdline="kernel.test.panic"))
    outcome = machine.wait_exit()
    assert outcome.status is Status.CRASH
    assert "GUEST_PANICKED" in outcome.event_names
    assert not outcome.powered_off
    with pytest.raises(GuestCrashed) as caught:
        outcome.raise_for_status()
    assert any(line.startswith("ZIRCON KERNEL PANIC") for line in caught.value.console_tail)
    assert "ZIRCON KERNEL PANIC" in str(caught.value)
    assert any(e.startswith("GUEST_PANICKED") for e in caught.value.events)


def test_panic_fails_a_console_wait(make_image: MakeImage, launch: Launch) -> None:
    machine = launch(make_image(cmdline="kernel.test.panic"))
    with pytest.raises(GuestCrashed) as caught:
        machine.expect(console.POWERING_OFF)
    assert "kernel.test.panic" in str(caught.value)


def test_poweroff_baseline_image(profile: Profile, launch: Launch) -> None:
    outcome = launch(build_poweroff_image(profile.name)).wait_exit()
    assert outcome.powered_off, outcome.reason
    assert outcome.status is Status.NO_OUTPUT  # it prints nothing: never a pass by itself


# -- CPUs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("cpus", [1, 2])
def test_cpus_come_online(cpus: int, make_image: MakeImage, launch: Launch) -> None:
    """Every vCPU QEMU gives is started (MADT + INIT-SIPI-SIPI / topology item + PSCI) and
    counted; the secondaries then stay parked and power-off still ends the run."""
    machine = launch(make_image(), cpus=cpus)
    machine.expect(rb"zhb kernel: %d CPUs online\r?\n" % cpus)
    machine.wait_exit().raise_for_status()


# -- guest programs: bin/core-tests ------------------------------------------------------------


@pytest.mark.ktap_suite(CORE_TESTS)
def test_core_tests(ktap_case: KtapCaseRun) -> None:
    ktap_case.check()


@pytest.mark.ktap_suite(CORE_TESTS)
def test_core_tests_report_every_source_case(suite_run: SuiteRun) -> None:
    require_no_problems(suite_run.summary_problems())


@pytest.mark.ktap_suite(CORE_TESTS)
def test_core_tests_shut_down_cleanly(suite_run: SuiteRun) -> None:
    require_no_problems(suite_run.shutdown_problems())


@pytest.mark.ktap_suite(CORE_TESTS)
def test_bad_syscall_is_reported_and_the_kernel_goes_on(suite_run: SuiteRun) -> None:
    """core-tests' direct_syscall_kills_caller child ("raw-syscall", programs/core-tests/
    process.c) makes a syscall from outside the vDSO: the kernel names it and kills only it."""
    outcome = suite_run.outcome
    assert outcome is not None, suite_run.error
    assert outcome.status is not Status.TIMEOUT, f"TIMEOUT: {outcome.reason}"
    transcript = outcome.transcript
    killed = console.BAD_SYSCALL.search(transcript)
    assert killed is not None, "no bad-syscall line:\n" + "\n".join(outcome.console_tail())
    number, pc, name, koid, why = killed.groups()
    assert name == b"raw-syscall"
    assert int(koid) > 0 and int(pc, 16) > 0 and int(number) >= 0
    assert why == b"policy exception 0x8208 code 18"  # ZX_EXCP_POLICY_ERROR, BAD_SYSCALL
    assert CORE_TESTS.end_lines[0].search(transcript, killed.end()) is not None
    assert outcome.powered_off and console.parse_console(transcript).panic is None


# -- userboot's other endings: errors, a faulting program ------------------------------------

TEXT_FILE = "etc/motd"
TEXT_BOOTFS = build_bootfs({TEXT_FILE: b"not a program\n"})
ELF_HEADER = struct.Struct("<4sBBBBB7xHHIQQQIHHHHHH")
ELF_PHDR = struct.Struct("<IIQQQQQQ")
TRAP_FILE_SIZE = 0x1000
TRAP_ENTRY = 0x800
ZX_TASK_RETCODE_EXCEPTION_KILL = -1028


def trap_elf(machine: int) -> bytes:
    """A valid static ET_DYN ELF whose code is zeros: one R+X page (headers included), entry at
    TRAP_ENTRY. Zero bytes fault on both arches (x86-64 `add [rax], al` with rax = 0 writes to
    address 0; arm64 `udf #0`)."""
    header = ELF_HEADER.pack(
        b"\x7fELF", 2, 1, 1, 0, 0,  # ELFCLASS64, ELFDATA2LSB, EV_CURRENT, System V ABI
        3, machine, 1, TRAP_ENTRY,  # ET_DYN, e_machine, EV_CURRENT, e_entry
        ELF_HEADER.size, 0, 0, ELF_HEADER.size, ELF_PHDR.size, 1, 0, 0, 0,
    )
    load = ELF_PHDR.pack(1, 0x4 | 0x1, 0, 0, 0, TRAP_FILE_SIZE, TRAP_FILE_SIZE, 0x1000)
    return (header + load).ljust(TRAP_FILE_SIZE, b"\0")


def run_userboot(
    make_image: MakeImage, launch: Launch, program: str, bootfs: bytes
) -> Outcome:
    """Boot with `userboot.next=<program> userboot.shutdown` and `bootfs` until QEMU exits."""
    image = make_image(cmdline=f"userboot.next={program} userboot.shutdown", bootfs=bootfs)
    return launch(image).wait_exit()


def assert_failed_then_power_off(outcome: Outcome, reason: str) -> None:
    """The guest powered off by itself (no hang, no panic), and the harness failed the run:
    with userboot.shutdown only userboot's `exited with return code 0` line passes it."""
    assert outcome.status is Status.FAIL, outcome.reason  # not a timeout: it never hangs
    assert outcome.reason.startswith(reason), outcome.reason
    assert outcome.powered_off
    assert "GUEST_PANICKED" not in outcome.event_names
    assert console.parse_console(outcome.transcript).panic is None


def corrupt_magic(bootfs: bytes) -> bytes:
    """`bootfs` with its header magic changed (it is still packed into a valid LZ4 frame)."""
    assert int.from_bytes(bootfs[:4], "little") == BOOTFS_MAGIC
    return (BOOTFS_MAGIC ^ 0xFF).to_bytes(4, "little") + bootfs[4:]


@pytest.mark.parametrize("program, bootfs, error", [
    pytest.param("bin/nope", TEXT_BOOTFS, "bin/nope: file not found in BOOTFS",
                 id="missing-file"),
    pytest.param(TEXT_FILE, corrupt_magic(TEXT_BOOTFS), "BOOTFS: bad BOOTFS magic",
                 id="corrupt-bootfs"),
    pytest.param(TEXT_FILE, TEXT_BOOTFS, f"{TEXT_FILE}: not a 64-bit little-endian ELF file",
                 id="not-elf"),
])
def test_userboot_error_then_poweroff(
    make_image: MakeImage, launch: Launch, program: str, bootfs: bytes, error: str
) -> None:
    outcome = run_userboot(make_image, launch, program, bootfs)
    assert_failed_then_power_off(outcome, f"userboot: error: {error}")
    assert console.USERBOOT_EXIT.search(outcome.transcript) is None




def test_bootfs_size_beyond_ram_is_an_error(
    make_image: MakeImage, launch: Launch, profile: Profile
) -> None:
    """A BOOTFS item whose `extra` (the uncompressed size) is the size of RAM: userboot checks
    it against the ZBI's MEM_CONFIG before making a VMO for it, and says so."""
    ram_bytes = profile.memory_bytes
    if ram_bytes > 0xFFFF_FFFF:
        pytest.skip(f"{profile.label}: a ZBI item's 32-bit size cannot reach {profile.memory} "
                    "of RAM")
    item = ZbiItem.storage(TYPE_STORAGE_BOOTFS, TEXT_BOOTFS)
    huge = dataclasses.replace(item, extra=ram_bytes, crc32=None)
    image = make_image(cmdline=f"userboot.next={TEXT_FILE} userboot.shutdown",
                       extra_items=[huge])
    outcome = launch(image).wait_exit()
    assert_failed_then_power_off(
        outcome, f"userboot: error: BOOTFS: the ZBI item says {ram_bytes} bytes")


def test_program_larger_than_ram_is_an_error(
    make_image: MakeImage, launch: Launch, guest_build: GuestOutputs, profile: Profile
) -> None:
    """An ELF file whose segment asks for more memory than the machine has."""
    ram_bytes = profile.memory_bytes
    core_tests = (guest_build.kernel.parent / CORE_TESTS.bootfs[0]).read_bytes()
    machine = int.from_bytes(core_tests[18:20], "little")
    elf = bytearray(trap_elf(machine))
    ELF_PHDR.pack_into(elf, ELF_HEADER.size, 1, 0x4 | 0x1, 0, 0, 0, TRAP_FILE_SIZE, ram_bytes,
                       0x1000)  # p_memsz = all of RAM
    outcome = run_userboot(make_image, launch, "bin/huge", build_bootfs({"bin/huge": bytes(elf)}))
    assert_failed_then_power_off(
        outcome, f"userboot: error: bin/huge: ELF segments ({ram_bytes} bytes)")
    assert console.USERBOOT_EXIT.search(outcome.transcript) is None


def test_faulting_program_is_killed_and_reported(
    make_image: MakeImage, launch: Launch, guest_build: GuestOutputs
) -> None:
    core_tests = (guest_build.kernel.parent / CORE_TESTS.bootfs[0]).read_bytes()
    machine = int.from_bytes(core_tests[18:20], "little")  # e_machine of this arch's programs
    bootfs = build_bootfs({"bin/trap": trap_elf(machine)})
    outcome = run_userboot(make_image, launch, "bin/trap", bootfs)
    assert_failed_then_power_off(
        outcome, f"userboot: bin/trap exited with return code {ZX_TASK_RETCODE_EXCEPTION_KILL}")
    fault = console.USER_FAULT.search(outcome.transcript)
    assert fault is not None, "no user-fault line:\n" + "\n".join(outcome.console_tail())
    name, koid, _kind, address, pc = fault.groups()[:5]
    assert name == b"trap"  # the file's last path component
    assert int(koid) > 0
    assert int(pc, 16) % 0x1000 == TRAP_ENTRY  # the fault is the entry instruction
    assert address in (b"0x0", pc)  # x86-64: the write to address 0; arm64: the instruction
    exited = console.userboot_exit("bin/trap", ZX_TASK_RETCODE_EXCEPTION_KILL)
    assert exited.search(outcome.transcript, fault.end()) is not None  # the kernel went on


MEMWATCH = re.compile(
    rb"zhb kernel: memwatch: free (\d+) of (\d+) KiB; heap (\d+) pages, (\d+) blocks, (\d+) "
    rb"bytes; kernel stacks (\d+) live, (\d+) cached; objects (\d+):")


def test_memwatch_reports_memory_and_objects(make_image: MakeImage, launch: Launch) -> None:
    """`kernel.memwatch`: a line when it starts and one at power-off (every 10 s in between),
    with the page allocator's, the heap's and the kernel stacks' counts and the live objects."""
    outcome = launch(make_image(cmdline="kernel.memwatch")).wait_exit()
    outcome.raise_for_status()
    lines = [tuple(int(n) for n in m) for m in MEMWATCH.findall(outcome.transcript)]
    assert len(lines) >= 2, outcome.console_tail()
    for free, total, heap_pages, _blocks, _bytes, stacks, _cached, _objects in lines:
        assert 0 < free <= total
        assert heap_pages >= 1 and stacks >= 2  # the boot thread's and the idle thread's
    assert lines[-1][0] <= lines[0][0]  # memwatch's own thread and stack came after the first
