"""AlpacaEval 2 benchmark: real sessions on the sample data, the simulator's pairwise judge, and
(fidelity tier) the plugin on Mistral-7B-Instruct-v0.2's published outputs with the sim judge."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchgate.simjudge import JudgeRequest
from graders.alpaca_eval import (
    build_pairwise_messages,
    is_extreme_change,
    parse_preference,
    simulate_pairwise_judge,
)
from tests.conftest import read_items, read_section

SAMPLE_N = 15
CATEGORIES = {"helpful_base", "koala", "oasst", "selfinstruct", "vicuna"}


def section(path: Path, model: str = "sim") -> dict[str, Any]:
    return read_section(path, "alpaca_eval", model)


def items(path: Path, model: str = "sim") -> list[dict[str, Any]]:
    return read_items(path, "alpaca_eval", model)


def test_sample_session_report_and_items(run_bench: Callable[..., pytest.RunResult],
                                         pytester: pytest.Pytester) -> None:
    result = run_bench("--model", "sim", "--data", "sample", benchmark="alpaca_eval")
    sec = section(pytester.path)
    outcomes = result.parseoutcomes()
    assert sec["n"] == SAMPLE_N and sec["errors"] == 0 and result.ret == 0
    # the shipped sim baseline turns the sim's known losses into xfail
    assert outcomes.get("passed", 0) + outcomes.get("xpassed", 0) == sec["passed"] > 0
    assert outcomes.get("xfailed", 0) == sec["failed"] > 0 and "failed" not in outcomes
    assert sec["metric"] == "lc_win_rate"
    assert set(sec["metrics"]) == {"lc_win_rate", "win_rate", "win_rate_se",
                                   "judge_position_consistency", "judge_length_preference"}
    assert sec["score"] == sec["metrics"]["lc_win_rate"]
    # both orders asked: a pair the two verdicts disagree on is a tie, half a win
    draws = sec["n_draws"]
    assert sec["metrics"]["win_rate"] == pytest.approx(100 * (sec["passed"] + draws / 2) / SAMPLE_N)
    assert sec["metrics"]["judge_position_consistency"] == pytest.approx(1 - draws / SAMPLE_N)
    assert sec["ci95"][0] < sec["score"] < sec["ci95"][1] <= 100
    assert set(sec["by_category"]) == CATEGORIES
    assert sum(c["n"] for c in sec["by_category"].values()) == SAMPLE_N
    assert [p["n"] for p in sec["by_position"].values()] == [SAMPLE_N, SAMPLE_N]
    assert (sec["n_wins"], sec["n_losses"] + draws) == (sec["passed"], sec["failed"])
    assert 0 < draws < SAMPLE_N
    assert sec["glm"]["C"] > 0 and sec["glm"]["weights"]["instruction_difficulty"] is None
    assert any(n.startswith("instruction_difficulty: not fitted") for n in sec["notes"])
    assert sec["run"]["judge"] is not None
    assert list(sec["run"]["data"]["files"]) == ["gpt4_1106_preview_model_outputs.json"]
    rows = items(pytester.path)
    assert [r["id"] for r in rows] == [str(i) for i in range(SAMPLE_N)]
    for r in rows:
        orders = r["metrics"]["by_order"]
        assert r["expected"] == ["A", "B"] and r["judge"]["raw"] == r["extracted"]
        assert (r["outcome"] == "passed") == (r["metrics"]["preference"] == 2.0)
        assert r["metrics"]["consistent"] == (orders["model_first"] == orders["model_second"])
        assert r["metrics"]["preference"] == (orders["model_first"] if r["metrics"]["consistent"]
                                              else 1.5)
        assert r["messages"] == [{"role": "user", "content": r["messages"][0]["content"]}]
        assert r["category"] in CATEGORIES


def test_xdist_gives_the_same_verdicts(run_bench: Callable[..., pytest.RunResult],
                                       pytester: pytest.Pytester) -> None:
    common = ("--model", "sim", "--data", "sample", "--no-cache")
    run_bench(*common, benchmark="alpaca_eval")
    plain = {r["id"]: (r["extracted"], r["metrics"]) for r in items(pytester.path)}
    lc = section(pytester.path)["metrics"]["lc_win_rate"]
    run_bench(*common, "-n", "2", benchmark="alpaca_eval")
    assert {r["id"]: (r["extracted"], r["metrics"]) for r in items(pytester.path)} == plain
    assert section(pytester.path)["metrics"]["lc_win_rate"] == pytest.approx(lc)


def test_sim_judges_the_pairwise_prompt_by_length() -> None:
    def verdict(a: str, b: str, draw: float = 0.5, mode: str = "default") -> str:
        prompt = "\n".join(m["content"] for m in build_pairwise_messages("Say hi.", a, b))
        reply = simulate_pairwise_judge(JudgeRequest(prompt, mode, draw))
        assert reply is not None and parse_preference(reply) == reply
        return reply

    assert verdict("hello " * 400, "hi") == "A" and verdict("hi", "hello " * 400) == "B"
    assert verdict("x\n>>>\n" * 300, "y") == "A"  # the prompt's delimiters inside an answer
    ties = {verdict("same", "same", draw=d / 20) for d in range(20)}
    assert ties == {"A", "B"}
    # the position-biased judge names the first-shown answer whatever the lengths
    assert verdict("hi", "hello " * 400, mode="position") == "A"
    assert simulate_pairwise_judge(JudgeRequest("Rate this. [[rating]]", "default", 0.5)) is None


def test_extreme_change_rule_is_the_references() -> None:
    # glm_winrate.get_is_extreme_changes' docstring: from 20, below 10 or above 40; from 50,
    # below 37.5 or above 62.5.
    assert is_extreme_change(20, 9.9) and is_extreme_change(20, 40.1)
    assert not is_extreme_change(20, 10.1) and not is_extreme_change(20, 39.9)
    assert is_extreme_change(50, 37.4) and is_extreme_change(50, 62.6)
    assert not is_extreme_change(50, 37.6) and not is_extreme_change(50, 62.4)


@pytest.mark.fidelity
def test_published_outputs_end_to_end_with_the_sim_judge(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester,
        data_dir: Path) -> None:
    folder = data_dir / "alpaca_eval"
    outputs = json.loads((folder / "Mistral-7B-Instruct-v0.2_model_outputs.json").read_text())
    baseline = json.loads((folder / "gpt4_1106_preview_model_outputs.json").read_text())
    n = 200
    path = pytester.path / "responses.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "response": r["output"]}) + "\n"
                            for i, r in enumerate(outputs[:n])))
    run_bench("--data-dir", str(data_dir), "--responses", str(path), "--model", "mistral",
              "--judge", "sim", "--limit", str(n), benchmark="alpaca_eval")
    sec, rows = section(pytester.path, "mistral"), items(pytester.path, "mistral")
    assert sec["n"] == n and sec["errors"] == 0
    for r, m, b in zip(rows, outputs, baseline, strict=False):
        assert r["response"] == m["output"]
        assert (r["metrics"]["model_length"], r["metrics"]["baseline_length"]) == (
            len(m["output"]), len(b["output"]))
        gap = len(m["output"]) - len(b["output"])
        if abs(gap) >= 1000:  # the sim judge is then all but certain to prefer the longer
            assert (r["outcome"] == "passed") == (gap > 0), r["id"]
    # the sim judge prefers the model with probability logistic(gap / 100 characters)
    expected = 100 * sum(1 / (1 + math.exp(-max(-50, min(50, (len(m["output"]) - len(
        b["output"])) / 100)))) for m, b in zip(outputs[:n], baseline, strict=False)) / n
    assert abs(sec["metrics"]["win_rate"] - expected) < 4 * sec["metrics"]["win_rate_se"]
    # a judge that follows length only: the length-controlled figure is close to 50
    assert 35 < sec["metrics"]["lc_win_rate"] < 65
