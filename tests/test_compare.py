"""``benchgate compare``: reports from real sessions, compared by the real command line."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchgate.baseline import mcnemar_exact
from benchgate.cli import main
from benchgate.compare import build, fmt, fmt_p, load_run, markdown
from tests.conftest import REPO

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """GSM8K and MT-Bench reports of the simulator at accuracy 1.0 (``full``) and 0.4 (``q4``).

    Real pytest sessions in a fresh directory, as the ``run_bench`` fixture runs them, but once
    per module: the reports are read-only inputs of every test here.
    """
    root = tmp_path_factory.mktemp("compare")
    paths = []
    for name, accuracy in (("full", "1.0"), ("q4", "0.4")):
        path = root / name / "report.json"
        result = subprocess.run(
            [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "gsm8k"),
             str(REPO / "benchmarks" / "mt_bench"), "-p", "no:cacheprovider", "--model", "sim",
             "--data", "sample", "--no-cache", "--sim-accuracy", accuracy, "--report", str(path)],
            cwd=root, capture_output=True, text=True, timeout=300)
        assert path.is_file(), result.stdout + result.stderr
        paths.append(path)
    return paths[0], paths[1]


def compare(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchgate.cli", "compare", *map(str, args)],
                          capture_output=True, text=True, timeout=120, cwd=cwd)


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """``benchgate compare`` in process: (exit status, stdout, stderr)."""
    code = main(["compare", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def verdicts(report: Path, bench: str) -> dict[str, str]:
    lines = (report.parent / f"{bench}.items.jsonl").read_text().splitlines()
    return {r["id"]: r["outcome"] for r in map(json.loads, lines) if r["repeat"] == 0}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_markdown_csv_and_html(reports: tuple[Path, Path], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    full, q4 = reports
    a, b = (json.loads(p.read_text())["benchmarks"] for p in (full, q4))
    before, after = verdicts(full, "gsm8k"), verdicts(q4, "gsm8k")
    assert set(before.values()) == {"passed"}  # accuracy 1.0: nothing to fix, only to break
    broken = sorted((i for i in after if after[i] == "failed"), key=int)
    assert 0 < len(broken) < len(after)

    result = compare(full, q4, "--csv", tmp_path / "csv", "--html", tmp_path / "out" / "cmp.html")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # both reports name model "sim": the folder names label them
    assert "- baseline **full**" in out and "- model **q4**" in out
    delta = fmt(b["gsm8k"]["score"] - a["gsm8k"]["score"], sign=True)
    assert delta.startswith("-")
    ci = "[{}, {}]".format(*map(fmt, b["gsm8k"]["ci95"]))
    assert f"| gsm8k | accuracy | q4 | 14 | {fmt(b['gsm8k']['score'])} | {ci} | {delta} | 0 |" in out
    assert "| gsm8k | accuracy | full | 14 | 1.000 |" in out and "| Δ vs full |" in out
    assert f"| mt_bench | score | q4 | 10 | {fmt(b['mt_bench']['score'])} |" in out
    # per-category and per-turn tables
    assert "### mt_bench by category" in out and "### mt_bench by turn" in out
    for cat, entry in a["mt_bench"]["by_category"].items():
        assert re.search(rf"^\| {cat} \| {entry['n']} \| {fmt(entry['score'])} \|", out, re.M), cat
    assert re.search(r"^\| turn1 \| [\d.]+ \| [\d.]+ \| [+-][\d.]+ \|$", out, re.M)
    # item diffs and McNemar
    ids = ", ".join(f"`{i}`" for i in broken)
    assert f"- **gsm8k** q4: 14 paired, fixed 0, broken {len(broken)}" in out
    assert f"  - broken ({len(broken)}): {ids}" in out and "  - fixed (0): none" in out
    p = mcnemar_exact(0, len(broken))
    assert p < 0.05 and f"| gsm8k | q4 | full | 14 | 0 | {len(broken)} | {fmt_p(p)} |" in out

    # CSV: the same tables, full precision
    files = {p.name for p in (tmp_path / "csv").iterdir()}
    assert files == {"headline.csv", "metrics.csv", "categories.csv", "mcnemar.csv", "items.csv"}
    head = read_csv(tmp_path / "csv" / "headline.csv")
    assert [(r["benchmark"], r["model"]) for r in head] == [("gsm8k", "full"), ("gsm8k", "q4"),
                                                             ("mt_bench", "full"), ("mt_bench", "q4")]
    assert head[0]["delta"] == "" and float(head[1]["delta"]) == pytest.approx(
        b["gsm8k"]["score"] - a["gsm8k"]["score"])
    rows = read_csv(tmp_path / "csv" / "mcnemar.csv")
    gsm = next(r for r in rows if r["benchmark"] == "gsm8k")
    assert (gsm["fixed"], gsm["broken"], float(gsm["p"])) == ("0", str(len(broken)), pytest.approx(p))
    items = [r for r in read_csv(tmp_path / "csv" / "items.csv") if r["benchmark"] == "gsm8k"]
    assert sorted((r["id"] for r in items if r["change"] == "broken"), key=int) == broken
    cats = read_csv(tmp_path / "csv" / "categories.csv")
    assert {r["group"] for r in cats} == {"category", "turn"}

    # HTML: one self-contained page with the charts inline and the item tables
    page = (tmp_path / "out" / "cmp.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert page.count("<svg") >= 3  # scores, turn 1 vs turn 2, category heatmap
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//)""", page)
    assert "Turn 1 vs turn 2" in page and "mt_bench by category" in page
    for i in broken:
        assert f'<tr class="broken"><td>{i}</td>' in page
    assert '<tr class="fixed">' not in page

    # reversed: the baseline's view flips
    code, back, _ = cli(capsys, q4, full)
    assert code == 0 and f"  - fixed ({len(broken)}): {ids}" in back
    assert "| gsm8k | accuracy | full | 14 | 1.000 |" in back
    assert fmt(a["gsm8k"]["score"] - b["gsm8k"]["score"], sign=True) in back


