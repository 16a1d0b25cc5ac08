"""`python -m harness nightly` (also `scripts/nightly`): the whole matrix, once a night.

One run is pytest over the tests (`--arch`, `--machine`, the long `--stress-seconds` and
`--fuzz-calls` settings) with the plugin's `--zhb-results` JSON lines, then up to `--reruns`
more pytest runs of the cases that failed, on the same variant. Each case ends as::

    PASSED       passed the first time
    FLAKY        failed, then passed on a rerun (reported, counted apart, not a failure)
    FAILED       failed every time
    QUARANTINED  failed every time, but the quarantine file lists it (with its reason):
                 reported, does not fail the night
    SKIPPED      skipped (with its reason)

Everything goes to one output directory::

    results.xml       JUnit XML: every case; a failure carries its console excerpt and the path
                      of the full console log; the QEMU command line, QMP events, status and
                      attempts are <properties>
    report.html       self-contained (inline CSS and SVG, no script, no network): arch x
                      variant grid, each failure with its excerpt and a one-line reproduction
                      command, trend charts over the nights in the history
    history.sqlite    every night's cases and figures, appended; read for the trends
    pass-N.jsonl      the raw per-pass results; pytest-N.log its output
    cases.json        the night's cases, for `--merge`

`--shard I/N` runs only some (arch, variant) targets: all targets, longest first (their
durations on the latest night in the history) onto the least loaded shard, the same split on
every runner. `--merge DIR...` runs nothing and merges shards' cases.json into one report.

Trend charts (`Trends`, from the history): the pass rate, the boot time per variant, every
microbench row per variant, the duration of every KTAP suite per variant and of every test
file (all variants together). A test reports a figure with pytest's `record_property` under
a name starting with `FIGURE` (tests/test_figures.py: `figure:boot_ms`,
`figure:microbench:<row>`); each is kept per night and target in the `figures` table.

The quarantine file has one case per line, `NODEID  # reason` (a case without a reason is an
error); the report flags a quarantined case that passed `QUARANTINE_CLEAN_NIGHTS` nights in a
row. Exit status: 0 when no case is FAILED, 1 otherwise, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import shlex
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import HarnessError

ROOT = Path(__file__).resolve().parent.parent
QUARANTINE_CLEAN_NIGHTS = 10
EXCERPT_LINES = 40
LONG_STRESS_SECONDS = 5.0
LONG_FUZZ_CALLS = 100_000
STATUSES = ("PASSED", "FLAKY", "FAILED", "QUARANTINED", "SKIPPED")
FIGURE = "figure:"
"""Prefix of the test properties that are figures for the trend charts."""
BOOT_FIGURE = "boot_ms"
"""Milliseconds from QEMU's launch to its exit for the default image (tests/test_figures.py)."""
MICROBENCH_FIGURE = "microbench:"
"""Prefix of a microbench row's figure (ns): `microbench:<row>`."""


class NightlyError(HarnessError):
    """A nightly run could not be set up (a bad quarantine file, an unusable output dir)."""


@dataclass
class Case:
    """One test case of the night, over all its attempts."""

    nodeid: str
    attempts: list[str] = field(default_factory=list)
    """pytest outcome of each attempt: passed, failed or skipped."""
    duration: float = 0.0
    message: str = ""
    """The failure (or skip) text of the first failed attempt."""
    properties: dict[str, str] = field(default_factory=dict)
    status: str = ""

    @property
    def target(self) -> str:
        return self.properties.get("target", "")

    def excerpt(self) -> str:
        lines = self.message.splitlines()
        return "\n".join(lines[:EXCERPT_LINES] + (["..."] if len(lines) > EXCERPT_LINES else []))


