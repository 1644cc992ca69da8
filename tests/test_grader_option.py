"""``--grader regex|llm|cmd:COMMAND`` as whole pytest sessions: the simulator as the judge that
extracts answers, a grading command written here, the report's ``run`` block and run key,
infrastructure errors of extractors, and usage errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import read_items, read_section

Run = Callable[..., pytest.RunResult]
# A model that writes markdown "####" step headings: GSM8K's regex reads the number after the
# first "####" (2), an extractor reads the stated final answer.
RESPONSES = {
    "0": "#### 2. Add the batches\n24 + 18 = 42 muffins, 42 - 30 left.\nThe final answer is 12",
    "1": "The final answer is 110",
    "2": "I am not sure how to finish this one.",
}
GRADE_PY = """\
import json, sys
req = json.loads(sys.stdin.read())
got = req["response"].split()[-1]
print(json.dumps({"passed": got == str(req["expected"]), "extracted": got, "score": 0.5}))
"""


def write_responses(root: Path) -> Path:
    path = root / "out.jsonl"
    path.write_text("".join(json.dumps({"id": k, "response": v}) + "\n"
                            for k, v in RESPONSES.items()))
    return path


def graded(root: Path, model: str = "m") -> dict[str, tuple[str, object]]:
    return {r["id"]: (r["outcome"], r["extracted"]) for r in read_items(root, "gsm8k", model)}


@pytest.mark.slow
def test_llm_grader_extracts_with_the_judge_and_is_cached(run_bench: Run,
                                                          pytester: pytest.Pytester) -> None:
    out = write_responses(pytester.path)
    base = ("--responses", str(out), "--model", "m", "--data", "sample", "--limit", "3",
            "--snapshot-dir", str(pytester.path / "snaps"))
    regex = run_bench(*base)
    assert graded(pytester.path) == {"0": ("failed", "2"), "1": ("passed", "110"),
                                     "2": ("failed", None)}
    assert read_section(pytester.path, "gsm8k", "m")["run"]["grader"] == "regex"

    llm = run_bench(*base, "--grader", "llm", "--judge", "sim")
    assert llm.ret == 1, llm.stdout.str()
    assert graded(pytester.path) == {"0": ("passed", "12"), "1": ("passed", "110"),
                                     "2": ("failed", None)}
    sec = read_section(pytester.path, "gsm8k", "m")
    assert sec["run"]["grader"] == "llm" and sec["run"]["judge"]["name"] == "sim"
    assert sec["cache"] == {"hits": 3, "calls": 3} and (sec["passed"], sec["n"]) == (2, 3)
    rows = {r["id"]: r for r in read_items(pytester.path, "gsm8k", "m")}
    assert json.loads(rows["0"]["judge"]["raw"]) == {"answer": "12"}
    assert json.loads(rows["2"]["judge"]["raw"]) == {"answer": None}
    llm.stdout.fnmatch_lines(["*gsm8k: replaced the previous section*grader*"])

    again = run_bench(*base, "--grader", "llm", "--judge", "sim", "-n", "2")
    assert read_section(pytester.path, "gsm8k", "m")["cache"] == {"hits": 6, "calls": 0}
    assert graded(pytester.path)["0"] == ("passed", "12")
    again.stdout.fnmatch_lines(["*calls: 0 made, 6 from cache*"])
    assert regex.ret == 1


def test_llm_grader_judge_down_is_an_error_not_a_failure(run_bench: Run,
                                                         pytester: pytest.Pytester,
                                                         sim_server: Callable[..., object]) -> None:
    judge = sim_server("--fail-rate", "1", "--faults", "500")
    out = write_responses(pytester.path)
    result = run_bench("--responses", str(out), "--model", "m", "--data", "sample", "--limit",
                       "3", "--grader", "llm", "--judge-endpoint", judge.url,  # type: ignore[attr-defined]
                       "--max-retries", "0", "--snapshot-dir", str(pytester.path / "snaps"))
    sec = read_section(pytester.path, "gsm8k", "m")
    assert (sec["errors"], sec["failed"], sec["n"]) == (3, 0, 0) and result.ret == 1
    result.assert_outcomes(errors=3)


def test_cmd_grader_takes_the_commands_verdict(run_bench: Run, pytester: pytest.Pytester) -> None:
    script = pytester.path / "grade.py"
    script.write_text(GRADE_PY)
    out = write_responses(pytester.path)
    result = run_bench("--responses", str(out), "--model", "m", "--data", "sample", "--limit",
                       "3", f"--grader=cmd:{sys.executable} {script}", "-n", "2",
                       "--snapshot-dir", str(pytester.path / "snaps"))
    assert graded(pytester.path) == {"0": ("passed", "12"), "1": ("passed", "110"),
                                     "2": ("failed", "one.")}
    sec = read_section(pytester.path, "gsm8k", "m")
    assert sec["run"]["grader"] == f"cmd:{sys.executable} {script}"
    assert sec["score"] == pytest.approx(0.5) and sec["passed"] == 2
    assert [r["expected"] for r in read_items(pytester.path, "gsm8k", "m")] == ["12", "110", "6"]
    assert result.ret == 1


BROKEN_PY = """\
import json, sys
req = json.loads(sys.stdin.read())
if req["id"] == "0":
    sys.exit("grader crashed")
print("no json here" if req["id"] == "1" else json.dumps({"extracted": "1"}))
"""


def test_cmd_grader_failures_are_errors(run_bench: Run, pytester: pytest.Pytester) -> None:
    script = pytester.path / "broken.py"
    script.write_text(BROKEN_PY)
    out = write_responses(pytester.path)
    result = run_bench("--responses", str(out), "--model", "m", "--data", "sample", "--limit",
                       "3", f"--grader=cmd:{sys.executable} {script}",
                       "--snapshot-dir", str(pytester.path / "snaps"))
    result.assert_outcomes(errors=3)
    result.stdout.fnmatch_lines(["*exited with status 1 on item 0: grader crashed*"])
    result.stdout.fnmatch_lines(["*stdout is not JSON: 'no json here'*"])
    result.stdout.fnmatch_lines(["*needs a JSON object with a boolean \"passed\"*"])
    assert "Traceback" not in result.stdout.str()
    sec = read_section(pytester.path, "gsm8k", "m")
    assert (sec["errors"], sec["failed"], sec["n"]) == (3, 0, 0)


@pytest.mark.parametrize("args,message", [
    (("--grader", "llm"), "*--grader llm: mt_bench is not extractive; --grader works with "
     "aime2025, arc_challenge, gsm8k, mmlu_pro, truthfulqa*"),
    (("--grader", "regexp"), "*--grader 'regexp': use regex, llm or cmd:COMMAND*"),
])
def test_grader_usage_errors(run_bench: Run, args: tuple[str, ...], message: str) -> None:
    result = run_bench("--model", "sim", "--data", "sample", *args, benchmark="mt_bench")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


def test_llm_grader_needs_a_judge(run_bench: Run, pytester: pytest.Pytester) -> None:
    out = write_responses(pytester.path)
    result = run_bench("--responses", str(out), "--model", "m", "--data", "sample",
                       "--grader", "llm")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--grader llm reads answers with the judge: pass --judge*"])
