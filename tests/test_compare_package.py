"""``benchgate.compare`` as a package: no import cycle, and the view across N reports."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from benchgate.cli import main
from tests.conftest import REPO

PACKAGE = REPO / "benchgate" / "compare"


def _imports(path: Path) -> set[str]:
    """Sibling modules ``path`` imports at module level or inside functions."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.startswith("benchgate.compare."):
            out.add(node.module.rsplit(".", 1)[1])
    return out


def test_the_compare_modules_import_no_cycle() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert {"model", "markdown", "csv", "html", "cli"} <= modules
    assert not (REPO / "benchgate" / "compare.py").exists()
    assert not (REPO / "benchgate" / "compare_html.py").exists()
    graph = {m: _imports(PACKAGE / f"{m}.py") for m in modules}
    done: list[str] = []
    while len(done) < len(graph):  # Kahn's algorithm: a cycle leaves nodes behind
        ready = [m for m, deps in graph.items() if m not in done and deps <= set(done)]
        assert ready, f"import cycle among {sorted(set(graph) - set(done))}: {graph}"
        done += sorted(ready)
    assert graph["model"] == set()


def _report(root: Path, name: str, score: float, ci: list[float], extra: float) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    section = {"n": 40, "passed": int(score * 40), "failed": 40 - int(score * 40), "errors": 0,
               "score": score, "metric": "accuracy", "ci95": ci,
               "metrics": {"accuracy": score, "format_rate": extra}, "run": {"repeats": 1}}
    (folder / "report.json").write_text(json.dumps({
        "schema_version": 1, "model": {"name": name, "checkpoint": f"/runs/{name}"},
        "benchmarks": {"gsm8k": section}}))
    return folder / "report.json"


def test_n_reports_give_the_sweep_table_in_natural_order(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    reports = [_report(tmp_path, "sft@checkpoint-1000", 0.9, [0.77, 0.96], 1.0),
               _report(tmp_path, "sft@checkpoint-100", 0.3, [0.18, 0.45], 0.5),
               _report(tmp_path, "sft@checkpoint-200", 0.6, [0.45, 0.74], 0.75),
               _report(tmp_path, "base", 0.25, [0.14, 0.40], 0.4)]
    out_csv, out_html = tmp_path / "csv", tmp_path / "sweep.html"
    assert main(["compare", *map(str, reports), "--csv", str(out_csv), "--html",
                 str(out_html)]) == 0
    text = capsys.readouterr().out
    table = text[text.index("## Across the runs (sweep order)"):].split("\n\n")[1].splitlines()
    assert table[0] == "| model | gsm8k accuracy | gsm8k format_rate |"
    assert table[2:] == ["| sft@checkpoint-100 | 0.300 [0.180, 0.450] | 0.500 |",
                         "| sft@checkpoint-200 | 0.600 [0.450, 0.740] | 0.750 |",
                         "| sft@checkpoint-1000 | 0.900 [0.770, 0.960] | 1.000 |",
                         "| base | 0.250 [0.140, 0.400] | 0.400 |"]
    lines = (out_csv / "sweep.csv").read_text().splitlines()
    assert lines[0] == "model,checkpoint,benchmark,metric,headline,value,ci_low,ci_high,n"
    assert lines[1] == "sft@checkpoint-100,/runs/sft@checkpoint-100,gsm8k,accuracy,True,0.3,0.18,0.45,40"
    page = out_html.read_text()
    start = page.index("<h2>Across the runs")
    assert page[start:page.index("<h2>", start + 4)].count("<svg") == 2  # one chart per metric


def test_two_reports_have_no_sweep_section(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    reports = [_report(tmp_path, "a", 0.5, [0.3, 0.7], 1.0), _report(tmp_path, "b", 0.6, [0.4, 0.8], 1.0)]
    assert main(["compare", *map(str, reports), "--csv", str(tmp_path / "c")]) == 0
    assert "Across the runs" not in capsys.readouterr().out
    assert not (tmp_path / "c" / "sweep.csv").exists()
