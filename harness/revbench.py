"""Microbench figures of this tree against another git revision, in the same run.

`scripts/bench_boot --against REV` uses it to show that a change made no microbench row
slower: it exports REV's tree (`git archive`, nothing in the work tree is touched), builds
REV's guest into a scratch directory, then boots REV's and our `bin/microbench` alternately,
`rounds` times each per architecture (the order flips every round, so drift in the host's
load hits both sides alike), and compares the medians row by row.

A row only one side has is listed without a ratio: it is new, or gone.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.image import REPO_ROOT, GuestOutputs, build_guest

DEFAULT_LIMIT = 1.10
"""A row whose median is more than 10% above REV's misses the target."""


class RevisionError(HarnessError):
    """REV is not a revision of this repository, or its tree could not be exported."""


def export_revision(rev: str, dest: Path, repo: Path = REPO_ROOT) -> str:
    """Write the tree of `rev` into `dest` (created); returns the full commit id."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
            capture_output=True, text=True, check=False,
        )
        if commit.returncode != 0 or not commit.stdout.strip():
            raise RevisionError(f"--against {rev}: not a commit of {repo}")
        sha = commit.stdout.strip()
        dest.mkdir(parents=True, exist_ok=True)
        # Our own repository's tree, extracted by tar as git writes it.
        with subprocess.Popen(["git", "-C", str(repo), "archive", "--format=tar", sha],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) as git:
            tar = subprocess.run(["tar", "-x", "-C", str(dest)], stdin=git.stdout,
                                 capture_output=True, text=True, check=False)
            git_err = git.stderr.read().decode(errors="replace") if git.stderr else ""
    except OSError as exc:
        raise RevisionError(f"--against {rev}: cannot run git or tar: {exc}") from None
    for name, code, err in (("git archive", git.returncode, git_err),
                            ("tar", tar.returncode, tar.stderr)):
        if code != 0:
            lines = err.strip().splitlines()
            raise RevisionError(f"--against {rev}: {name} failed: "
                                f"{lines[0] if lines else f'exit status {code}'}")
    return sha


def build_revision_guest(arch: str, tree: Path) -> GuestOutputs:
    """REV's guest build for `arch`, made from its exported tree into `tree/out`. Its Makefile
    runs its Python tools with `<tree>/.venv/bin/python`: that is the venv running us."""
    venv = tree / ".venv"
    if not venv.exists():
        venv.symlink_to(Path(sys.prefix), target_is_directory=True)
    return build_guest(arch, source=tree / "guest_payloads", out_root=tree / "out")


@dataclass(frozen=True)
class RowComparison:
    """One microbench row: REV's and our median nanoseconds (None: the side lacks it)."""

    name: str
    theirs: float | None
    ours: float | None

    @property
    def ratio(self) -> float | None:
        if self.theirs is None or self.ours is None or self.theirs <= 0:
            return None
        return self.ours / self.theirs

    def slower_than(self, limit: float) -> bool:
        ratio = self.ratio
        return ratio is not None and ratio > limit


def alternate(rounds: int, run: Callable[[str], Mapping[str, int]]) -> dict[str, list[dict[str, int]]]:
    """`run("theirs")` and `run("ours")`, `rounds` times each, the order flipping every round;
    each side's figures per round."""
    figures: dict[str, list[dict[str, int]]] = {"theirs": [], "ours": []}
    for index in range(rounds):
        order = ("theirs", "ours") if index % 2 == 0 else ("ours", "theirs")
        for side in order:
            figures[side].append(dict(run(side)))
    return figures


def _medians(runs: Iterable[Mapping[str, int]]) -> dict[str, float]:
    values: dict[str, list[int]] = {}
    for figures in runs:
        for name, ns in figures.items():
            values.setdefault(name, []).append(ns)
    return {name: statistics.median(ns) for name, ns in values.items()}


def compare(theirs: Iterable[Mapping[str, int]], ours: Iterable[Mapping[str, int]]
            ) -> list[RowComparison]:
    """Median per row of each side's runs: REV's rows in their order, then our new ones."""
    their_medians, our_medians = _medians(theirs), _medians(ours)
    names = [*their_medians, *(name for name in our_medians if name not in their_medians)]
    return [RowComparison(name, their_medians.get(name), our_medians.get(name))
            for name in names]


def format_comparison(arch: str, row: RowComparison, limit: float) -> str:
    def ns(value: float | None) -> str:
        return f"{value:10.0f} ns" if value is not None else f"{'-':>13}"

    ratio = row.ratio
    verdict = ("new" if row.theirs is None else "gone" if row.ours is None
               else "SLOWER" if row.slower_than(limit) else "ok")
    ratio_text = f"{ratio:6.3f}" if ratio is not None else f"{'':6}"
    return f"{arch:8} {row.name:24} {ns(row.theirs)} {ns(row.ours)} {ratio_text} {verdict}"
