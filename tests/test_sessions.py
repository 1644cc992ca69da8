"""Real pytest sessions (pytester subprocesses) against the real simulator over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SimServer, read_items, read_report

SAMPLE_N = 14
XDIST = [pytest.param([], id="no-xdist"), pytest.param(["-n", "2"], id="xdist-2")]


def report(path: Path, model: str = "sim") -> dict[str, Any]:
    return read_report(path, model)


def items(path: Path, model: str = "sim", bench: str = "gsm8k") -> list[dict[str, Any]]:
    return read_items(path, bench, model)


def verdicts(path: Path, model: str = "sim") -> dict[str, str]:
    return {r["id"]: r["outcome"] for r in items(path, model)}


@pytest.mark.parametrize("xdist", XDIST)
def test_sim_session_outcomes_report_and_exit(run_bench: Callable[..., pytest.RunResult],
                                              pytester: pytest.Pytester, xdist: list[str]) -> None:
    result = run_bench("--model", "sim", "--data", "sample", *xdist)
    data = report(pytester.path)
    section = data["benchmarks"]["gsm8k"]
    outcomes = result.parseoutcomes()
    assert section["n"] == SAMPLE_N and section["errors"] == 0
    assert outcomes.get("passed", 0) + outcomes.get("xpassed", 0) == section["passed"]
    # the repo's sim baseline turns the sim's known failures into xfail
    assert outcomes.get("xfailed", 0) == section["failed"] == SAMPLE_N - section["passed"] > 0
    assert "failed" not in outcomes
    assert section["score"] == pytest.approx(section["passed"] / SAMPLE_N)
    assert section["ci95"][0] < section["score"] < section["ci95"][1]
    assert section["metric"] == "accuracy" and "accuracy" in section["metrics"]
    assert section["run"]["data"]["source"] == "sample"
    assert len(section["run"]["data"]["files"]["test.jsonl"]) == 64
    assert data["model"]["served_model"] == "sim"
    assert section["latency_s"]["p50"] > 0 and section["usage"]["completion_tokens"] > 0
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*benchgate summary*", "gsm8k*14*accuracy*"])
    rows = items(pytester.path)
    assert [r["id"] for r in rows] == [str(i) for i in range(SAMPLE_N)]
    failed = next(r for r in rows if r["outcome"] == "failed")
    assert failed["expected"] != failed["extracted"] and failed["messages"][0]["role"] == "user"


def test_xdist_gives_identical_results_and_no_duplicate_calls(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester,
        sim_server: Callable[..., SimServer]) -> None:
    server = sim_server()
    common = ("--endpoint", server.url, "--model", "sim", "--data", "sample", "--no-cache")
    run_bench(*common)
    single = verdicts(pytester.path)
    assert server.stats()["completions"] == SAMPLE_N
    server.reset()
    run_bench(*common, "-n", "2")
    assert verdicts(pytester.path) == single
    assert server.stats()["completions"] == SAMPLE_N  # each item called once across workers


@pytest.mark.parametrize("xdist", XDIST)
def test_identical_rerun_makes_zero_calls(run_bench: Callable[..., pytest.RunResult],
                                          pytester: pytest.Pytester,
                                          sim_server: Callable[..., SimServer],
                                          xdist: list[str]) -> None:
    server = sim_server()
    args = ("--endpoint", server.url, "--model", "sim", "--data", "sample", *xdist)
    run_bench(*args)
    first = verdicts(pytester.path)
    assert server.stats()["completions"] == SAMPLE_N
    server.reset()
    run_bench(*args)
    assert server.stats()["requests"] == 0
    assert verdicts(pytester.path) == first
    assert all(r["cached"] for r in items(pytester.path))
    server.reset()
    run_bench(*args, "--refresh")
    assert server.stats()["completions"] == SAMPLE_N


def test_injected_faults_do_not_change_results(run_bench: Callable[..., pytest.RunResult],
                                               pytester: pytest.Pytester,
                                               sim_server: Callable[..., SimServer]) -> None:
    clean = sim_server()
    run_bench("--endpoint", clean.url, "--model", "sim", "--data", "sample", "--no-cache")
    expected = verdicts(pytester.path)
    flaky = sim_server("--fail-rate", "0.35")
    result = run_bench("--endpoint", flaky.url, "--model", "sim", "--data", "sample",
                       "--no-cache", "--max-retries", "12", "-n", "2")
    assert flaky.stats()["faults"] > 0
    assert verdicts(pytester.path) == expected
    assert report(pytester.path)["benchmarks"]["gsm8k"]["errors"] == 0
    result.assert_outcomes(passed=list(expected.values()).count("passed"),
                           xfailed=list(expected.values()).count("failed"))


def test_endpoint_failing_after_retries_is_an_error_not_a_failure(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester,
        sim_server: Callable[..., SimServer]) -> None:
    server = sim_server("--fail-rate", "1", "--faults", "500,drop")
    result = run_bench("--endpoint", server.url, "--model", "sim", "--data", "sample",
                       "--max-retries", "1", "--no-cache")
    result.assert_outcomes(errors=SAMPLE_N)
    section = report(pytester.path)["benchmarks"]["gsm8k"]
    assert (section["n"], section["errors"], section["failed"]) == (0, SAMPLE_N, 0)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*infrastructure error*after 2 attempt(s)*"])
    assert all(r["outcome"] == "error" for r in items(pytester.path))


def test_unreachable_endpoint_at_start_is_one_line_usage_error(
        run_bench: Callable[..., pytest.RunResult]) -> None:
    result = run_bench("--endpoint", "http://127.0.0.1:9/v1", "--model", "x", "--data", "sample")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*benchgate: x endpoint unreachable*connection failed*"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()
    # one line: no "Unclosed client session" noise from the probe's HTTP client after it
    assert [line for line in result.stderr.lines if line.strip()] == [result.stderr.lines[0]]


@pytest.mark.parametrize("threshold,ret,line", [
    ("gsm8k.accuracy=0.99", 1, "gate gsm8k.accuracy >= 0.99: FAILED, got 0.*(short by 0.*)"),
    ("gsm8k.accuracy=0.1", 0, "gate gsm8k.accuracy >= 0.1: ok*"),
])
def test_threshold_gates(run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester,
                         threshold: str, ret: int, line: str) -> None:
    result = run_bench("--model", "sim", "--data", "sample", "--threshold", threshold)
    result.stdout.fnmatch_lines([line])
    assert result.ret == ret  # the sim's failures are known (xfail) in its shipped baseline
    gate = report(pytester.path)["gates"][0]
    assert gate["key"] == threshold.split("=")[0]


@pytest.mark.parametrize("threshold,line", [
    ("gsm8k.nonsense=0.1", "*threshold gsm8k.nonsense: gsm8k has no metric 'nonsense' (valid: *"),
    ("nosuchbench.accuracy=0.5", "*--threshold nosuchbench.accuracy: no benchmark 'nosuchbench'*"),
])
def test_threshold_on_unknown_metric_or_benchmark_is_a_usage_error(
        run_bench: Callable[..., pytest.RunResult], sim_server: Callable[..., Any], threshold: str,
        line: str) -> None:
    """Refused before any call (the endpoint's request counter stays at 0), exit 4, one line."""
    server = sim_server()
    result = run_bench("--endpoint", server.url, "--model", "sim", "--data", "sample",
                       "--threshold", threshold)
    assert result.ret == 4
    result.stderr.fnmatch_lines([line])
    assert server.stats()["completions"] == 0
    assert "Traceback" not in result.stderr.str()


def test_gate_alone_decides_exit_status(run_bench: Callable[..., pytest.RunResult],
                                        pytester: pytest.Pytester) -> None:
    ok = run_bench("--model", "sim", "--data", "sample", "--sim-accuracy", "1",
                   "--threshold", "gsm8k.accuracy=0.9")
    assert ok.ret == 0
    bad = run_bench("--model", "sim", "--data", "sample", "--sim-accuracy", "1",
                    "--threshold", "gsm8k.accuracy=1.01")
    assert bad.ret == 1
    bad.stdout.fnmatch_lines(["*gate gsm8k.accuracy >= 1.01: FAILED, got 1.000 (short by 0.010)"])
    assert [g for g in report(pytester.path)["gates"] if g["key"] == "gsm8k.accuracy"] == [
        {"key": "gsm8k.accuracy", "min": 1.01, "value": 1.0, "ok": False}]


def test_responses_file_grades_without_calls(run_bench: Callable[..., pytest.RunResult],
                                             pytester: pytest.Pytester) -> None:
    rows = [{"id": "0", "response": "So 42 - 30 leaves 12.\n#### 12"},
            {"id": "1", "response": "The answer is 111."}]
    path = pytester.path / "outputs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = run_bench("--responses", str(path), "--model", "gpt-x", "--data", "sample",
                       "--limit", "3")
    result.assert_outcomes(passed=1, failed=1, errors=1)
    recs = {r["id"]: r for r in items(pytester.path, model="gpt-x")}
    assert recs["0"]["extracted"] == "12" and recs["1"]["extracted"] == "111"
    assert "no response for id '2'" in recs["2"]["error"]


