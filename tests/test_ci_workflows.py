"""The shipped CI definitions: both GitHub workflows validate against the GitHub workflow
schema that check-jsonschema vendors (offline), and say what the nightly issue asks: the
push/PR workflow runs the README's test command after scripts/setup; the nightly one runs on
a schedule, as an arch x shard matrix, uploads artifacts and merges the shards."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"


def test_workflows_match_the_github_schema() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    files = [str(WORKFLOWS / name) for name in ("ci.yml", "nightly.yml")]
    done = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_push_workflow_runs_the_readme_command() -> None:
    text = (WORKFLOWS / "ci.yml").read_text()
    readme = (ROOT / "README.md").read_text()
    assert ".venv/bin/pytest -n auto" in readme
    assert "run: sudo bash scripts/setup" in text and "run: .venv/bin/pytest -n auto" in text


def test_nightly_workflow_shards_uploads_and_merges() -> None:
    text = (WORKFLOWS / "nightly.yml").read_text()
    for needle in ("schedule:", "arch: [x86_64, arm64]", "--shard=${{ matrix.shard }}/3",
                   "actions/upload-artifact@v4", "--merge", "needs: shard",
                   "sudo bash scripts/setup", ".github/nightly-quarantine.txt"):
        assert needle in text
    assert (ROOT / ".github" / "nightly-quarantine.txt").is_file()


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("name: broken\non: push\njobs:\n  test:\n    steps: 5\n")
    checker = Path(sys.executable).parent / "check-jsonschema"
    done = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode != 0
