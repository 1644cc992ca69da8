"""Judge panels, judge rate limits and judge hygiene: real sessions against the simulator."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scipy import stats

from tests.conftest import SimServer, read_items, read_section


def _cohen(a: list[bool], b: list[bool]) -> float:
    n = len(a)
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    chance = (sum(a) / n) * (sum(b) / n) + (1 - sum(a) / n) * (1 - sum(b) / n)
    return (observed - chance) / (1 - chance)


def test_two_sim_judges_score_every_item_under_xdist(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester) -> None:
    result = run_bench("--model", "sim", "--data", "sample", "--judge", "sim", "--judge",
                       "sim-strict", "--snapshot-dir", str(pytester.path / "snaps"), "-n", "2",
                       benchmark="mt_bench")
    sec, rows = read_section(pytester.path, "mt_bench"), read_items(pytester.path, "mt_bench")
    assert sec["errors"] == 0 and sec["n"] == len(rows) == 10
    # the model is asked once per turn, each judge once per turn
    result.stdout.fnmatch_lines(["calls: 60 made, 0 from cache"])
    assert list(sec["judges"]) == ["sim", "sim-strict"]
    lenient, strict = sec["judges"]["sim"]["score"], sec["judges"]["sim-strict"]["score"]
    assert strict < lenient and sec["score"] == pytest.approx((lenient + strict) / 2)
    for r in rows:
        own = r["judges"]
        assert r["score"] == pytest.approx((own["sim"]["score"] + own["sim-strict"]["score"]) / 2)
        assert own["sim-strict"]["score"] <= own["sim"]["score"]
        assert len(own["sim"]["verdicts"]) == 2 and len(r["judge"]["raw"]) == 4
        assert own["sim"]["passed"] == (own["sim"]["score"] >= 7)
    a = [r["judges"]["sim"]["score"] for r in rows]
    b = [r["judges"]["sim-strict"]["score"] for r in rows]
    agreement = sec["agreement"]
    assert agreement["n"] == 10 and agreement["pass_mark"] == 7
    assert agreement["pearson"]["sim vs sim-strict"] == pytest.approx(stats.pearsonr(a, b)[0])
    assert agreement["kappa"]["sim vs sim-strict"] == pytest.approx(
        _cohen([x >= 7 for x in a], [x >= 7 for x in b]))
    verdicts = [v for r in rows for j in r["judges"].values() for v in j["verdicts"]]
    assert sum(sec["judge_score_distribution"].values()) == len(verdicts) == 40
    assert [j["fingerprint"] for j in sec["run"]["judges"]] == [
        sec["run"]["judge"]["fingerprint"], sec["run"]["judges"][1]["fingerprint"]]
    assert len({j["fingerprint"] for j in sec["run"]["judges"]}) == 2


def test_models_file_panel_honours_rate_limit_and_concurrency(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester,
        sim_server: Callable[..., SimServer]) -> None:
    model, judges = sim_server(), sim_server("--latency-ms", "40")
    pytester.path.joinpath("models.yaml").write_text(f"""
models:
  m: {{endpoint: "{model.url}", model: sim}}
judges:
  a: {{endpoint: "{judges.url}", model: sim, rate_limit: 10, concurrency: 1}}
  b: {{endpoint: "{judges.url}", model: sim, rate_limit: 10, concurrency: 1,
      sampling: {{seed: 7}}}}
