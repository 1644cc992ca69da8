"""ARC-Challenge as whole pytest sessions: the sample set, labels 1-4 mapped to letters, the
strict letter reader, and a malformed answer key."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.conftest import read_items, read_section

Run = Callable[..., pytest.RunResult]


def test_sample_session(run_bench: Run, pytester: pytest.Pytester) -> None:
    result = run_bench("--model", "sim", "--data", "sample", benchmark="arc_challenge")
    sec = read_section(pytester.path, "arc_challenge")
    assert (sec["n"], sec["errors"], sec["metric"]) == (8, 0, "accuracy")
    assert 0 < sec["passed"] < 8 and sec["score"] == pytest.approx(sec["passed"] / 8)
    assert sec["metrics"]["unextracted"] == 0.0 and result.ret == 0  # the shipped sim baseline
    rows = read_items(pytester.path, "arc_challenge")
    assert [r["id"] for r in rows] == [f"ARCX_{i:04d}" for i in range(1, 9)]
    assert rows[2]["expected"] == "A" and rows[3]["expected"] == "C"  # labels "1" and "3"
    assert rows[5]["messages"][0]["content"].endswith(
        "A. a balance\nB. a thermometer\nC. a graduated cylinder\nD. a meter stick\n"
        "E. a spring scale\n\nAnswer:")


def test_responses_are_read_strictly(run_bench: Run, pytester: pytest.Pytester) -> None:
    answers = {"ARCX_0001": "I would go with C.", "ARCX_0002": "A lot of people say luster.",
               "ARCX_0003": "(A)", "ARCX_0004": "The correct option is 3."}
    path = pytester.path / "out.jsonl"
    path.write_text("".join(json.dumps({"id": k, "response": v}) + "\n" for k, v in answers.items()))
    result = run_bench("--responses", str(path), "--model", "m", "--data", "sample", "--limit",
                       "4", "--snapshot-dir", str(pytester.path / "snaps"), benchmark="arc_challenge")
    result.assert_outcomes(passed=2, failed=2)
    got = {r["id"]: r["extracted"] for r in read_items(pytester.path, "arc_challenge", "m")}
    assert got == {"ARCX_0001": "C", "ARCX_0002": None, "ARCX_0003": "A", "ARCX_0004": None}
    assert read_section(pytester.path, "arc_challenge", "m")["metrics"]["unextracted"] == 0.5


def test_answer_key_outside_the_labels_is_a_usage_error(run_bench: Run,
                                                        pytester: pytest.Pytester) -> None:
    folder = pytester.path / "data" / "arc_challenge"
    folder.mkdir(parents=True)
    row = {"id": "X1", "question": "q?", "choices": {"text": ["a", "b"], "label": ["1", "2"]},
           "answerKey": "C"}
    (folder / "test.jsonl").write_text(json.dumps(row) + "\n")
    result = run_bench("--model", "sim", "--data-dir", str(folder.parent), benchmark="arc_challenge")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*arc_challenge: X1: answerKey 'C' is not one of the labels*"])
