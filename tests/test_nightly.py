"""The nightly runner (harness.nightly) on a sandbox of deliberate cases (no guest boots): a
flaky case ends FLAKY, a broken one FAILED, a quarantined one QUARANTINED without failing the
night; JUnit XML, the SQLite history and the HTML report hold what the issue asks; the report
opens in headless Chromium and shows the grid, a failing case's excerpt and its trend chart, and
the trend charts of the pass rate, boot time per variant, microbench rows and test-file
durations."""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness import nightly
from harness.lockfile import locked
from harness.nightly import Case, NightlyError, read_quarantine

SANDBOX_TESTS = '''
from pathlib import Path

def test_ok(arch, record_property):
    record_property("figure:boot_ms", 250.0 if arch == "x86_64" else 300.0)
    record_property("figure:microbench:null_syscall", 500)

def test_flaky(arch, request):
    mark = Path(__file__).with_name(f"flaky-{request.node.callspec.id}")
    if not mark.exists():
        mark.write_text("failed once")
        raise AssertionError("deliberately flaky: fails the first time")

def test_broken(arch):
    raise AssertionError("deliberately broken\\n  | zhb kernel: DELIBERATE CONSOLE EXCERPT")

def test_known_bad(arch):
    raise AssertionError("quarantined and broken")
'''
BROKEN = "test_night.py::test_broken[x86_64-pc]"
TREND_CHARTS = ("pass rate", "boot time per variant", "microbench null_syscall",
                "test file durations")


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """One nightly run over x86_64 x {default, pc} of the sandbox: (output dir, exit status).

    Run once per pytest run: under pytest-xdist the first worker to need it runs it (in the
    run's shared temp dir, under a lock) and the others read its output."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if base.name.startswith("popen-gw") else base
    root = shared / "nightly-sandbox"
    status = root / "exit-status"
    with locked(shared / "nightly-sandbox.lock", 600):
        if not status.exists():
            tests = root / "tests"
            tests.mkdir(parents=True)
            (tests / "conftest.py").write_text('pytest_plugins = ["harness.plugin"]\n')
            (tests / "test_night.py").write_text(SANDBOX_TESTS)
            quarantine = root / "quarantine"
            quarantine.write_text("# known bad\n"
                                  "test_night.py::test_known_bad[x86_64]  # bug 1234\n"
                                  "test_night.py::test_known_bad[x86_64-pc]  # bug 1234\n")
            done = subprocess.run(
                [sys.executable, "-m", "harness", "nightly", "--tests", str(tests), "-o",
                 str(root / "out"), "--jobs", "0", "--arch", "x64", "--machine", "default,pc",
                 "--reruns", "1", "--quarantine", str(quarantine), "--night", "night-2"],
                capture_output=True, text=True, timeout=300, check=False,
            )
            summary = "nightly: 2 passed, 2 flaky, 2 failed, 2 quarantined"
            assert summary in done.stdout, done.stdout
            status.write_text(str(done.returncode))
    return root / "out", int(status.read_text())


def test_classification_and_exit_status(night: tuple[Path, int]) -> None:
    out, status = night
    assert status == 1  # the broken case failed the night
    suite = ET.parse(out / "results.xml").getroot()
    statuses = {
        f"test_night.py::{case.get('name')}": {
            p.get("name"): p.get("value") for p in case.iter("property")}["status"]
        for case in suite.iter("testcase")
    }
    assert statuses == {
        "test_night.py::test_ok[x86_64]": "PASSED",
        "test_night.py::test_ok[x86_64-pc]": "PASSED",
        "test_night.py::test_flaky[x86_64]": "FLAKY",
        "test_night.py::test_flaky[x86_64-pc]": "FLAKY",
        "test_night.py::test_broken[x86_64]": "FAILED",
        BROKEN: "FAILED",
        "test_night.py::test_known_bad[x86_64]": "QUARANTINED",
        "test_night.py::test_known_bad[x86_64-pc]": "QUARANTINED",
    }
    assert suite.get("failures") == "2"
    broken = next(c for c in suite.iter("testcase") if c.get("name") == "test_broken[x86_64-pc]")
    failure = broken.find("failure")
    assert failure is not None and failure.text is not None
    assert "DELIBERATE CONSOLE EXCERPT" in failure.text
    assert "full console log:" in failure.text
    assert f"repro: .venv/bin/pytest '{BROKEN}' --machine=pc" in failure.text
    props = {p.get("name"): p.get("value") for p in broken.iter("property")}
    assert props["attempts"] == "failed,failed" and props["target"] == "x86_64-pc"


def test_history_is_kept(night: tuple[Path, int]) -> None:
    out, _ = night
    with sqlite3.connect(out / "history.sqlite") as conn:
        rows = dict(conn.execute("SELECT nodeid, status FROM cases WHERE night = 'night-2'"))
        nights = [n for (n,) in conn.execute("SELECT night FROM nights")]
    assert rows[BROKEN] == "FAILED" and len(rows) == 8
    assert nights == ["night-2"]


def test_report_is_self_contained(night: tuple[Path, int]) -> None:
    page = (night[0] / "report.html").read_text()
    assert 'id="grid"' in page and 'class="FAILED" data-target="x86_64-pc"' in page
    assert "DELIBERATE CONSOLE EXCERPT" in page
    assert f'data-chart="duration of {BROKEN}"' in page
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="no chromium (scripts/setup installs it)")
def test_report_in_headless_chromium(night: tuple[Path, int], tmp_path: Path) -> None:
    """Chromium renders the report offline; its DOM has the grid, the failing case's console
    excerpt and that case's trend chart."""
    chromium = _chromium()
    assert chromium is not None
    report = night[0] / "report.html"
    done = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=2000",
         "--dump-dom", report.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    assert '<table class="grid" id="grid">' in dom
    section = dom[dom.index(f'data-nodeid="{BROKEN}"'):]
    section = section[:section.index("</section>")]
    assert "DELIBERATE CONSOLE EXCERPT" in section
    assert f'data-chart="duration of {BROKEN}"' in section and "<polyline" in section
    trends = dom[dom.index("<h2>Trends</h2>"):]
    for title in TREND_CHARTS:
        chart = trends[trends.index(f'data-chart="{title}"'):]
        chart = chart[:chart.index("</figure>")]
        assert "<polyline" in chart and "<circle" in chart, title