def read_quarantine(path: Path | None) -> dict[str, str]:
    """The quarantine file: node id -> reason."""
    if path is None or not path.exists():
        return {}
    entries: dict[str, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        nodeid, _, reason = line.partition("#")
        if not reason.strip():
            raise NightlyError(f"{path}:{number}: quarantined case {nodeid.strip()!r} has no "
                               "reason (write `NODEID  # reason`)")
        entries[nodeid.strip()] = reason.strip()
    return entries


def read_results(path: Path) -> dict[str, tuple[str, float, str, dict[str, str]]]:
    """One pass's --zhb-results file: node id -> (outcome, duration, text, properties)."""
    cases: dict[str, tuple[str, float, str, dict[str, str]]] = {}
    if not path.exists():
        return cases
    for line in path.read_text().splitlines():
        record = json.loads(line)
        nodeid = record["nodeid"]
        outcome, duration, text, props = cases.get(nodeid, ("passed", 0.0, "", {}))
        props = {**props, **{k: v for k, v in record["properties"]}}
        duration += float(record["duration"])
        if record["outcome"] == "failed" or (record["outcome"] == "skipped"
                                             and outcome == "passed"):
            outcome, text = record["outcome"], record["longrepr"]
        cases[nodeid] = (outcome, duration, text, props)
    return cases


@dataclass
class Options:
    tests: list[str]
    output: Path
    arch: str
    machine: str
    reruns: int
    quarantine: Path | None
    pytest_args: list[str]
    jobs: str

    @property
    def cwd(self) -> Path:
        """Where pytest runs: the repository, or the common directory of tests outside it
        (node ids are relative to pytest's root, and reruns name them)."""
        paths = [Path(t.split("::")[0]).resolve() for t in self.tests]
        if all(p.is_relative_to(ROOT) for p in paths):
            return ROOT
        common = Path(os.path.commonpath(paths))
        return common if common.is_dir() else common.parent


def pytest_command(options: Options, results: Path, nodeids: Sequence[str]) -> list[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
               f"--arch={options.arch}", f"--machine={options.machine}",
               f"--zhb-results={results}", *options.pytest_args]
    command += ["-n", options.jobs] if options.jobs != "0" else ["-p", "no:xdist"]
    return command + list(nodeids or options.tests)


_TOTAL = re.compile(rb"(?:\[|collected )(\d+) items?\]?")


@dataclass
class Progress:
    """Progress lines of one pass: cases done out of the total pytest announced, the variant
    of the case that finished last, elapsed and estimated time. On a terminal every
    TTY_PERIOD_S seconds, in a CI log every LOG_PERIOD_S (plain lines either way, between
    pytest's own output)."""

    started: float
    period: float
    total: int | None = None
    last: float = 0.0

    TTY_PERIOD_S = 10.0
    LOG_PERIOD_S = 60.0

    def see_output(self, chunk: bytes) -> None:
        if self.total is None and (match := _TOTAL.search(chunk)) is not None:
            self.total = int(match.group(1))

    def due(self, now: float) -> bool:
        return now - max(self.last, self.started) >= self.period

    def line(self, done: int, variant: str, now: float) -> str:
        self.last = now
        elapsed = now - self.started
        text = f"nightly: progress: {done}"
        if self.total:
            text += f" of {self.total} cases"
            if 0 < done < self.total:
                text += f", about {elapsed / done * (self.total - done):.0f} s to go"
        else:
            text += " cases"
        if variant:
            text += f", last on {variant}"
        return text + f", {elapsed:.0f} s elapsed"


def _progress_of(results: Path) -> tuple[int, str]:
    """(cases done, the target of the last one) from a --zhb-results file pytest is still
    writing (a last line cut short is left for the next look)."""
    seen: set[str] = set()
    target = ""
    try:
        lines = results.read_text(errors="replace").splitlines()
    except OSError:
        return 0, ""
    for line in lines:
        try:
            record = json.loads(line)
            seen.add(record["nodeid"])
            target = dict(record["properties"]).get("target", target)
        except (ValueError, KeyError, TypeError):
            continue
    return len(seen), target


def run_pass(options: Options, number: int, nodeids: Sequence[str]) -> dict[
        str, tuple[str, float, str, dict[str, str]]]:
    """One pytest run (all the tests, or `nodeids`); its output is streamed and logged, with
    progress lines (Progress) in between."""
    results = options.output / f"pass-{number}.jsonl"
    results.unlink(missing_ok=True)
    command = pytest_command(options, results, nodeids)
    what = "all cases" if not nodeids else f"{len(nodeids)} failed case(s) again"
    print(f"nightly: pass {number}: {what}", flush=True)
    started = time.monotonic()
    progress = Progress(started, Progress.TTY_PERIOD_S if sys.stdout.isatty()
                        else Progress.LOG_PERIOD_S)
    with open(options.output / f"pytest-{number}.log", "wb") as log:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   cwd=options.cwd)
        assert process.stdout is not None
        stdout = process.stdout.fileno()
        for chunk in iter(lambda: os.read(stdout, 1 << 16), b""):
            log.write(chunk)
            sys.stdout.buffer.write(chunk)
            progress.see_output(chunk)
            if progress.due(time.monotonic()):
                done, variant = _progress_of(results)
                sys.stdout.write(f"\n{progress.line(done, variant, time.monotonic())}\n")
            sys.stdout.flush()
        process.wait()
    found = read_results(results)
    if not found and process.returncode not in (0, 1, 5):  # 5: pytest collected nothing
        lines = (options.output / f"pytest-{number}.log").read_text(errors="replace").split("\n")
        lines = [line for line in lines if line.strip()]
        last = next((line for line in reversed(lines) if "error" in line.lower()),
                    lines[-1] if lines else "")
        raise NightlyError(f"pytest exited with status {process.returncode}: {last.strip()}")
    failed = sum(1 for outcome, *_ in found.values() if outcome == "failed")
    print(f"nightly: pass {number}: {len(found)} case(s), {failed} failed, "
          f"{time.monotonic() - started:.0f} s", flush=True)
    return found


