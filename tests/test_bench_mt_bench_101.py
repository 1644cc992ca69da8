"""MT-Bench-101 as a whole pytest session: report section, items file, --responses, data errors."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from statistics import fmean
from typing import Any

import pytest

from graders.mt_bench_101 import judged_answer, overall_interval

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "benchmarks" / "mt_bench_101" / "sample" / "mtbench101.jsonl"
TASKS = {"CM", "SI", "AR", "TS", "CC", "CR", "FR", "SC", "SA", "MR", "GR", "IC", "PI"}
SKIP_FIRST = {"FR", "CR", "AR", "SA", "SC", "CM"}
ABILITIES = {"Memory", "Understanding", "Interference", "Rephrasing", "Reflection", "Reasoning",
             "Questioning"}
Run = Callable[..., pytest.RunResult]


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def section(root: Path) -> dict[str, Any]:
    report = json.loads((root / "results" / "sim" / "report.json").read_text())
    result: dict[str, Any] = report["benchmarks"]["mt_bench_101"]
    return result


def golden(dialogues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The golden reply of every judged turn, as a --responses file's rows."""
    return [{"id": f"{d['task']}-{d['id']}",
             "responses": [t["bot"] for t in d["history"][1 if d["task"] in SKIP_FIRST else 0:]]}
            for d in dialogues]


def paper_scores(items: list[dict[str, Any]]) -> tuple[float, dict[str, float]]:
    """Dialogue = min over judged turns, task = mean, overall = mean over tasks."""
    per_task: dict[str, list[float]] = defaultdict(list)
    for rec in items:
        per_task[rec["category"]].append(min(rec["metrics"]["turn_ratings"]))
    tasks = {t: fmean(v) for t, v in per_task.items()}
    return fmean(tasks.values()), tasks


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_sample_session(run_bench: Run, pytester: pytest.Pytester, xdist: list[str]) -> None:
    result = run_bench("--model", "sim", "--data", "sample", *xdist, benchmark="mt_bench_101")
    sec = section(pytester.path)
    outcomes = result.parseoutcomes()
    assert sec["n"] == 14 and sec["errors"] == 0 and sec["metric"] == "score"
    assert outcomes.get("passed", 0) + outcomes.get("xpassed", 0) == sec["passed"] > 0
    assert outcomes.get("xfailed", 0) == sec["failed"] > 0  # the shipped sim baseline
    assert "failed" not in outcomes and result.ret == 0
    items = jsonl(pytester.path / "results" / "sim" / "mt_bench_101.items.jsonl")
    score, tasks = paper_scores(items)
    assert sec["score"] == pytest.approx(score) == sec["metrics"]["score"]
    assert 1.0 <= sec["ci95"][0] <= sec["score"] <= sec["ci95"][1] <= 10.0
    assert set(sec["by_category"]) == TASKS and sec["by_category"]["SI"]["n"] == 2
    assert {t: v["score"] for t, v in sec["by_category"].items()} == pytest.approx(tasks)
    assert set(sec["by_ability"]) == ABILITIES
    assert sec["by_ability"]["Understanding"]["tasks"] == ["AR", "SI"]
    assert sec["by_ability"]["Understanding"]["score"] == pytest.approx(
        (tasks["AR"] + tasks["SI"]) / 2)
    assert sum(a["n"] for a in sec["by_ability"].values()) == 14


