"""harness.revbench: microbench rows of this tree against another revision's (pure parts, plus
exporting a revision's tree from this repository)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness import revbench
from harness.revbench import RevisionError, RowComparison, alternate, compare


def test_alternate_flips_the_order_every_round() -> None:
    calls: list[str] = []

    def run(side: str) -> dict[str, int]:
        calls.append(side)
        return {"row": len(calls)}

    figures = alternate(3, run)
    assert calls == ["theirs", "ours", "ours", "theirs", "theirs", "ours"]
    assert [f["row"] for f in figures["theirs"]] == [1, 4, 5]
    assert [f["row"] for f in figures["ours"]] == [2, 3, 6]


def test_compare_takes_medians_and_keeps_rows_of_either_side() -> None:
    theirs = [{"a": 100, "b": 10}, {"a": 300, "b": 30}, {"a": 200, "b": 20}]
    ours = [{"a": 105, "c": 7}, {"a": 500, "c": 9}, {"a": 215, "c": 8}]
    rows = compare(theirs, ours)
    assert [row.name for row in rows] == ["a", "b", "c"]
    a, b, c = rows
    assert (a.theirs, a.ours) == (200, 215)
    assert a.ratio == pytest.approx(1.075) and not a.slower_than(1.10)
    assert a.slower_than(1.05)
    assert b.ours is None and b.ratio is None and not b.slower_than(1.10)
    assert c.theirs is None and c.ours == 8 and c.ratio is None


@pytest.mark.parametrize(("row", "verdict"), [
    (RowComparison("x", 100, 120), "SLOWER"),
    (RowComparison("x", 100, 100), "ok"),
    (RowComparison("x", None, 100), "new"),
    (RowComparison("x", 100, None), "gone"),
])
def test_format_comparison_verdicts(row: RowComparison, verdict: str) -> None:
    line = revbench.format_comparison("arm64", row, 1.10)
    assert line.startswith("arm64") and line.split()[-1] == verdict


def test_export_revision_writes_the_tree(tmp_path: Path) -> None:
    head = subprocess.run(["git", "-C", str(revbench.REPO_ROOT), "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    sha = revbench.export_revision("HEAD", tmp_path / "tree")
    assert sha == head
    assert (tmp_path / "tree" / "guest_payloads" / "Makefile").is_file()
    assert not (tmp_path / "tree" / ".git").exists()


def test_export_revision_refuses_an_unknown_revision(tmp_path: Path) -> None:
    with pytest.raises(RevisionError, match="no-such-rev-xyz: not a commit"):
        revbench.export_revision("no-such-rev-xyz", tmp_path / "tree")