def classify(cases: dict[str, Case], quarantine: dict[str, str]) -> None:
    for case in cases.values():
        if case.attempts[0] == "skipped":
            case.status = "SKIPPED"
        elif case.attempts[0] == "passed":
            case.status = "PASSED"
        elif "passed" in case.attempts:
            case.status = "FLAKY"
        elif case.nodeid in quarantine:
            case.status = "QUARANTINED"
        else:
            case.status = "FAILED"


def run_night(options: Options) -> dict[str, Case]:
    quarantine = read_quarantine(options.quarantine)
    cases: dict[str, Case] = {}
    for number in range(options.reruns + 1):
        again = [c.nodeid for c in cases.values() if c.attempts[-1] == "failed"]
        if number and not again:
            break
        for nodeid, (outcome, duration, text, props) in run_pass(options, number + 1,
                                                                  again).items():
            case = cases.setdefault(nodeid, Case(nodeid))
            case.attempts.append(outcome)
            case.duration += duration
            case.properties = {**props, **case.properties}
            if outcome != "passed" and not case.message:
                case.message = text
    classify(cases, quarantine)
    for nodeid, case in cases.items():
        if nodeid in quarantine:
            case.properties["quarantine_reason"] = quarantine[nodeid]
    return cases


# -- outputs -----------------------------------------------------------------------------------


def repro_command(case: Case) -> str:
    variant = case.target.partition("-")[2] if "-" in case.target else "default"
    return shlex.join([".venv/bin/pytest", case.nodeid, f"--machine={variant}"])


def write_junit(cases: dict[str, Case], path: Path, night: str) -> None:
    counts = Counter(c.status for c in cases.values())
    suite = ET.Element("testsuite", name=f"zhb-nightly-{night}", tests=str(len(cases)),
                       failures=str(counts["FAILED"]), skipped=str(counts["SKIPPED"]),
                       time=f"{sum(c.duration for c in cases.values()):.3f}")
    for case in cases.values():
        module, _, name = case.nodeid.partition("::")
        element = ET.SubElement(suite, "testcase", classname=module.removesuffix(".py")
                                .replace("/", "."), name=name, time=f"{case.duration:.3f}")
        props = ET.SubElement(element, "properties")
        for key, value in {**case.properties, "status": case.status,
                           "attempts": ",".join(case.attempts)}.items():
            ET.SubElement(props, "property", name=key, value=value)
        if case.status in ("FAILED", "QUARANTINED", "FLAKY"):
            tag = "failure" if case.status == "FAILED" else "system-out"
            first = case.message.strip().splitlines()[0] if case.message.strip() else ""
            log = case.properties.get("console_log", "")
            body = f"{case.excerpt()}\nfull console log: {log}\nrepro: {repro_command(case)}"
            if tag == "failure":
                ET.SubElement(element, tag, message=first).text = body
            else:
                ET.SubElement(element, tag).text = f"{case.status}: {body}"
        elif case.status == "SKIPPED":
            ET.SubElement(element, "skipped", message=case.message.strip()[:500])
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)


