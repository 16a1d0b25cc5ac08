"""Kernel stack guard pages: an overflow is one clean panic naming the thread, per arch.

With the command-line word `kernel.test.stack-overflow` the kernel runs a thread named
`stack-overflow-test` that recurses without end (guest_payloads/kernel/vm/kstack.c). Every
kernel stack sits in the kernel-stack region above a 16 KiB unmapped guard
(guest_payloads/include/kernel/kstack.h), so the recursion faults in that guard; the fault is
taken on another stack (x86-64: the #PF IST stack; arm64: the EL1 vectors' emergency stack)
and must end in exactly one panic line naming the thread and a fault address inside the guard,
reported through pvpanic (QMP GUEST_PANICKED), never a power-off, a hang or a silent
corruption.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from harness import console
from harness.image import BootImage
from harness.machine import Machine
from harness.outcome import Status
from harness.profiles import Profile

MakeImage = Callable[..., BootImage]
Launch = Callable[..., Machine]

GUEST = Path(__file__).resolve().parent.parent / "guest_payloads"
OVERFLOW_WORD = "kernel.test.stack-overflow"
THREAD = "stack-overflow-test"
OVERFLOW_PANIC = re.compile(
    r"ZIRCON KERNEL PANIC: kernel stack overflow in thread (?P<thread>\S+) "
    r"\(fault address 0x(?P<addr>[0-9a-f]+)\)"
)
SLOT_SIZE = 32 * 1024
GUARD_SIZE = 16 * 1024
"""<kernel/kstack.h>: each 32 KiB slot is a 16 KiB guard below a 16 KiB stack."""


def kstack_region(arch: str) -> tuple[int, int]:
    """ARCH_KSTACK_BASE and ARCH_KSTACK_REGION_SIZE from the arch's kernel-layout.h."""
    text = (GUEST / "arch" / arch / "include" / "arch" / "kernel-layout.h").read_text()

    def value(name: str) -> int:
        match = re.search(rf"#define {name} U64_CONST\((0x[0-9a-f]+)\)", text)
        assert match, f"{name} not in {arch}'s kernel-layout.h"
        return int(match.group(1), 16)

    return value("ARCH_KSTACK_BASE"), value("ARCH_KSTACK_REGION_SIZE")


def test_kernel_stack_overflow_panics_naming_the_thread(
    make_image: MakeImage, launch: Launch, profile: Profile
) -> None:
    outcome = launch(make_image(cmdline=OVERFLOW_WORD)).wait_exit()
    assert outcome.status is Status.CRASH, outcome.reason
    assert "GUEST_PANICKED" in outcome.event_names, outcome.event_names
    assert not outcome.powered_off  # pvpanic ended the run, not a clean power-off
    panic = console.parse_console(outcome.transcript).panic
    assert panic is not None, outcome.console_tail()
    match = OVERFLOW_PANIC.search(panic)
    assert match, panic
    assert match["thread"] == THREAD, panic
    base, size = kstack_region(profile.name)
    addr = int(match["addr"], 16)
    assert base <= addr < base + size, f"0x{addr:x} is outside the kernel-stack region"
    assert (addr - base) % SLOT_SIZE < GUARD_SIZE, f"0x{addr:x} is not in a guard"
    # One clean panic: the handler did not fault again on the way down.
    assert outcome.transcript.count(b"ZIRCON KERNEL PANIC") == 1, outcome.console_tail()