def test_items_use_golden_history(run_bench: Run, pytester: pytest.Pytester) -> None:
    run_bench("--model", "sim", "--data", "sample", benchmark="mt_bench_101")
    items = {r["id"]: r for r in jsonl(pytester.path / "results" / "sim" /
                                       "mt_bench_101.items.jsonl")}
    dialogues = {f"{d['task']}-{d['id']}": d for d in jsonl(SAMPLE)}
    assert set(items) == set(dialogues)
    for item_id, rec in items.items():
        history = dialogues[item_id]["history"]
        first = 1 if rec["category"] in SKIP_FIRST else 0
        assert rec["metrics"]["turns"] == list(range(first + 1, len(history) + 1))
        assert len(rec["metrics"]["turn_ratings"]) == len(rec["metrics"]["turns"])
        assert rec["score"] == min(rec["metrics"]["turn_ratings"]) == rec["extracted"]
        golden_context = [m for t in history[:-1] for m in (
            {"role": "user", "content": t["user"]}, {"role": "assistant", "content": t["bot"]})]
        assert rec["messages"] == [*golden_context, {"role": "user", "content": history[-1]["user"]}]
    # CM-9001 turn 3 is asked with the golden turn-2 reply even when the model said otherwise
    assert "Oat and raisin cookies" in items["CM-9001"]["messages"][3]["content"]


def test_graded_from_responses(run_bench: Run, pytester: pytest.Pytester) -> None:
    rows = golden(jsonl(SAMPLE))
    rows[0]["responses"] = ["<think>scratch work</think>My own answer.", *rows[0]["responses"][1:]]
    path = pytester.path / "golden.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows[:-1]))  # last id missing
    result = run_bench("--model", "sim", "--judge", "sim", "--responses", str(path),
                       "--data", "sample", benchmark="mt_bench_101")
    sec = section(pytester.path)
    assert sec["errors"] == 1 and sec["n"] == 13 and result.ret != 0
    items = {r["id"]: r for r in jsonl(pytester.path / "results" / "sim" /
                                       "mt_bench_101.items.jsonl")}
    first = rows[0]["id"]
    assert items[first]["response"][0].startswith("<think>")
    assert items[rows[-1]["id"]]["outcome"] == "error"


def test_hub_source_asks_for_data_dir(run_bench: Run) -> None:
    result = run_bench("--model", "sim", benchmark="mt_bench_101")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*judge_prompts.json*no upstream URL*--data-dir*--data sample*"])


def test_judged_answer_and_interval() -> None:
    assert judged_answer("<think>a\nb</think>\n Final.") == "Final."
    assert judged_answer("No thinking.") == "No thinking."
    assert overall_interval([]) is None
    assert overall_interval([("CM", [5.0]), ("CM", [5.0, 9.0])]) == (5.0, 5.0)
    low, high = overall_interval([("CM", [2.0]), ("CM", [8.0]), ("SI", [6.0])]) or (0, 0)
    assert low < (5.0 + 6.0) / 2 < high and 1.0 <= low and high <= 10.0


@pytest.mark.fidelity
def test_full_dataset_through_the_pipeline(run_bench: Run, pytester: pytest.Pytester,
                                           data_dir: Path) -> None:
    """All 1,388 upstream dialogues: 3,615 judged turns as OpenCompass builds them, each asked
    with the golden history, and the report's score = get_final_results on the items."""
    dialogues = jsonl(data_dir / "mt_bench_101" / "mtbench101.jsonl")
    path = pytester.path / "golden.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in golden(dialogues)))
    run_bench("--model", "sim", "--judge", "sim", "--responses", str(path), "--data-dir",
              str(data_dir), benchmark="mt_bench_101")
    sec = section(pytester.path)
    assert (sec["n"], sec["errors"]) == (1388, 0)
    items = jsonl(pytester.path / "results" / "sim" / "mt_bench_101.items.jsonl")
    assert sum(len(r["metrics"]["turn_ratings"]) for r in items) == 3615
    by_id = {f"{d['task']}-{d['id']}": d["history"] for d in dialogues}
    for rec in items:
        history = by_id[rec["id"]]
        answers = rec["response"] if isinstance(rec["response"], list) else [rec["response"]]
        assert answers == [t["bot"] for t in history[len(history) - len(answers):]]
        assert rec["messages"][-1] == {"role": "user", "content": history[-1]["user"]}
        assert rec["messages"][-2] == {"role": "assistant", "content": history[-2]["bot"]}
    score, tasks = paper_scores(items)
    assert sec["score"] == pytest.approx(score, abs=1e-12)
    assert set(tasks) == TASKS