SCHEMA = """
CREATE TABLE IF NOT EXISTS nights (night TEXT PRIMARY KEY, started REAL, wall_s REAL,
                                   exit_status INTEGER);
CREATE TABLE IF NOT EXISTS cases (night TEXT, nodeid TEXT, target TEXT, suite TEXT,
                                  status TEXT, duration REAL, PRIMARY KEY (night, nodeid));
CREATE TABLE IF NOT EXISTS figures (night TEXT, target TEXT, name TEXT, value REAL);
"""


def record_history(db: Path, night: str, cases: dict[str, Case], started: float,
                   wall_s: float, exit_status: int) -> None:
    with sqlite3.connect(db) as conn:
        conn.executescript(SCHEMA)
        conn.execute("INSERT OR REPLACE INTO nights VALUES (?, ?, ?, ?)",
                     (night, started, wall_s, exit_status))
        conn.executemany(
            "INSERT OR REPLACE INTO cases VALUES (?, ?, ?, ?, ?, ?)",
            [(night, c.nodeid, c.target, c.properties.get("suite", ""), c.status, c.duration)
             for c in cases.values()])
        suites: dict[tuple[str, str], float] = {}
        for c in cases.values():
            if "suite" in c.properties and "elapsed_s" in c.properties:
                suites[(c.target, c.properties["suite"])] = float(c.properties["elapsed_s"])
        conn.executemany("INSERT INTO figures VALUES (?, ?, ?, ?)",
                         [(night, target, f"suite:{suite}", value)
                          for (target, suite), value in suites.items()])
        conn.executemany("INSERT INTO figures VALUES (?, ?, ?, ?)",
                         [(night, c.target, name.removeprefix(FIGURE), value)
                          for c in cases.values() for name, value in _figures(c)])


def _figures(case: Case) -> list[tuple[str, float]]:
    """The case's `figure:` properties that are numbers."""
    found = []
    for name, text in case.properties.items():
        if name.startswith(FIGURE):
            try:
                found.append((name, float(text)))
            except ValueError:
                continue
    return found


def _svg_chart(title: str, series: dict[str, list[tuple[str, float]]], unit: str) -> str:
    """An inline SVG line chart: one polyline per series over the nights (x: night order)."""
    nights = sorted({n for points in series.values() for n, _ in points})
    values = [v for points in series.values() for _, v in points]
    if not nights or not values:
        return f'<figure class="chart"><figcaption>{html.escape(title)}: no data</figcaption></figure>'
    width, height, pad = 480, 160, 30
    top = max(values) or 1.0
    step = (width - 2 * pad) / max(len(nights) - 1, 1)
    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{html.escape(title)}">'),
             (f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
             'stroke="#888"/>'),
             f'<text x="2" y="12" font-size="10">{top:.3g} {html.escape(unit)}</text>']
    legend = []
    for index, (name, points) in enumerate(sorted(series.items())):
        colour = colours[index % len(colours)]
        coords = " ".join(
            f"{pad + nights.index(n) * step:.1f},{height - pad - v / top * (height - 2 * pad):.1f}"
            for n, v in sorted(points))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{coords}"><title>{html.escape(name)}</title></polyline>')
        for coord in coords.split():
            x, y = coord.split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{colour}"/>')
        legend.append(f'<span style="color:{colour}">&#9632; {html.escape(name)}</span>')
    parts.append("</svg>")
    return (f'<figure class="chart" data-chart="{html.escape(title)}">{"".join(parts)}'
            f'<figcaption>{html.escape(title)} ({len(nights)} night(s)) '
            f'{" ".join(legend)}</figcaption></figure>')


Series = dict[str, list[tuple[str, float]]]
"""Chart data: series name -> (night, value) points."""


@dataclass
class Trends:
    """What the trend charts show, read from the history store."""

    pass_rate: Series
    boot: Series
    """Boot time (ms) per target."""
    microbench: dict[str, Series]
    """Row -> ns per target."""
    suites: dict[str, Series]
    """KTAP suite -> its run's duration (s) per target."""
    files: Series
    """Test file -> the sum of its cases' durations (s), all targets."""
    cases: Series
    """Node id -> its duration (s)."""