def test_reasoning_is_kept_apart_and_never_graded(run_bench: Callable[..., pytest.RunResult],
                                                   pytester: pytest.Pytester,
                                                   sim_server: Callable[..., SimServer]) -> None:
    server = sim_server("--reasoning", "--accuracy", "1")
    result = run_bench("--endpoint", server.url, "--model", "fresh", "--data", "sample")
    result.assert_outcomes(passed=SAMPLE_N)
    rec = items(pytester.path, model="fresh")[0]
    assert rec["reasoning"].startswith("Simulated reasoning") and "Simulated" not in rec["response"]


def test_verbose_lines_show_got_and_expected_and_junit_has_properties(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester,
        sim_server: Callable[..., SimServer]) -> None:
    server = sim_server()  # a model without a baseline: failures stay failures
    result = run_bench("--endpoint", server.url, "--model", "fresh", "--data", "sample", "-v",
                       "--junitxml", "junit.xml")
    result.stdout.fnmatch_lines(['*test_gsm8k?0? PASSED (got "12")*'])
    result.stdout.fnmatch_lines(["*FAILED (gsm8k *: expected '*', got '*')*"])
    xml = (pytester.path / "junit.xml").read_text()
    assert xml.count("<testcase") == SAMPLE_N
    assert '<property name="expected" value="&quot;12&quot;"' in xml