def report_doc(name: str, scores: dict[str, float], **extra: Any) -> dict[str, Any]:
    """A minimal schema-1 report with one accuracy section per benchmark."""
    return {"schema_version": 1, "model": {"name": name, "served_model": name},
            "benchmarks": {b: {"n": 4, "passed": 0, "failed": 0, "errors": 0, "score": s,
                               "metric": "accuracy", "ci95": [0.0, 1.0], "metrics": {"accuracy": s},
                               "by_category": {}, "run": {"limit": None, "data": {}}, **extra}
                           for b, s in scores.items()}, "gates": []}


def write_run(root: Path, name: str, scores: dict[str, float],
              outcomes: dict[str, dict[str, str]] | None = None) -> Path:
    path = root / name / "report.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(report_doc(name, scores)))
    for bench, by_id in (outcomes or {}).items():
        lines = [json.dumps({"benchmark": bench, "model": name, "id": i, "repeat": 0, "outcome": o,
                             "score": float(o == "passed")}) for i, o in by_id.items()]
        (path.parent / f"{bench}.items.jsonl").write_text("\n".join(lines) + "\n")
    return path


def test_pairing_excludes_errors_and_tolerates_missing_parts(tmp_path: Path) -> None:
    base = write_run(tmp_path, "m1", {"gsm8k": 0.5, "aime2025": 0.1},
                     {"gsm8k": {"0": "passed", "1": "failed", "2": "passed", "3": "error"}})
    other = write_run(tmp_path, "m2", {"gsm8k": 0.75, "ifeval": 0.3},
                      {"gsm8k": {"0": "passed", "1": "passed", "2": "error", "3": "failed", "9": "passed"}})
    cmp = build([load_run(base), load_run(other.parent)])  # a folder stands for its report.json
    (diff,) = cmp.diffs
    assert (diff.ids("fixed"), diff.ids("broken"), len(diff.rows), diff.unpaired) == (["1"], [], 2, 3)
    out = markdown(cmp)
    assert "| gsm8k | accuracy | m2 | 4 | 0.750 | [0.000, 1.000] | +0.250 | 0 |" in out
    assert "| ifeval | accuracy | m2 | 4 | 0.300 | [0.000, 1.000] | - | 0 |" in out
    assert "aime2025: not in m2" in out and "ifeval: not in m1" in out
    assert "| gsm8k | m2 | m1 | 2 | 1 | 0 | 1 |" in out