def test_trends_over_nights_and_clean_quarantine(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite"
    flaky_case = "tests/t.py::test_q[x86_64]"
    for n in range(nightly.QUARANTINE_CLEAN_NIGHTS):
        case = Case(flaky_case, ["passed"], duration=1.0 + n,
                    properties={"target": "x86_64", "suite": "core-tests", "elapsed_s": "2.5",
                                "figure:boot_ms": str(100.0 + n),
                                "figure:microbench:null_syscall": "400",
                                "figure:not_a_number": "n/a"})
        case.status = "PASSED"
        nightly.record_history(db, f"night-{n:02}", {case.nodeid: case}, 0.0, 1.0, 0)
    trends = nightly._trend_data(db)
    assert len(trends.pass_rate["pass rate"]) == nightly.QUARANTINE_CLEAN_NIGHTS
    assert trends.suites["core-tests"]["x86_64"][0] == ("night-00", 2.5)
    assert len(trends.cases[flaky_case]) == nightly.QUARANTINE_CLEAN_NIGHTS
    assert trends.files["tests/t.py"][-1] == (f"night-{nightly.QUARANTINE_CLEAN_NIGHTS - 1:02}",
                                              float(nightly.QUARANTINE_CLEAN_NIGHTS))
    assert trends.boot["x86_64"] == [(f"night-{n:02}", 100.0 + n)
                                     for n in range(nightly.QUARANTINE_CLEAN_NIGHTS)]
    assert trends.microbench["null_syscall"]["x86_64"][0] == ("night-00", 400.0)
    assert nightly._clean_quarantined(db, {flaky_case: "was flaky"}) == [flaky_case]
    chart = nightly._svg_chart("pass rate", trends.pass_rate, "%")
    assert chart.count("<circle") == nightly.QUARANTINE_CLEAN_NIGHTS


def test_quarantine_entries_need_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "quarantine"
    path.write_text("a.py::test_x  # flaky under load\n\n# comment\n")
    assert read_quarantine(path) == {"a.py::test_x": "flaky under load"}
    path.write_text("a.py::test_y\n")
    with pytest.raises(NightlyError, match="quarantine:1: quarantined case 'a.py::test_y' has"):
        read_quarantine(path)


def test_bad_reruns_is_one_line(tmp_path: Path) -> None:
    args = argparse.Namespace(reruns=-1, output=tmp_path)
    with pytest.raises(NightlyError, match="--reruns must be 0 or more"):
        nightly.nightly(args)


def test_scripts_nightly_is_the_runner() -> None:
    done = subprocess.run([str(nightly.ROOT / "scripts" / "nightly"), "--help"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and "--quarantine" in done.stdout


def test_shards_split_every_target_once_balanced_by_history(tmp_path: Path) -> None:
    labels = nightly.all_targets("all", "all")
    db = tmp_path / "history.sqlite"
    weights = {label: float(10 + 7 * (i % 5)) for i, label in enumerate(labels)}
    for label, seconds in weights.items():
        case = Case(f"t.py::test[{label}]", ["passed"], duration=seconds,
                    properties={"target": label})
        case.status = "PASSED"
        nightly.record_history(db, "night-1", {case.nodeid: case}, 0.0, 1.0, 0)
    assert nightly.target_weights(db, labels) == weights
    shards = [nightly.shard_targets(labels, weights, i, 3) for i in (1, 2, 3)]
    assert sorted(t for shard in shards for t in shard) == sorted(labels)
    loads = [sum(weights[t] for t in shard) for shard in shards]
    assert max(loads) - min(loads) <= max(weights.values())
    assert shards == [nightly.shard_targets(labels, weights, i, 3) for i in (1, 2, 3)]
    fresh = nightly.target_weights(tmp_path / "none.sqlite", labels)
    assert set(fresh.values()) == {1.0}


@pytest.mark.parametrize("spec", ["0/2", "3/2", "x", "1/2/3"])
def test_bad_shard(spec: str) -> None:
    with pytest.raises(NightlyError, match="--shard"):
        nightly.parse_shard(spec)


def test_merge_shards_into_one_report(night: tuple[Path, int], tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "harness", "nightly", "--merge", str(night[0]), "-o",
         str(tmp_path / "merged"), "--night", "merged"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 1  # the broken cases still fail the merged night
    assert "2 passed, 2 flaky, 2 failed" in done.stdout
    assert "DELIBERATE CONSOLE EXCERPT" in (tmp_path / "merged" / "report.html").read_text()


def test_a_pytest_usage_error_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["harness.plugin"]\n')
    done = subprocess.run(
        [sys.executable, "-m", "harness", "nightly", "--tests", str(tmp_path), "-o",
         str(tmp_path / "out"), "--jobs", "0", "--arch", "x64", "--machine", "el2"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        ("nightly: pytest exited with status 4: ERROR: --machine: unknown machine variant 'el2' "
        "for x86_64 (known: all, cpu-epyc, cpu-haswell, cpu-qemu64, default, kvm, mem-128m, "
        "mem-4g, microvm, pc, smp4, x86_64, x86_64-cpu-epyc, x86_64-cpu-haswell, "
        "x86_64-cpu-qemu64, x86_64-kvm, x86_64-mem-128m, x86_64-mem-4g, x86_64-microvm, "
        "x86_64-pc, x86_64-smp4)")]


def test_progress_lines(tmp_path: Path) -> None:
    progress = nightly.Progress(started=100.0, period=10.0)
    assert not progress.due(105.0) and progress.due(110.0)
    progress.see_output(b"bringing up nodes...\n2 workers [40 items]\n")
    assert progress.total == 40
    assert progress.line(10, "arm64-gicv2", 130.0) == (
        "nightly: progress: 10 of 40 cases, about 90 s to go, last on arm64-gicv2, 30 s elapsed")
    assert not progress.due(135.0) and progress.due(140.0)
    results = tmp_path / "pass-1.jsonl"
    record = {"nodeid": "t.py::a[x86_64]", "properties": [["target", "x86_64-pc"]]}
    results.write_text(json.dumps(record) + "\n" + json.dumps(record) + '\n{"nodeid": "t.py::b')
    assert nightly._progress_of(results) == (1, "x86_64-pc")
    assert nightly._progress_of(tmp_path / "missing.jsonl") == (0, "")
