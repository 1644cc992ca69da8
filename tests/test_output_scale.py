"""Terminal output at scale (issue #12): FAILURES and the short summary capped per benchmark,
one line pointing at the items file for the rest, and ``-v`` lines that say what went wrong."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

SAMPLE_N = 14
XDIST = [pytest.param([], id="no-xdist"), pytest.param(["-n", "2"], id="xdist-2")]
ALL_WRONG = ["--model", "sim", "--data", "sample", "--sim-accuracy", "0"]


def _entries(lines: list[str]) -> list[str]:
    """FAILURES section headers (``____ test_gsm8k[3] ____``)."""
    return [ln for ln in lines if re.fullmatch(r"_+ test_gsm8k\[\d+\] _+", ln)]


def _summary(lines: list[str]) -> list[str]:
    start = next(i for i, ln in enumerate(lines) if "short test summary info" in ln)
    return [ln for ln in lines[start + 1:] if ln.startswith("FAILED ")]


@pytest.mark.parametrize("xdist", XDIST)
def test_failures_and_short_summary_are_capped_with_one_line_for_the_rest(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester,
        xdist: list[str]) -> None:
    snaps = str(pytester.path / "snaps")  # no baseline: every wrong answer fails
    result = run_bench(*ALL_WRONG, "--snapshot-dir", snaps, "--max-failures-shown", "3", *xdist)
    result.assert_outcomes(failed=SAMPLE_N)
    lines = result.stdout.lines
    assert len(_entries(lines)) == 3
    summary = _summary(lines)
    assert len(summary) == 3 and all("::test_gsm8k[" in ln for ln in summary)
    more = [ln for ln in lines if ln.startswith("... and ")]
    assert more == [f"... and {SAMPLE_N - 3} more failed items: see results/sim/gsm8k.items.jsonl "
                    "(--max-failures-shown 0 lists all)"]
    rows = (pytester.path / "results" / "sim" / "gsm8k.items.jsonl").read_text().splitlines()
    assert sum(json.loads(r)["outcome"] == "failed" for r in rows) == SAMPLE_N


def test_zero_shows_every_failure_and_under_the_cap_nothing_is_hidden(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester) -> None:
    snaps = str(pytester.path / "snaps")
    every = run_bench(*ALL_WRONG, "--snapshot-dir", snaps, "--max-failures-shown", "0")
    assert len(_entries(every.stdout.lines)) == len(_summary(every.stdout.lines)) == SAMPLE_N
    assert not [ln for ln in every.stdout.lines if ln.startswith("... and ")]
    default = run_bench(*ALL_WRONG, "--snapshot-dir", snaps)  # 14 failures, default cap 20
    assert len(_entries(default.stdout.lines)) == SAMPLE_N
    assert not [ln for ln in default.stdout.lines if ln.startswith("... and ")]


def test_verbose_names_the_instructions_not_followed_and_empty_responses(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester) -> None:
    rows = [{"id": "101", "response": ""}]
    path = pytester.path / "outputs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    snaps = str(pytester.path / "snaps")
    ifeval = run_bench("--model", "sim", "--data", "sample", "--snapshot-dir", snaps, "-v",
                       "--sim-accuracy", "0", "--limit", "3", benchmark="ifeval")
    verbose = [ln for ln in ifeval.stdout.lines if " FAILED (" in ln]
    assert len(verbose) == 3
    assert all(re.search(r"FAILED \(ifeval \d+: not followed: [a-z_]+:[a-z_]+", ln)
               for ln in verbose), verbose
    assert not any("got [" in ln for ln in ifeval.stdout.lines)
    # the short summary is pytest's own "FAILED <nodeid> - <message>", not the -v word again
    summary = _summary(ifeval.stdout.lines)
    assert len(summary) == 3 and all(re.fullmatch(r"FAILED \S+::test_ifeval\[\d+\]( - .*)?", ln)
                                     for ln in summary), summary
    empty = run_bench("--responses", str(path), "--model", "outputs", "--data", "sample",
                      "--snapshot-dir", snaps, "-v", "-k", "101", benchmark="ifeval")
    empty.stdout.fnmatch_lines(["*test_ifeval?101? FAILED (ifeval 101: empty response, "
                                "finish_reason=None)*"])


def test_the_rest_points_at_the_tasks_own_items_file_not_the_folder(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester) -> None:
    # benchmarks/truthfulqa holds three tasks; each failure line names its task's items file
    snaps = str(pytester.path / "snaps")
    result = run_bench(*ALL_WRONG, "--snapshot-dir", snaps, "--max-failures-shown", "1",
                       benchmark="truthfulqa/test_truthfulqa_loglik.py")
    more = [ln for ln in result.stdout.lines if ln.startswith("... and ")]
    assert len(more) == 1 and "results/sim/truthfulqa_mc.items.jsonl" in more[0], more
    assert (pytester.path / "results" / "sim" / "truthfulqa_mc.items.jsonl").exists()


def test_errors_are_capped_like_failures(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester) -> None:
    # every call fails at the server: one ERROR block per item would bury the summary
    result = run_bench("--model", "sim", "--data", "sample", "--sim-fail-rate", "1",
                       "--max-retries", "0", "--max-failures-shown", "3",
                       "--snapshot-dir", str(pytester.path / "snaps"))
    result.assert_outcomes(errors=SAMPLE_N)
    lines = result.stdout.lines
    assert len([ln for ln in lines if re.fullmatch(r"_+ ERROR at setup of test_gsm8k\[\d+\] _+",
                                                   ln)]) == 3
    assert len([ln for ln in lines if ln.startswith("ERROR ") and "test_gsm8k[" in ln]) == 3
    assert [ln for ln in lines if ln.startswith("... and ")] == [
        f"... and {SAMPLE_N - 3} more errored items: see results/sim/gsm8k.items.jsonl "
        "(--max-failures-shown 0 lists all)"]