defaults: {{judges: [a, b]}}
""")
    run_bench("--model", "m", "--data", "sample", "--limit", "4", "--models-file",
              str(pytester.path / "models.yaml"), "--snapshot-dir", str(pytester.path / "s"),
              benchmark="mt_bench")
    sec, rows = read_section(pytester.path, "mt_bench", "m"), read_items(pytester.path, "mt_bench", "m")
    assert sec["errors"] == 0 and set(sec["judges"]) == {"a", "b"}
    seen = judges.stats()
    assert seen["completions"] == 16  # 4 items x 2 turns x 2 judges
    assert seen["max_inflight"] <= 2  # one in flight per judge
    # 8 requests per judge at 10 per second: at least 0.7 s between the first and the last
    assert seen["last_done"] - seen["first_request"] >= 0.7
    # another seed is another judge: somewhere the two disagree
    assert any(r["judges"]["a"]["score"] != r["judges"]["b"]["score"] for r in rows)


def test_position_biased_judge_gives_fifty_percent_and_no_consistency(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester) -> None:
    run_bench("--model", "sim", "--data", "sample", "--sim-judge", "position",
              "--snapshot-dir", str(pytester.path / "snaps"), benchmark="alpaca_eval")
    sec = read_section(pytester.path, "alpaca_eval")
    metrics = sec["metrics"]
    assert metrics["win_rate"] == pytest.approx(50.0)
    assert metrics["lc_win_rate"] == pytest.approx(50.0, abs=1e-6)
    assert metrics["judge_position_consistency"] == 0.0
    assert metrics["judge_length_preference"] is None  # no decided pair
    assert sec["n_draws"] == sec["n"] == 15
    assert sec["by_position"]["model_first"]["win_rate"] == 100.0
    assert sec["by_position"]["model_second"]["win_rate"] == 0.0


def _calls(result: pytest.RunResult) -> str:
    return next(line for line in result.outlines if line.startswith("calls:"))


@pytest.mark.slow
def test_another_judge_is_never_served_from_the_cache(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester) -> None:
    common = ("--model", "sim", "--data", "sample", "--limit", "5", "--cache-dir",
              str(pytester.path / "cache"), "--snapshot-dir", str(pytester.path / "snaps"))
    first = run_bench(*common, benchmark="alpaca_eval")
    fp = read_section(pytester.path, "alpaca_eval")["run"]["judge"]["fingerprint"]
    assert _calls(first) == "calls: 15 made, 0 from cache"
    swapped = run_bench(*common, "--sim-judge", "position", benchmark="alpaca_eval")
    assert _calls(swapped) == "calls: 10 made, 5 from cache"  # the model's answers only
    swapped.stdout.fnmatch_lines(["*alpaca_eval: replaced the previous section*"])
    assert read_section(pytester.path, "alpaca_eval")["run"]["judge"]["fingerprint"] != fp
    strict = run_bench(*common, "--judge", "sim-strict", benchmark="alpaca_eval")
    assert _calls(strict) == "calls: 10 made, 5 from cache"
    again = run_bench(*common, benchmark="alpaca_eval")
    assert _calls(again) == "calls: 0 made, 15 from cache"
    assert read_section(pytester.path, "alpaca_eval")["run"]["judge"]["fingerprint"] == fp


def test_one_order_asks_the_judge_once(run_bench: Callable[..., pytest.RunResult],
                                       pytester: pytest.Pytester) -> None:
    result = run_bench("--model", "sim", "--data", "sample", "--pairwise-orders", "one",
                       "--snapshot-dir", str(pytester.path / "snaps"), benchmark="alpaca_eval")
    assert _calls(result) == "calls: 30 made, 0 from cache"
    sec, rows = read_section(pytester.path, "alpaca_eval"), read_items(pytester.path, "alpaca_eval")
    assert sec["metrics"]["judge_position_consistency"] is None and sec["n_draws"] == 0
    assert {r["metrics"]["model_first"] for r in rows} == {True, False}
    assert all(isinstance(r["judge"]["raw"], str) for r in rows)


@pytest.mark.parametrize(("args", "message"), [
    (("--judge-endpoint", "http://127.0.0.1:9/v1", "--judge", "a", "--judge", "b"),
     "--judge-endpoint takes at most one --judge"),
    (("--judge", "sim", "--judge", "sim"), "--judge given twice for the same name"),
    (("--sim-judge", "lazy"), "invalid choice: 'lazy'"),
])
def test_bad_judge_options_are_one_line(pytester: pytest.Pytester, args: tuple[str, ...],
                                        message: str) -> None:
    from tests.conftest import REPO

    result = pytester.runpytest_subprocess(str(REPO / "benchmarks" / "mt_bench"), "-p",
                                           "no:cacheprovider", "--model", "sim", "--data",
                                           "sample", *args)
    assert result.ret == 4
    text = "\n".join(result.errlines + result.outlines)
    assert message in text and "Traceback" not in text


def write_models(path: Path, body: dict[str, Any]) -> Path:
    """A models file from a mapping (JSON is YAML)."""
    path.write_text(json.dumps(body))
    return path


def test_defaults_judges_may_name_simulated_judges(tmp_path: Path) -> None:
    from benchgate.config import load_models_file
    from benchgate.errors import ConfigError

    file = load_models_file(write_models(tmp_path / "m.yaml", {
        "models": {"m": {"endpoint": "http://127.0.0.1:8000/v1"}},
        "defaults": {"judges": ["sim", "sim-strict"]}}))
    assert file.default_judges == ["sim", "sim-strict"]
    with pytest.raises(ConfigError, match=r"defaults.judges\[1\]: unknown judge 'sim-lazy'"):
        load_models_file(write_models(tmp_path / "n.yaml", {
            "models": {"m": {"endpoint": "http://127.0.0.1:8000/v1"}},
            "defaults": {"judges": ["sim", "sim-lazy"]}}))