def _trend_data(db: Path) -> Trends:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT night, status, COUNT(*) FROM cases GROUP BY night, status")
        per_night: dict[str, Counter[str]] = defaultdict(Counter)
        for night, status, count in rows:
            per_night[night][status] = count
        rate = {"pass rate": [
            (night, 100.0 * (c["PASSED"] + c["FLAKY"]) / max(
                c["PASSED"] + c["FLAKY"] + c["FAILED"] + c["QUARANTINED"], 1))
            for night, c in per_night.items()]}
        suites: dict[str, Series] = defaultdict(lambda: defaultdict(list))
        microbench: dict[str, Series] = defaultdict(lambda: defaultdict(list))
        boot: Series = defaultdict(list)
        for night, target, name, value in conn.execute(
                "SELECT night, target, name, AVG(value) FROM figures "
                "GROUP BY night, target, name ORDER BY night"):
            if name.startswith("suite:"):
                suites[name.removeprefix("suite:")][target].append((night, value))
            elif name.startswith(MICROBENCH_FIGURE):
                microbench[name.removeprefix(MICROBENCH_FIGURE)][target].append((night, value))
            elif name == BOOT_FIGURE:
                boot[target].append((night, value))
        case_times: Series = defaultdict(list)
        file_times: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for night, nodeid, duration in conn.execute("SELECT night, nodeid, duration FROM cases"):
            case_times[nodeid].append((night, duration))
            file_times[nodeid.partition("::")[0]][night] += duration
    files = {name: sorted(per_night.items()) for name, per_night in file_times.items()}
    return Trends(rate, boot, microbench, suites, files, case_times)


def _clean_quarantined(db: Path, quarantine: dict[str, str]) -> list[str]:
    """Quarantined cases that passed the last QUARANTINE_CLEAN_NIGHTS nights in a row."""
    flagged = []
    with sqlite3.connect(db) as conn:
        for nodeid in quarantine:
            statuses = [s for (s,) in conn.execute(
                "SELECT status FROM cases WHERE nodeid = ? ORDER BY night DESC LIMIT ?",
                (nodeid, QUARANTINE_CLEAN_NIGHTS))]
            if len(statuses) == QUARANTINE_CLEAN_NIGHTS and set(statuses) == {"PASSED"}:
                flagged.append(nodeid)
    return flagged


CSS = """
body{font-family:sans-serif;margin:1.5em;color:#222}
table.grid{border-collapse:collapse} .grid td,.grid th{border:1px solid #bbb;padding:4px 8px}
td.PASSED{background:#c8f0c8} td.FAILED{background:#f6b8b8} td.FLAKY{background:#fbe7a1}
td.SKIPPED{background:#e4e4e4} td.QUARANTINED{background:#d9c8f0}
pre{background:#f4f4f4;padding:6px;overflow-x:auto;font-size:12px}
code.repro{background:#eef;padding:2px 4px} figure.chart{display:inline-block;margin:6px}
"""


