"""Issue #9, bullets 7-9: every models-file setting is honoured, bad input is refused with one
line (exit 4, with and without -n) before any call, the exit status follows the gates, and a
response over the size cap is truncated and flagged. Real sessions, outside server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integrity_server import OutsideServer, items, section, suite, write_gsm8k

XDIST = [pytest.param([], id="serial"), pytest.param(["-n", "2"], id="xdist-2")]


def _models(path: Path, url: str, model: str = "", defaults: str = "") -> None:
    path.write_text(f"models:\n  m:\n    endpoint: {url}\n    model: outside\n{model}"
                    + (f"defaults:\n{defaults}" if defaults else ""))


@pytest.mark.slow
def test_per_model_max_retries_and_request_timeout(pytester: pytest.Pytester,
                                                   tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", 4)
    with OutsideServer(data, "--rate", "1", "--faults", "500") as server:
        _models(pytester.path / "models.yaml", server.url, "    max_retries: 0\n")
        suite(pytester, "--model", "m", "--data-dir", str(data)).assert_outcomes(errors=4)
        assert server.stats()["requests"] == 4  # one attempt each
        server.set(rate=0, latency_ms=5000, reset_stats=True)
        _models(pytester.path / "models.yaml", server.url,
                "    max_retries: 0\n    request_timeout: 0.5\n")
        start = time.monotonic()
        slow = suite(pytester, "--model", "m", "--data-dir", str(data), timeout=60)
        took = time.monotonic() - start
    slow.assert_outcomes(errors=4)
    assert took < 20, took
    assert all("timed out" in str(r["error"]) for r in items(pytester.path, "m"))


@pytest.mark.slow
def test_defaults_concurrency_and_sampling_are_sent(pytester: pytest.Pytester,
                                                    tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", 8)
    with OutsideServer(data, "--latency-ms", "150") as server:
        _models(pytester.path / "models.yaml", server.url,
                defaults="  concurrency: 2\n  sampling: {max_tokens: 77}\n")
        suite(pytester, "--model", "m", "--data-dir", str(data)).assert_outcomes(passed=8)
        stats = server.stats()
    assert stats["max_inflight"] == 2 and stats["max_tokens"] == ["77"], stats


@pytest.mark.slow
def test_thresholds_alone_decide_without_a_baseline(pytester: pytest.Pytester,
                                                    tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", 4)
    with OutsideServer(data, "--weights", "b") as server:  # every answer wrong
        args = ("--endpoint", server.url, "--model", "outside", "--data-dir", str(data))
        held = suite(pytester, *args, "--threshold", "gsm8k.accuracy=0")
        missed = suite(pytester, *args, "--threshold", "gsm8k.accuracy=0.5")
    held.assert_outcomes(failed=4)  # wrong answers are still reported per item
    assert held.ret == 0 and missed.ret == 1
    missed.stdout.fnmatch_lines(["*gate gsm8k.accuracy >= 0.5: FAILED*"])


def test_a_response_over_the_cap_is_truncated_and_flagged(pytester: pytest.Pytester,
                                                          tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", 3)
    with OutsideServer(data, "--mode", "pad:200000") as server:
        _models(pytester.path / "models.yaml", server.url, "    max_response_bytes: 4096\n")
        result = suite(pytester, "--model", "m", "--data-dir", str(data))
    result.assert_outcomes(passed=3)  # the answer is in the kept prefix
    rows = items(pytester.path, "m")
    assert all(r["truncated"] and len(r["response"]) <= 4096 for r in rows)
    assert section(pytester.path, "m")["truncated"] == 3
    result.stdout.fnmatch_lines(["3 response(s) truncated at the response-size cap*"])


@pytest.mark.slow
@pytest.mark.parametrize("xdist", XDIST)
def test_bad_thresholds_and_data_are_exit_4_before_any_call(
        pytester: pytest.Pytester, tmp_path: Path, xdist: list[str]) -> None:
    data = write_gsm8k(tmp_path / "data", 4)
    broken = write_gsm8k(tmp_path / "broken", 4)
    with (broken / "gsm8k" / "test.jsonl").open("a") as fh:
        fh.write('{"question": "no closing brace"\n')
    empty = tmp_path / "empty" / "gsm8k"
    empty.mkdir(parents=True)
    (empty / "test.jsonl").write_text("")
    cases = [(data, ["--threshold", "nosuchbench.accuracy=0.5"], "no benchmark 'nosuchbench'"),
             (data, ["--threshold", "gsm8k.nosuch=0.5"], "gsm8k has no metric 'nosuch'"),
             (broken, [], "test.jsonl: line 5: malformed JSON"), (empty.parent, [], "empty data file")]
    with OutsideServer(data) as server:
        for folder, extra, words in cases:
            result = suite(pytester, "--endpoint", server.url, "--model", "outside",
                           "--data-dir", str(folder), *extra, *xdist)
            assert result.ret == pytest.ExitCode.USAGE_ERROR, (words, result.stdout.lines[-5:])
            errors = [ln for ln in result.stderr.lines if ln.startswith("ERROR: ")]
            assert len(errors) == 1 and words in errors[0], (words, result.stderr.lines)
            assert "Traceback" not in result.stdout.str() + result.stderr.str()
        assert server.stats().get("requests", 0) == 0


@pytest.mark.parametrize(("rows", "words"), [
    ([{"id": "0", "response": "12"}, {"id": "0", "response": "13"}], "duplicate id '0'"),
    ([{"id": "0", "response": None}], "null"),
])
def test_bad_responses_files_are_one_line(pytester: pytest.Pytester, tmp_path: Path,
                                          rows: list[dict[str, object]], words: str) -> None:
    data = write_gsm8k(tmp_path / "data", 2)
    path = pytester.path / "out.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = suite(pytester, "--responses", str(path), "--model", "x", "--data-dir", str(data))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [ln for ln in result.stderr.lines if ln.startswith("ERROR: ")]
    assert len(errors) == 1 and words in errors[0], result.stderr.lines


def test_unknown_response_ids_are_one_warning_with_their_count(pytester: pytest.Pytester,
                                                                tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", 2)
    path = pytester.path / "out.jsonl"
    rows = [{"id": "0", "response": "The final answer is 3"}, {"id": "1", "response": "5"},
            {"id": "77", "response": "1"}, {"id": "78", "response": "1"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = suite(pytester, "--responses", str(path), "--model", "x", "--data-dir", str(data))
    result.assert_outcomes(passed=2)
    text = result.stdout.str() + result.stderr.str()
    assert text.count("2 id(s) not in gsm8k's dataset") == 1, text[-2000:]


@pytest.mark.parametrize(("text", "words"), [
    (b"models:\n  m: {endpoint: 'http://127.0.0.1:9/v1', revision: {a: 1}}\n", "revision"),
    (b"models:\n  m: {endpoint: 'http://127.0.0.1:9/v1', max_retries: lots}\n", "max_retries"),
    (b"models:\n  m: {endpoint: 'http://127.0.0.1:9/v1', request_timeout: -5}\n",
     "request_timeout"),
    (b"models:\n  m: {endpoint: 'http://127.0.0.1:9/v1', model: caf\xe9}\n", "UTF-8"),
])
def test_models_file_values_of_the_wrong_type_are_one_line(
        pytester: pytest.Pytester, tmp_path: Path, text: bytes, words: str) -> None:
    (pytester.path / "models.yaml").write_bytes(text)
    result = suite(pytester, "--model", "m", "--data-dir", str(write_gsm8k(tmp_path / "d", 1)))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [ln for ln in result.stderr.lines if ln.startswith("ERROR: ")]
    assert len(errors) == 1 and words in errors[0] and "unreachable" not in errors[0], errors
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


@pytest.mark.slow
def test_defaults_judge_serves_file_models_serially_and_under_xdist_never_sim(
        pytester: pytest.Pytester, sim_server: Any) -> None:
    model, judge = sim_server(), sim_server()
    (pytester.path / "models.yaml").write_text(
        f"models:\n  m: {{endpoint: {model.url}, model: sim}}\n"
        f"judges:\n  j: {{endpoint: {judge.url}, model: sim}}\ndefaults: {{judge: j}}\n")
    for xdist in ([], ["-n", "2"]):
        judge.reset()
        result = suite(pytester, "--model", "m", "--data", "sample", "--limit", "2", "--no-cache",
                       *xdist, benchmark="mt_bench")
        assert result.ret in (0, 1), (xdist, result.stdout.lines[-10:])
        assert judge.stats()["completions"] > 0, xdist
    judge.reset()
    offline = suite(pytester, "--model", "sim", "--data", "sample", "--limit", "2",
                    benchmark="mt_bench")
    assert offline.ret in (0, 1) and judge.stats()["requests"] == 0
