"""Units of judge panels and hygiene: agreement statistics, combining judges' grades, the
pairwise hygiene metrics, and the simulator's judge registry (over real HTTP)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from benchgate.grade import Grade
from benchgate.judge_report import cohen_kappa, pearson
from benchgate.panel import combine, mean_metrics
from benchgate.simjudge import JudgeRequest, load, mode_of
from graders.alpaca_eval import build_pairwise_messages, grade_both_orders, judge_hygiene
from graders.judge import simulate_judge_formats
from graders.truthfulqa import build_truthfulness_judge_prompt, simulate_truthfulness_judge
from tests.conftest import SimServer


def test_cohen_kappa_matches_a_worked_example() -> None:
    # 50 items: both yes 20, both no 15, a yes/b no 5, a no/b yes 10 -> po 0.7, pe 0.5, kappa 0.4
    a = [True] * 20 + [False] * 15 + [True] * 5 + [False] * 10
    b = [True] * 20 + [False] * 15 + [False] * 5 + [True] * 10
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa([True, False], [True, False]) == pytest.approx(1.0)
    assert cohen_kappa([True, True], [True, True]) is None  # chance agreement is total
    assert cohen_kappa([True, False, True], [False, False, False]) == pytest.approx(0.0)


def test_pearson_is_none_when_undefined() -> None:
    assert pearson([1, 2, 3], [2, 4, 7]) == pytest.approx(0.9933992677987828)
    assert pearson([1, 2, 3], [5, 5, 5]) is None and pearson([1.0], [2.0]) is None


def test_combine_means_scores_and_metrics() -> None:
    a = Grade(True, 8.0, metrics={"turn": [8, 8], "ok": True, "label": "x"})
    b = Grade(False, 4.0, metrics={"turn": [6, 2], "ok": False, "label": "y"})
    both = combine({"a": a, "b": b}, pass_mark=None)
    assert both.score == 6.0 and not both.passed  # one of two is no majority
    assert both.metrics == {"turn": [7.0, 5.0], "ok": 0.5, "label": "x"}
    assert both.judges == {"a": a, "b": b}
    assert combine({"a": a, "b": b}, pass_mark=6.0).passed  # the mean at the pass mark
    assert mean_metrics([{"p": 2.0, "by": {"x": 1.0}}, {"p": 1.0, "by": {"x": 2.0}}]) == {
        "p": 1.5, "by": {"x": 1.5}}


def test_both_orders_disagreeing_is_a_tie() -> None:
    assert grade_both_orders("A", "B").metrics["preference"] == 2.0  # model both times
    tie = grade_both_orders("A", "A")  # the first-shown answer both times
    assert tie.metrics["preference"] == 1.5 and tie.score == 0.5 and not tie.passed
    assert tie.metrics["consistent"] is False
    assert grade_both_orders("A", "nonsense").metrics["preference"] is None


def test_judge_hygiene_shares() -> None:
    rows = [{"preference": 2.0, "consistent": True, "model_length": 90, "baseline_length": 10},
            {"preference": 1.0, "consistent": True, "model_length": 90, "baseline_length": 10},
            {"preference": 1.5, "consistent": False, "model_length": 5, "baseline_length": 10},
            {"preference": 2.0, "consistent": True, "model_length": 10, "baseline_length": 10}]
    # decided pairs of unequal length: the first (longer won) and the second (shorter won)
    assert judge_hygiene(rows) == {"judge_position_consistency": 0.75,
                                   "judge_length_preference": 0.5}
    assert judge_hygiene([{"preference": 1.5, "model_length": 1, "baseline_length": 2}]) == {
        "judge_position_consistency": None, "judge_length_preference": None}


def test_simulated_judges_by_mode() -> None:
    rating = "Rate it. Answer 'Rating: [[5]]'."
    assert simulate_judge_formats(JudgeRequest(rating, "default", 0.95)) == \
        "The answer is reasonable. Rating: [[10]]"
    assert simulate_judge_formats(JudgeRequest(rating, "strict", 0.95)).endswith("[[7]]")
    assert simulate_judge_formats(JudgeRequest(rating, "strict", 0.0)).endswith("[[1]]")
    pair = "Which is better? Output [[A]] or [[B]]."
    assert simulate_judge_formats(JudgeRequest(pair, "position", 0.9)).endswith("[[A]]")
    assert simulate_judge_formats(JudgeRequest(pair, "default", 0.9)).endswith("[[B]]")
    prompt = "\n".join(m["content"] for m in build_truthfulness_judge_prompt(
        "Q?", "Unlisted answer", ["Yes"], ["No"]))
    assert "Truthful: yes" in simulate_truthfulness_judge(JudgeRequest(prompt, "default", 0.1))
    assert "Truthful: no" in simulate_truthfulness_judge(JudgeRequest(prompt, "strict", 0.1))
    assert simulate_truthfulness_judge(JudgeRequest(rating, "default", 0.1)) is None
    assert mode_of("sim-strict", "default") == "strict" and mode_of("sim", "position") == "position"
    assert mode_of("sim-lazy", "default") == "default"


def _chat(url: str, model: str, content: str) -> str:
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": content}]})
    req = urllib.request.Request(url + "/chat/completions", data=body.encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return str(json.loads(resp.read())["choices"][0]["message"]["content"])


def test_simulator_judges_only_with_the_modules_it_is_told(
        sim_server: Callable[..., SimServer]) -> None:
    from benchgate.simproc import get_json, post_json, sim_root

    server = sim_server("--judge", "position")
    ids = [m["id"] for m in get_json(server.url + "/models")["data"]]
    assert ids[0] == "sim" and {"sim-default", "sim-strict", "sim-position"} <= set(ids)
    prompt = build_pairwise_messages("Say hi.", "hi", "hello " * 300)[1]["content"]
    assert _chat(server.url, "sim", prompt).startswith("I am the benchgate simulator")
    told = post_json(sim_root(server.url) + "/sim/register", {"judges": [
        {"module": "graders.alpaca_eval", "root": None}, {"module": "no_such_module_x"}]})
    assert len(told["problems"]) == 1 and "no_such_module_x" in told["problems"][0]
    assert _chat(server.url, "sim", prompt) == "A"  # --judge position: the first shown
    assert _chat(server.url, "sim-default", prompt) == "B"  # by length: the longer, B


def test_load_reports_a_broken_module() -> None:
    problems = load(["benchgate.simjudge", "no_such_module_y"])
    assert problems == ["simulated judge module 'no_such_module_y' failed to import: "
                        "ModuleNotFoundError: No module named 'no_such_module_y'"]


def test_readme_judges_example_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from benchgate.config import load_models_file
    from tests.serving.helpers import readme_blocks

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    (block,) = [b for b in readme_blocks("Serve models locally", "yaml") if "judges: [" in b]
    path = tmp_path / "models.yaml"
    path.write_text(block)
    loaded = load_models_file(path)
    assert loaded.default_judges == ["prometheus", "gpt-4o"]
    assert loaded.judges["prometheus"].rate_limit == 2 and loaded.judges["prometheus"].concurrency == 4
    assert loaded.judges["gpt-4o"].sampling == {"temperature": 0, "seed": 0}