def write_html(cases: dict[str, Case], path: Path, night: str, db: Path,
               quarantine: dict[str, str], wall_s: float) -> None:
    targets: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for case in cases.values():
        arch, _, variant = (case.target or "host").partition("-")
        targets[arch][variant or "default"][case.status] += 1
    variants = sorted({v for per_arch in targets.values() for v in per_arch},
                      key=lambda v: (v != "default", v))
    counts = Counter(c.status for c in cases.values())
    out = [(f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>zhb nightly {night}"
           f"</title><style>{CSS}</style></head><body>"),
           f"<h1>zhb nightly {html.escape(night)}</h1>",
           "<p>" + ", ".join(f"{counts[s]} {s.lower()}" for s in STATUSES)
           + f"; wall time {wall_s:.0f} s</p>",
           '<h2>Architecture &times; machine variant</h2><table class="grid" id="grid">'
           "<tr><th>arch</th>" + "".join(f"<th>{html.escape(v)}</th>" for v in variants)
           + "</tr>"]
    for arch in sorted(targets):
        out.append(f"<tr><th>{html.escape(arch)}</th>")
        for variant in variants:
            c = targets[arch].get(variant)
            if not c:
                out.append("<td></td>")
                continue
            worst = next((s for s in ("FAILED", "FLAKY", "QUARANTINED", "PASSED", "SKIPPED")
                          if c[s]), "SKIPPED")
            label = " ".join(f"{c[s]}&nbsp;{s.lower()}" for s in STATUSES if c[s])
            out.append(f'<td class="{worst}" data-target="{html.escape(arch)}-'
                       f'{html.escape(variant)}">{label}</td>')
        out.append("</tr>")
    out.append("</table>")
    trends = _trend_data(db)
    flagged = set(_clean_quarantined(db, quarantine))
    bad = [c for c in cases.values() if c.status in ("FAILED", "FLAKY", "QUARANTINED")]
    out.append(f"<h2>Failures ({len(bad)})</h2>")
    for case in sorted(bad, key=lambda c: (c.status != "FAILED", c.nodeid)):
        anchor = html.escape(case.nodeid, quote=True)
        out.append(f'<section class="failure {case.status}" data-nodeid="{anchor}">'
                   f"<h3>{case.status}: {html.escape(case.nodeid)}</h3>")
        if case.nodeid in quarantine:
            out.append(f"<p>quarantined: {html.escape(quarantine[case.nodeid])}</p>")
        out.append(f"<p>attempts: {', '.join(case.attempts)}; console log: "
                   f"{html.escape(case.properties.get('console_log', 'n/a'))}</p>")
        out.append(f'<p>repro: <code class="repro">{html.escape(repro_command(case))}</code></p>')
        out.append(f'<pre class="excerpt">{html.escape(case.excerpt())}</pre>')
        out.append(_svg_chart(f"duration of {case.nodeid}",
                              {"duration": trends.cases.get(case.nodeid, [])}, "s"))
        out.append("</section>")
    if flagged:
        out.append(f"<h2>Quarantined cases clean for {QUARANTINE_CLEAN_NIGHTS} nights</h2><ul>"
                   + "".join(f"<li class='unquarantine'>{html.escape(n)}</li>"
                             for n in sorted(flagged)) + "</ul>")
    out.append("<h2>Trends</h2>")
    out.append(_svg_chart("pass rate", trends.pass_rate, "%"))
    out.append(_svg_chart("boot time per variant", trends.boot, "ms"))
    for row in sorted(trends.microbench):
        out.append(_svg_chart(f"microbench {row}", trends.microbench[row], "ns"))
    for suite in sorted(trends.suites):
        out.append(_svg_chart(f"{suite} duration per variant", trends.suites[suite], "s"))
    out.append(_svg_chart("test file durations", trends.files, "s"))
    out.append("</body></html>")
    path.write_text("\n".join(out), encoding="utf-8")


# -- sharding and merging ----------------------------------------------------------------------