def test_limit_sample_seed_and_limit_are_deterministic(
        run_bench: Callable[..., pytest.RunResult]) -> None:
    first = run_bench("--model", "sim", "--data", "sample", "--limit", "4", "--sample-seed", "7",
                      "--collect-only", "-q")
    second = run_bench("--model", "sim", "--data", "sample", "--limit", "4", "--sample-seed", "7",
                       "--collect-only", "-q")
    ids = [line for line in first.stdout.lines if "::test_gsm8k[" in line]
    assert len(ids) == 4 and ids == [ln for ln in second.stdout.lines if "::test_gsm8k[" in ln]
    plain = run_bench("--model", "sim", "--data", "sample", "--limit", "2", "--collect-only", "-q")
    assert [ln.rsplit("[", 1)[1] for ln in plain.stdout.lines if "::test_gsm8k[" in ln] == \
        ["0]", "1]"]


def test_regression_run_against_the_shipped_sim_baseline(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester) -> None:
    result = run_bench("--model", "sim", "--data", "sample", "--sim-accuracy", "0.4",
                       "--max-regression-p", "0.5", "-n", "2")
    result.stdout.fnmatch_lines(["*regression vs sim: gsm8k *: expected *, got *",
                                 "gsm8k vs baseline sim: 14 paired, fixed *, broken *, McNemar p=*",
                                 "gate gsm8k.regression: FAILED (broken * vs fixed *, p=*"])
    assert result.ret == 1
    cmp = report(pytester.path)["benchmarks"]["gsm8k"]["baseline"]
    outcomes = result.parseoutcomes()
    assert cmp["broken"] == outcomes["failed"] and cmp["fixed"] == outcomes.get("xpassed", 0)
    assert cmp["broken"] > cmp["fixed"] and cmp["mcnemar_p"] < 0.5