def test_items_file_missing_is_reported_not_fatal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = write_run(tmp_path, "m1", {"gsm8k": 0.5}, {"gsm8k": {"0": "passed"}})
    code, out, _ = cli(capsys, base, write_run(tmp_path, "m2", {"gsm8k": 0.5}))
    assert code == 0 and "no verdicts to pair" in out


@pytest.mark.parametrize("content", [None, "not json", "[1, 2]", '{"schema_version": 2}',
                                     '{"schema_version": 1, "benchmarks": {"x": 3}}', "items"])
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          content: str | None) -> None:
    good = write_run(tmp_path, "m1", {"gsm8k": 0.5}, {"gsm8k": {"0": "passed"}})
    bad = tmp_path / "bad" / "report.json"
    if content == "items":  # a valid report whose items file is garbage
        bad = write_run(tmp_path, "m2", {"gsm8k": 0.5})
        (bad.parent / "gsm8k.items.jsonl").write_text('{"id": "0"}\nnot json\n')
    elif content is not None:
        bad.parent.mkdir()
        bad.write_text(content)
    code, out, err = cli(capsys, good, bad)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1 and lines[0].startswith("benchgate compare: ")
    assert str(bad) in lines[0] or "items.jsonl:2" in lines[0]


def test_one_report_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, write_run(tmp_path, "m1", {"gsm8k": 0.5}))
    assert code == 2 and err.count("\n") == 1 and "two reports" in err


def test_bad_input_from_the_console_script_has_no_traceback(tmp_path: Path) -> None:
    result = compare(tmp_path / "missing.json", tmp_path / "missing2.json")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr == f"benchgate compare: {tmp_path / 'missing.json'}: no such file\n"


def _chromium(tmp_path: Path, page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / f"profile-{page.stem}"
    return subprocess.run([CHROMIUM or "chromium", "--headless", "--no-sandbox", "--disable-gpu",
                           "--disable-quic", "--no-first-run", "--disable-background-networking",
                           "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
                           "--enable-logging=stderr", "--v=0", *extra, page.as_uri()],
                          capture_output=True, text=True, timeout=120)


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (Debian package `chromium`; "
                    ".ci/run installs it)")
def test_html_renders_in_headless_chromium(reports: tuple[Path, Path], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np
    from matplotlib.image import imread

    full, q4 = reports
    page = tmp_path / "cmp.html"
    assert cli(capsys, full, q4, "--html", page)[0] == 0
    shot = tmp_path / "shot.png"
    result = _chromium(tmp_path, page, f"--screenshot={shot}", "--window-size=1200,2000")
    assert shot.is_file(), result.stderr[-2000:]
    assert _console(result.stderr) == []
    pixels = np.round(imread(str(shot))[..., :3] * 255).astype(int)
    assert pixels.shape[:2] == (2000, 1200)
    colours = np.unique(pixels[..., 0] * 65536 + pixels[..., 1] * 256 + pixels[..., 2])
    assert len(colours) > 50  # bars, error bars, heatmap, tables: far from a blank page
    assert (pixels.sum(axis=2) < 3 * 250).mean() > 0.05
    baseline_bar = np.array([0x42, 0x69, 0xD0])  # the first model's bar colour
    assert (np.abs(pixels - baseline_bar).max(axis=2) <= 3).sum() > 1000
    # the console check sees errors when there are some
    control = tmp_path / "control.html"
    control.write_text("<!DOCTYPE html><p>x</p><script>console.error('boom'); missing();</script>")
    assert _console(_chromium(tmp_path, control, "--dump-dom").stderr)
