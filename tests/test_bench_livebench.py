"""LiveBench benchmark: a real session on the sample data, the release filter, and (fidelity
tier) the plugin on zft-community-8b-bs4's published answers against upstream's judgments."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import benchmarks.livebench as state
from bench.fidelity_livebench import MODEL, compare, plugin_args, prepare
from benchgate.data import DataSource
from benchgate.errors import ConfigError
from benchmarks.livebench.test_livebench import load_items
from graders.ifeval_util import PUNKT_HINT, punkt_available
from graders.livebench import CATEGORIES, aggregate_livebench
from tests.conftest import read_items, read_section

SAMPLE = Path(__file__).resolve().parents[1] / "benchmarks" / "livebench" / "sample"
SAMPLE_TASKS = {"math_comp", "olympiad", "AMPS_Hard", "web_of_lies_v2", "zebra_puzzle",
                "spatial", "cta", "tablejoin", "tablereformat", "paraphrase", "summarize"}
needs_punkt = pytest.mark.skipif(not punkt_available(), reason=PUNKT_HINT)


def section(path: Path, model: str = "sim") -> dict[str, Any]:
    return read_section(path, "livebench", model)


def items(path: Path, model: str = "sim") -> list[dict[str, Any]]:
    return read_items(path, "livebench", model)


def sample_questions() -> dict[str, dict[str, Any]]:
    return {q["question_id"]: q for f in sorted(SAMPLE.glob("*/*/question.jsonl"))
            for q in map(json.loads, f.read_text().splitlines())}


@needs_punkt
def test_sample_session_report_and_items(run_bench: Callable[..., pytest.RunResult],
                                         pytester: pytest.Pytester) -> None:
    result = run_bench("--model", "sim", "--data", "sample", benchmark="livebench")
    sec, rows, questions = section(pytester.path), items(pytester.path), sample_questions()
    outcomes = result.parseoutcomes()
    assert result.ret == 0 and sec["n"] == len(questions) == 14 and sec["errors"] == 0
    # the shipped sim baseline turns the sim's two wrong answers into known failures
    assert outcomes.get("passed", 0) + outcomes.get("xpassed", 0) == sec["passed"] == 12
    assert outcomes.get("xfailed", 0) == sec["failed"] == 2 and "failed" not in outcomes
    assert sec["metric"] == "score" and sec["metrics"] == {"score": sec["score"]}
    assert sorted(sec["run"]["data"]["files"]) == sorted(
        str(f.relative_to(SAMPLE)) for f in SAMPLE.glob("*/*/question.jsonl"))
    assert {r["id"] for r in rows} == set(questions)
    by_task: dict[str, list[float]] = defaultdict(list)
    for r in rows:
        q = questions[r["id"]]
        assert r["category"] == q["category"] == r["metrics"]["category"]
        assert r["metrics"]["task"] == q["task"]
        assert r["messages"] == [{"role": "user", "content": q["turns"][0]}]
        assert (r["outcome"] == "passed") == (r["score"] == 1.0)
        assert r["outcome"] in ("passed", "failed") and 0 <= r["score"] <= 1
        by_task[q["task"]].append(r["score"])
    # partial credit where the task gives it: the sim's wrong zebra and join answers
    assert sorted(r["score"] for r in rows if r["score"] < 1) == [pytest.approx(1 / 3), 0.67]
    assert set(sec["by_task"]) == set(by_task) == SAMPLE_TASKS
    for task, scores in by_task.items():
        assert sec["by_task"][task] == {"score": pytest.approx(statistics.fmean(scores)),
                                        "n": len(scores), "category": CATEGORIES[task]}
    assert set(sec["by_category"]) == {"math", "reasoning", "data_analysis",
                                       "instruction_following"}
    for category, values in sec["by_category"].items():
        assert values["tasks"] == sorted(t for t in by_task if CATEGORIES[t] == category)
        assert values["score"] == pytest.approx(
            statistics.fmean(sec["by_task"][t]["score"] for t in values["tasks"]))
    assert sec["score"] == pytest.approx(
        statistics.fmean(v["score"] for v in sec["by_category"].values()))
    assert sum(v["n"] for v in sec["by_category"].values()) == 14


def _copy_sample(root: Path, edits: dict[str, dict[str, str]]) -> Path:
    """The sample data under ``root/livebench`` with some questions' dates changed."""
    for f in SAMPLE.glob("*/*/question.jsonl"):
        rows = [json.loads(line) for line in f.read_text().splitlines()]
        target = root / "livebench" / f.relative_to(SAMPLE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(json.dumps({**r, **edits.get(r["task"], {})}) + "\n"
                                  for r in rows))
    return root