def test_snapshot_update_of_a_subset_keeps_the_rest(
        run_bench: Callable[..., pytest.RunResult], sim_server: Callable[..., SimServer]) -> None:
    from benchgate.baseline import snapshot_dir

    server = sim_server()
    model = "pytest-tmp-baseline"
    folder = snapshot_dir("gsm8k", model)
    try:
        common = ("--endpoint", server.url, "--model", model, "--data", "sample")
        run_bench(*common, "--snapshot-update", "-n", "2")
        assert len(list(folder.glob("*.json"))) == SAMPLE_N
        run_bench(*common, "--snapshot-update", "--limit", "3")
        run_bench(*common, "--snapshot-update", "-k", "test_gsm8k[1]")
        assert len(list(folder.glob("*.json"))) == SAMPLE_N
        rerun = run_bench(*common, "--limit", "5")
        assert "snapshots unused" not in rerun.stdout.str().lower()
        assert rerun.ret == 0
    finally:
        for path in folder.glob("*.json"):
            path.unlink()
        folder.rmdir()


def test_replicas_share_the_load(run_bench: Callable[..., pytest.RunResult],
                                 pytester: pytest.Pytester,
                                 sim_server: Callable[..., SimServer]) -> None:
    first, second = sim_server("--latency-ms", "50"), sim_server("--latency-ms", "50")
    (pytester.path / "models.yaml").write_text(
        f"models:\n  pair:\n    endpoints: [{first.url}, {second.url}]\n    model: sim\n"
        "    concurrency: 2\n")
    result = run_bench("--model", "pair", "--data", "sample", "--no-cache")
    assert result.ret in (0, 1)
    calls = (first.stats()["completions"], second.stats()["completions"])
    assert sum(calls) == SAMPLE_N and min(calls) >= 4, calls
    assert max(first.stats()["max_inflight"], second.stats()["max_inflight"]) <= 2
    endpoints = {r["endpoint"] for r in items(pytester.path, model="pair")}
    assert endpoints == {first.url, second.url}


def test_several_models_in_one_session(run_bench: Callable[..., pytest.RunResult],
                                       pytester: pytest.Pytester,
                                       sim_server: Callable[..., SimServer]) -> None:
    strong, weak = sim_server("--accuracy", "1"), sim_server("--accuracy", "0.3")
    (pytester.path / "models.yaml").write_text(
        f"models:\n  big: {{endpoint: '{strong.url}', model: sim}}\n"
        f"  small: {{endpoint: '{weak.url}', model: sim, thresholds: {{gsm8k.accuracy: 0.9}}}}\n")
    result = run_bench("--model", "big", "--model", "small", "--data", "sample", "-n", "2",
                       "-v")
    result.stdout.fnmatch_lines(["*PASSED*test_gsm8k?big-0? *"])
    assert "test_gsm8k[small-0]" in result.stdout.str()
    big, small = report(pytester.path, "big"), report(pytester.path, "small")
    assert big["benchmarks"]["gsm8k"]["score"] == 1.0
    assert small["benchmarks"]["gsm8k"]["score"] < 0.7
    assert big["gates"] == [] and small["gates"][0]["ok"] is False
    assert (strong.stats()["completions"], weak.stats()["completions"]) == (SAMPLE_N, SAMPLE_N)
    assert {r["model"] for r in items(pytester.path, "small")} == {"small"}
    result.stdout.fnmatch_lines(["model big:", "model small:", "gate gsm8k.accuracy >= 0.9: FAILED*"])
    assert result.ret == 1


def test_model_and_judge_fixtures_for_ad_hoc_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_adhoc='''
        def test_adhoc(model, judge):
            reply = model.chat([{"role": "user", "content": "hello there"}])
            assert "simulator" in reply.text and reply.usage["completion_tokens"] > 0
            again = model.chat([{"role": "user", "content": "hello there"}])
            assert again.cached and again.text == reply.text
            verdict = judge.chat([{"role": "user", "content": "Answer 'Rating: [[rating]]'."}])
            assert "[[" in verdict.text
    ''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--model", "sim")
    result.assert_outcomes(passed=1)