def parse_shard(text: str) -> tuple[int, int]:
    """`I/N` (1 <= I <= N) -> (I, N)."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise NightlyError(f"--shard: not I/N: {text!r}") from None
    if not 1 <= index <= count:
        raise NightlyError(f"--shard: {text!r} needs 1 <= I <= N")
    return index, count


def target_weights(db: Path, labels: Sequence[str]) -> dict[str, float]:
    """Seconds each target took on its latest night in the history (a target never seen
    weighs the median of the others, or 1)."""
    known: dict[str, float] = {}
    if db.exists():
        with sqlite3.connect(db) as conn:
            for target, night, total in conn.execute(
                    "SELECT target, night, SUM(duration) FROM cases GROUP BY target, night "
                    "ORDER BY night"):
                known[target] = float(total)  # the latest night wins
    seen = sorted(known[t] for t in labels if t in known)
    fallback = seen[len(seen) // 2] if seen else 1.0
    return {t: known.get(t, fallback) for t in labels}


def shard_targets(labels: Sequence[str], weights: dict[str, float], index: int,
                  count: int) -> list[str]:
    """The targets of shard `index` of `count`: longest first onto the least loaded shard
    (ties: the lower shard, then the label), so every shard computes the same split."""
    loads = [0.0] * count
    shards: list[list[str]] = [[] for _ in range(count)]
    for label in sorted(labels, key=lambda t: (-weights[t], t)):
        lightest = min(range(count), key=lambda i: (loads[i], i))
        loads[lightest] += weights[label]
        shards[lightest].append(label)
    return sorted(shards[index - 1], key=list(labels).index)


def all_targets(arch: str, machine: str) -> list[str]:
    from harness.profiles import select_profiles, select_variants

    return [t.label for p in select_profiles(arch) for t in select_variants(p, machine)]


def save_cases(cases: dict[str, Case], path: Path) -> None:
    path.write_text(json.dumps([vars(c) for c in cases.values()], indent=1))


def load_cases(paths: Sequence[Path]) -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for path in paths:
        for record in json.loads(path.read_text()):
            cases[record["nodeid"]] = Case(**record)
    return cases


# -- command line ------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--arch", default="all", help="architectures (default all)")
    parser.add_argument("--machine", default="all",
                        help="machine variants: default, all (default) or names")
    parser.add_argument("-o", "--output", type=Path, default=Path("nightly-out"),
                        help="output directory (default nightly-out; its history.sqlite is "
                             "kept and appended to)")
    parser.add_argument("--reruns", type=int, default=2, metavar="N",
                        help="reruns of a failed case on the same variant (default 2)")
    parser.add_argument("--quarantine", type=Path, default=None, metavar="FILE",
                        help="known flaky cases, `NODEID  # reason` per line")
    parser.add_argument("--stress-seconds", type=float, default=LONG_STRESS_SECONDS,
                        help=f"stress round per case (default {LONG_STRESS_SECONDS:g})")
    parser.add_argument("--fuzz-calls", type=int, default=LONG_FUZZ_CALLS,
                        help=f"syscall-fuzz calls (default {LONG_FUZZ_CALLS})")
    parser.add_argument("-j", "--jobs", default="auto",
                        help="pytest-xdist workers (default auto; 0: no xdist)")
    parser.add_argument("--tests", nargs="*", default=["tests"],
                        help="test paths (default tests)")
    parser.add_argument("--night", default=None,
                        help="this night's name in the history (default: UTC date and time)")
    parser.add_argument("--pytest-arg", action="append", default=[], metavar="ARG",
                        help="one more pytest argument (repeatable)")
    parser.add_argument("--shard", default=None, metavar="I/N",
                        help="run only shard I of N: the (arch, variant) targets split by "
                             "their durations in the output dir's history (deterministic)")
    parser.add_argument("--merge", nargs="+", type=Path, default=None, metavar="DIR",
                        help="run nothing: merge the cases.json of these shard output dirs "
                             "into one results.xml, report.html and history in --output")


def nightly(args: argparse.Namespace) -> int:
    if args.reruns < 0:
        raise NightlyError(f"--reruns must be 0 or more, not {args.reruns}")
    try:
        args.output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise NightlyError(f"output directory {args.output}: {exc.strerror}") from exc
    output = args.output.resolve()
    quarantine_path = args.quarantine.resolve() if args.quarantine else None
    quarantine = read_quarantine(quarantine_path)
    night = args.night or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if args.merge:
        cases = load_cases([d / "cases.json" for d in args.merge])
        return finish(cases, output, night, quarantine, time.time(), 0.0)
    machine = args.machine
    if args.shard is not None:
        index, count = parse_shard(args.shard)
        labels = all_targets(args.arch, args.machine)
        mine = shard_targets(labels, target_weights(output / "history.sqlite", labels),
                             index, count)
        print(f"nightly: shard {index}/{count}: {', '.join(mine) or 'nothing'}", flush=True)
        if not mine:
            return 0
        machine = ",".join(mine)
    knobs = [f"--stress-seconds={args.stress_seconds:g}", f"--fuzz-calls={args.fuzz_calls}"]
    options = Options(tests=args.tests, output=output, arch=args.arch, machine=machine,
                      reruns=args.reruns, quarantine=quarantine_path,
                      pytest_args=[*knobs, *args.pytest_arg], jobs=args.jobs)
    started_wall, started = time.time(), time.monotonic()
    cases = run_night(options)
    save_cases(cases, output / "cases.json")
    return finish(cases, output, night, quarantine, started_wall, time.monotonic() - started)


def finish(cases: dict[str, Case], output: Path, night: str, quarantine: dict[str, str],
           started_wall: float, wall_s: float) -> int:
    """Write results.xml, the history and report.html; print the summary; the exit status."""
    counts = Counter(c.status for c in cases.values())
    status = 1 if counts["FAILED"] or not cases else 0
    write_junit(cases, output / "results.xml", night)
    record_history(output / "history.sqlite", night, cases, started_wall, wall_s, status)
    write_html(cases, output / "report.html", night, output / "history.sqlite", quarantine,
               wall_s)
    print("nightly: " + ", ".join(f"{counts[s]} {s.lower()}" for s in STATUSES)
          + f" in {wall_s:.0f} s; report {output / 'report.html'}", flush=True)
    if not cases:
        print("nightly: FAILED: no case ran", file=sys.stderr)
    for case in cases.values():
        if case.status == "FAILED":
            print(f"nightly: FAILED {case.nodeid}", flush=True)
    return status
