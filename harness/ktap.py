"""KTAP (the format KUnit prints) read out of a guest's console transcript.

The guest prints, among other console lines::

    KTAP version 1
    1..N                                  the plan: N cases follow
    # <diagnostic>                        diagnostics precede the case they belong to
    ok 1 <name>                           a pass
    not ok 2 <name>                       a failure
    ok 3 <name> # SKIP <reason>           a skip (also with `not ok`)
        <indented lines>                  a nested subtest's KTAP: kept as output of the
                                          next top-level case, never read as results
    ...

`parse_ktap()` reads the first top-level block (it ends at the next `KTAP version` line) into
a `KtapReport`. Every console line from the previous result line up to a case's own result
line is that case's `excerpt`, so a failure can show exactly what the guest said while the case
ran. A run cut short (a crash, a timeout mid-suite) leaves planned cases unreported: each of
them becomes a `CaseStatus.CRASH` case whose excerpt is the console tail after the last result,
named after the expected cases (from the suite's source) that never reported, in order.

`KtapReport.problems()` lists what is wrong with the block as a whole (no version line, no plan,
a count that does not match the plan, misnumbered cases), `failed` the cases that did not pass
(`KtapCase.describe()` names each with its diagnostics) and `name_mismatch()` compares the
reported names with the names the source declares.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from harness import console

_VERSION = re.compile(r"^K?TAP version \d+$")
_PLAN = re.compile(r"^1\.\.(\d+)$")
_RESULT = re.compile(r"^(ok|not ok) (\d+)(?: ([^#]*?))?\s*(?:#\s*(.*))?$")
_DIAGNOSTIC = re.compile(r"^# ?(.*)$")
_SKIP = re.compile(r"^SKIP\b\s*(.*)$", re.IGNORECASE)

TAIL_LINES = 20
"""Console lines kept as the excerpt of cases a cut-short run never reported."""


class CaseStatus(enum.Enum):
    """How one case ended; CRASH: planned (or expected) but never reported."""

    PASS = "ok"
    FAIL = "not ok"
    SKIP = "skipped"
    CRASH = "crashed"


@dataclass(frozen=True)
class KtapCase:
    """One case: its result line, the `#` diagnostics and every console line before it."""

    number: int
    name: str
    status: CaseStatus
    diagnostics: tuple[str, ...] = ()
    excerpt: tuple[str, ...] = ()
    """The console lines from the previous result line to this one (this one included); for a
    crashed case, the console tail after the last result."""
    directive: str = ""
    """What followed `#` on the result line (e.g. `SKIP no KVM`)."""

    @property
    def skip_reason(self) -> str:
        match = _SKIP.match(self.directive)
        return "" if match is None else match.group(1)

    def describe(self) -> str:
        """`not ok 2 name: diag; diag`, the one-line summary of a case that did not pass."""
        why = "; ".join(self.diagnostics) if self.diagnostics else "no diagnostics"
        if self.status is CaseStatus.CRASH:
            return f"case {self.number} {self.name} never reported (the run stopped before it)"
        return f"{self.status.value} {self.number} {self.name}: {why}"


@dataclass(frozen=True)
class KtapReport:
    """The first KTAP block of a transcript (plan None: no `1..N` line was seen).

    `cases` holds the reported cases in console order, then a CRASH case for every planned one
    that never reported. `tail` is the console after the last result line.
    """

    version_seen: bool
    plan: int | None
    cases: tuple[KtapCase, ...]
    tail: tuple[str, ...] = ()

    @property
    def reported(self) -> tuple[KtapCase, ...]:
        return tuple(c for c in self.cases if c.status is not CaseStatus.CRASH)

    @property
    def failed(self) -> tuple[KtapCase, ...]:
        return tuple(c for c in self.cases if c.status in (CaseStatus.FAIL, CaseStatus.CRASH))

    @property
    def names(self) -> frozenset[str]:
        """The names the guest itself reported."""
        return frozenset(c.name for c in self.reported)

    def case(self, name: str) -> KtapCase | None:
        return next((c for c in self.cases if c.name == name), None)

    def problems(self) -> list[str]:
        """What is wrong with the block as a whole, one message each (failing cases aside)."""
        if not self.version_seen:
            return ["no 'KTAP version' line: the tests never started"]
        problems = []
        reported = self.reported
        if self.plan is None:
            problems.append("no KTAP plan line (1..N)")
        elif self.plan != len(reported):
            last = reported[-1].name if reported else "no case"
            why = f" (the run stopped after {last})" if self.plan > len(reported) else ""
            problems.append(f"the plan announced {self.plan} cases but {len(reported)} "
                            f"reported{why}")
        for index, case in enumerate(reported, start=1):
            if case.number != index:
                problems.append(f"case {case.name} is numbered {case.number}, expected {index}")
        return problems

    def name_mismatch(self, expected: Iterable[str]) -> list[str]:
        """Differences between the reported names and `expected` (the source's), as messages."""
        expected = list(expected)
        problems = []
        unknown = sorted(self.names - set(expected))
        if unknown:
            problems.append(f"reported but not in the source: {', '.join(unknown)}")
        missing = [name for name in expected if name not in self.names]
        if missing:
            problems.append(f"in the source but never reported: {', '.join(missing)}")
        counts = Counter(c.name for c in self.reported)
        duplicates = sorted(name for name, count in counts.items() if count > 1)
        if duplicates:
            problems.append(f"reported more than once: {', '.join(duplicates)}")
        return problems


def _result(match: re.Match[str], pending: list[str], excerpt: list[str]) -> KtapCase:
    directive = (match.group(4) or "").strip()
    status = CaseStatus.PASS if match.group(1) == "ok" else CaseStatus.FAIL
    if _SKIP.match(directive):
        status = CaseStatus.SKIP
    name = (match.group(3) or "").strip().removeprefix("- ") or f"case {match.group(2)}"
    return KtapCase(int(match.group(2)), name, status, tuple(pending), tuple(excerpt), directive)


def parse_ktap(transcript: bytes, expected: Sequence[str] = ()) -> KtapReport:
    """Read the first KTAP block of `transcript`; other console lines become case excerpts.

    `expected` (the case names the suite's source declares, in order) names the CRASH cases
    of a run cut short; without it they are called `case <number>`.
    """
    lines = [line.rstrip() for line in console.decode(transcript).split("\n")]
    start = next((i for i, line in enumerate(lines) if _VERSION.match(line)), None)
    if start is None:
        tail = tuple(console.tail(transcript, TAIL_LINES))
        return KtapReport(False, None, tuple(_crashed([], None, expected, tail)), tail)
    plan: int | None = None
    cases: list[KtapCase] = []
    pending: list[str] = []
    excerpt: list[str] = []
    for line in lines[start + 1:]:
        if _VERSION.match(line):
            break  # the next top-level block
        if line.strip():
            excerpt.append(line)
        if line[:1].isspace():
            continue  # a nested subtest: output of the case it belongs to, never a result
        if (match := _PLAN.match(line)) is not None and plan is None and not cases:
            plan = int(match.group(1))
            pending, excerpt = [], []
        elif (match := _RESULT.match(line)) is not None:
            cases.append(_result(match, pending, excerpt))
            pending, excerpt = [], []
        elif (match := _DIAGNOSTIC.match(line)) is not None:
            pending.append(match.group(1))
    tail = tuple(excerpt[-TAIL_LINES:])
    return KtapReport(True, plan, (*cases, *_crashed(cases, plan, expected, tail)), tail)


def _crashed(
    cases: Sequence[KtapCase], plan: int | None, expected: Sequence[str], tail: tuple[str, ...]
) -> list[KtapCase]:
    """A CRASH case for each planned number never reported (or, with no plan line, for each
    expected name never reported), named by the unreported expected names in order."""
    seen = {c.name for c in cases}
    unreported = [name for name in expected if name not in seen]
    numbers = {c.number for c in cases}
    if plan is None:
        missing_numbers = [len(cases) + i for i in range(1, len(unreported) + 1)]
    else:
        missing_numbers = [n for n in range(1, plan + 1) if n not in numbers]
    names = iter(unreported)
    return [
        KtapCase(number, next(names, f"case {number}"), CaseStatus.CRASH, excerpt=tail)
        for number in missing_numbers
    ]
