"""AIME 2025 as whole pytest sessions: report section, items file, --responses, repeats, hub
mapping."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchgate.data import DataSource
from tests.conftest import read_section

Run = Callable[..., pytest.RunResult]
IDS = [f"2025-{part}-{i}" for part in ("I", "II") for i in range(1, 6)]


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def section(root: Path, model: str = "sim") -> dict[str, Any]:
    return read_section(root, "aime2025", model)


@pytest.mark.parametrize("xdist", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_sample_session(run_bench: Run, pytester: pytest.Pytester, xdist: list[str]) -> None:
    result = run_bench("--model", "sim", "--data", "sample", *xdist, benchmark="aime2025")
    sec = section(pytester.path)
    outcomes = result.parseoutcomes()
    assert sec["n"] == 10 and sec["errors"] == 0 and sec["metric"] == "accuracy"
    assert outcomes.get("passed", 0) + outcomes.get("xpassed", 0) == sec["passed"] > 0
    assert outcomes.get("xfailed", 0) == sec["failed"] > 0  # the shipped sim baseline
    assert "failed" not in outcomes and result.ret == 0
    assert sec["score"] == sec["metrics"]["accuracy"] == pytest.approx(sec["passed"] / 10)
    assert sec["metrics"]["boxed"] == 1.0
    assert {c: v["n"] for c, v in sec["by_category"].items()} == {"AIME 2025 I": 5,
                                                                   "AIME 2025 II": 5}
    rows = jsonl(pytester.path / "results" / "sim" / "aime2025.items.jsonl")
    assert [r["id"] for r in rows] == IDS and rows[0]["category"] == "AIME 2025 I"
    assert rows[0]["messages"][0]["content"].startswith(
        "Please reason step by step, and put your final answer within \\boxed{}.\n"
        "The answer is an integer between 0 and 999 inclusive.\n\nFind the number")
    assert all(isinstance(r["expected"], int) and isinstance(r["extracted"], int) for r in rows)


def test_responses_are_graded_boxed_first(run_bench: Run, pytester: pytest.Pytester) -> None:
    answers = {"2025-I-1": "Counting gives 33 + 20 - 6, so $47$.", "2025-I-2": "\\boxed{\\frac{1}{2}}",
               "2025-I-3": "\\boxed{267}"}
    path = pytester.path / "out.jsonl"
    path.write_text("".join(json.dumps({"id": k, "response": v}) + "\n" for k, v in answers.items()))
    result = run_bench("--responses", str(path), "--model", "m", "--data", "sample", "--limit", "3",
                       benchmark="aime2025")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*aime2025 2025-I-2: expected 108, got None (boxed answer*"])
    sec = section(pytester.path, "m")
    assert sec["metrics"] == {"accuracy": pytest.approx(2 / 3), "boxed": pytest.approx(2 / 3)}
    recs = jsonl(pytester.path / "results" / "m" / "aime2025.items.jsonl")
    assert [r["extracted"] for r in recs] == [47, None, 267]


def test_repeats_score_avg_at_k(run_bench: Run, pytester: pytest.Pytester) -> None:
    run_bench("--model", "sim", "--data", "sample", "--repeats", "4", "--no-cache",
              benchmark="aime2025")
    recs = jsonl(pytester.path / "results" / "sim" / "aime2025.items.jsonl")
    assert len(recs) == 40 and {r["repeat"] for r in recs} == {0, 1, 2, 3}
    per_item = [sum(r["score"] for r in recs if r["id"] == i) / 4 for i in IDS]
    sec = section(pytester.path)
    assert sec["metrics"]["accuracy"] == pytest.approx(sum(per_item) / 10)
    assert sec["passed"] == sum(p > 0.5 for p in per_item)


def test_hub_rows_map_to_contest_ids() -> None:
    from benchmarks.aime2025.test_aime2025 import load_items

    class FakeHub(DataSource):
        def rows(self, name: str, hub: Any = None) -> list[dict[str, Any]]:
            return [{"problem_idx": i, "problem": f"p{i}", "answer": i * 7,
                     "problem_type": ["Algebra"]} for i in (1, 15, 16, 30)]

    items = load_items(FakeHub("aime2025", "hub"))
    assert [(i.id, i.category, i.answer) for i in items] == [
        ("2025-I-1", "AIME 2025 I", 7), ("2025-I-15", "AIME 2025 I", 105),
        ("2025-II-1", "AIME 2025 II", 112), ("2025-II-15", "AIME 2025 II", 210)]