@pytest.mark.parametrize(("option", "excluded"), [
    (None, {"spatial"}),                        # removed questions are out by default
    ("2024-07-01", {"zebra_puzzle", "paraphrase", "summarize", "olympiad", "AMPS_Hard",
                    "spatial"}),
    ("2024-08-31", {"zebra_puzzle", "paraphrase", "summarize", "spatial"}),
    ("all", set()),
])
def test_release_filter_follows_upstream(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         option: str | None, excluded: set[str]) -> None:
    # spatial: released 2024-07-26, removed 2024-08-31; the 2024-11-25 release adds IF/zebra
    root = _copy_sample(tmp_path, {"spatial": {"livebench_removal_date": "2024-08-31"}})
    monkeypatch.setattr(state, "RELEASE", option)
    monkeypatch.setattr("benchmarks.livebench.test_livebench.punkt_available", lambda: True)
    got = {i.task for i in load_items(DataSource("livebench", "dir", root))}
    assert got == SAMPLE_TASKS - excluded


def test_bad_release_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(state.ENV, "last week")
    with pytest.raises(ConfigError, match="BENCHGATE_LIVEBENCH_RELEASE"):
        state.release()


@pytest.mark.fidelity
@needs_punkt
def test_published_answers_through_the_plugin(run_bench: Callable[..., pytest.RunResult],
                                              pytester: pytest.Pytester, data_dir: Path) -> None:
    # AMPS_Hard is left out: its symbolic checks alone take about two minutes here
    # (bench/fidelity_livebench.py runs all 13 tasks: 732/732 items agree, overall 0.292651)
    tasks = [t for t in CATEGORIES if t != "AMPS_Hard"]
    upstream = prepare(data_dir, pytester.path, tasks)
    run_bench(*plugin_args(pytester.path), benchmark="livebench")
    sec, rows = section(pytester.path, MODEL), items(pytester.path, MODEL)
    result = compare(rows, upstream)
    assert sec["n"] == len(rows) == sum(len(s) for s in upstream.values()) == 632
    assert sec["errors"] == result["errors"] == 0
    assert {t: r["diffs"] for t, r in result["tasks"].items() if r["diffs"]} == {}
    for task, row in result["tasks"].items():
        assert sec["by_task"][task]["score"] == pytest.approx(row["theirs"], abs=1e-9)
    assert sec["score"] == pytest.approx(result["upstream_overall"], abs=1e-9)
    theirs = aggregate_livebench([{"id": q, "task": t, "category": CATEGORIES[t], "score": s}
                                  for t, scores in upstream.items() for q, s in scores.items()])
    assert sec["by_category"] == {c: {**v, "score": pytest.approx(v["score"], abs=1e-9)}
                                  for c, v in theirs["by_category"].items()}
    assert sec["passed"] == sum(s == 1 for scores in upstream.values() for s in scores.values())


def test_html_target_without_a_table_scores_zero() -> None:
    # lxml finds no table; pandas' fallback parser (bs4 + html5lib) need not be installed
    from graders.livebench_table import score_tablereformat

    prompt = ("Please convert the Input Table from CSV format to HTML format. Please respond only "
              "with the table. \n Input Table: a,b\n1,2\n \n Output: \n")
    truth = "<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td>2</td></tr></table>"
    assert score_tablereformat(prompt, truth, truth)[0] == 1.0
    assert score_tablereformat(prompt, truth, "a,b\n1,2")[0] == 0.0
