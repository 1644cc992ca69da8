"""HumanEval benchmark: real sessions on the sample data against the shipped sim baseline (with
and without xdist, and with ``--repeats 3`` for pass@1..pass@3), the sample problems and the
simulator's replies in the sandbox, the task coroutine's timeout and sandbox-error paths, data
loading, and (fidelity tier) the plugin on canonical, ``pass`` and upstream example samples."""

from __future__ import annotations

import asyncio
import gzip
import json
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from benchgate.data import DataSource
from benchgate.errors import ConfigError, DataError, InfraError
from benchgate.sandbox import ExecResult, run_many
from benchgate.task import Completion
from benchmarks.humaneval import test_humaneval as module
from graders.humaneval import assemble, build_program
from tests.conftest import read_items, read_section

REPO = Path(__file__).resolve().parents[1]
SAMPLE = [json.loads(line) for line in
          (REPO / "benchmarks" / "humaneval" / "sample" / "HumanEval.jsonl").read_text().splitlines()]


def section(path: Path, model: str = "sim") -> dict[str, Any]:
    return read_section(path, "humaneval", model)


def items(path: Path, model: str = "sim") -> list[dict[str, Any]]:
    return read_items(path, "humaneval", model)


def baseline() -> dict[str, dict[str, Any]]:
    """The shipped sim snapshot: item id (syrupy drops the slash) -> verdict."""
    folder = REPO / "snapshots" / "humaneval" / "sim"
    return {p.name.split("[", 1)[1].split("]", 1)[0]: json.loads(p.read_text())
            for p in folder.glob("test_humaneval[[]*].json")}


def check_session(result: pytest.RunResult, path: Path) -> None:
    """Report section and items of a sample session agree with each other and the baseline."""
    sec, rows, base = section(path), items(path), baseline()
    outcomes = result.parseoutcomes()
    assert result.ret == 0 and sec["n"] == len(SAMPLE) == len(base) and sec["errors"] == 0
    assert outcomes.get("passed", 0) == sec["passed"] == sum(v["passed"] for v in base.values())
    assert outcomes.get("xfailed", 0) == sec["failed"] > 0 and "failed" not in outcomes
    assert sec["metric"] == "pass@1" and list(sec["metrics"]) == ["pass@1"]
    assert sec["score"] == sec["metrics"]["pass@1"] == sec["passed"] / sec["n"]
    assert sec["executions"] == {"failed": sec["failed"], "passed": sec["passed"]}
    assert sec["by_category"] == {} and list(sec["run"]["data"]["files"]) == ["HumanEval.jsonl"]
    prompts = {r["task_id"]: r["prompt"] for r in SAMPLE}
    assert sorted(r["id"] for r in rows) == sorted(prompts)
    for r in rows:
        assert r["messages"][0]["content"].endswith(f"```python\n{prompts[r['id']]}```")
        verdict = base[r["id"].replace("/", "")]
        assert (r["outcome"] == "passed") == verdict["passed"] == (r["score"] == 1.0)
        assert r["extracted"] == verdict["extracted"] in ("passed", "failed (AssertionError)")
        assert r["metrics"]["status"] == r["outcome"] and r["expected"] == "pass"


def test_sample_session_report_and_items(run_bench: Callable[..., pytest.RunResult],
                                         pytester: pytest.Pytester) -> None:
    result = run_bench("--model", "sim", "--data", "sample", "--no-cache", benchmark="humaneval")
    check_session(result, pytester.path)
    result.stdout.fnmatch_lines(["*humaneval*10*pass@1*"])


def test_xdist_session_gives_the_baseline_verdicts(run_bench: Callable[..., pytest.RunResult],
                                                   pytester: pytest.Pytester) -> None:
    result = run_bench("--model", "sim", "--data", "sample", "--no-cache", "-n", "2",
                       benchmark="humaneval")
    check_session(result, pytester.path)


def test_repeats_give_unbiased_pass_at_k(run_bench: Callable[..., pytest.RunResult],
                                         pytester: pytest.Pytester) -> None:
    result = run_bench("--model", "sim", "--data", "sample", "--no-cache", "--repeats", "3",
                       "--baseline", "none", benchmark="humaneval")
    sec, rows = section(pytester.path), items(pytester.path)
    assert len(rows) == 30 and sec["n"] == 10 and sec["errors"] == 0
    right: dict[str, int] = defaultdict(int)
    for r in rows:
        right[r["id"]] += r["score"] == 1.0
    assert set(right.values()) - {0, 3}, "the sim's repeats should disagree somewhere"
    assert list(sec["metrics"]) == ["pass@1", "pass@2", "pass@3"]
    for k in (1, 2, 3):
        want = sum(1 - math.comb(3 - c, k) / math.comb(3, k) for c in right.values()) / 10
        assert sec["metrics"][f"pass@{k}"] == pytest.approx(want)
    majority = sum(c >= 2 for c in right.values())
    assert result.parseoutcomes().get("passed", 0) == sec["passed"] == majority
    assert sum(sec["executions"].values()) == 30
    result.stdout.fnmatch_lines(["*repeats passed)*"])


def write_responses(path: Path, answers: dict[str, str]) -> Path:
    """A ``--responses`` file: upstream samples ``{"task_id", "completion"}`` as rows."""
    path.write_text("".join(json.dumps({"id": k, "response": v}) + "\n"
                            for k, v in answers.items()))
    return path


def _run(programs: Sequence[str]) -> list[ExecResult]:
    return asyncio.run(run_many(programs, timeout_s=10.0))


def test_sample_problems_and_sim_replies_in_the_sandbox() -> None:
    canonical = [build_program(p["prompt"], p["canonical_solution"], p["test"], p["entry_point"])
                 for p in SAMPLE]
    problems = [module.Problem(id=p["task_id"], prompt=p["prompt"], test=p["test"],
                               canonical_solution=p["canonical_solution"],
                               entry_point=p["entry_point"]) for p in SAMPLE]
    replies = [next(iter(module.sim_key(p).values())) for p in problems]
    right = [assemble(r[0], p.prompt, p.test, p.entry_point) for r, p in zip(replies, problems, strict=True)]
    wrong = [assemble(r[1], p.prompt, p.test, p.entry_point) for r, p in zip(replies, problems, strict=True)]
    results = _run([*canonical, *right, *wrong])
    n = len(SAMPLE)
    assert 8 <= n <= 15 and [p["task_id"] for p in SAMPLE] == [f"HumanEval/{i}" for i in range(n)]
    assert [r.status for r in results] == ["passed"] * (2 * n) + ["failed"] * n


class FakeContext:
    repeat, item_id = 0, "HumanEval/0"

    def __init__(self, reply: str) -> None:
        self.reply = reply

    async def chat(self, messages: Sequence[dict[str, Any]], **params: Any) -> Completion:
        return Completion(text=self.reply, messages=tuple(messages))

    async def judge(self, messages: Sequence[dict[str, Any]], **params: Any) -> Completion:
        raise AssertionError("humaneval has no judge")


def _problem() -> Any:
    p = SAMPLE[3]
    return module.Problem(id=p["task_id"], prompt=p["prompt"], test=p["test"],
                          canonical_solution=p["canonical_solution"], entry_point=p["entry_point"])


def test_slow_programs_time_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(module.TIMEOUT_ENV, "1")
    done = asyncio.run(module.run(_problem(), FakeContext("    while True:\n        pass\n")))
    assert done.execution.status == "timeout" and done.execution.duration_s < 5
    assert module.outcome(done.execution) == "timeout (wall-clock limit exceeded)"
    assert [t.text for t in done.turns] == ["    while True:\n        pass\n"] and not done.judgments


def test_sandbox_failure_is_an_infrastructure_error(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(checks: Sequence[Any], **kwargs: Any) -> list[ExecResult]:
        return [ExecResult(False, "error", None, "", "", 0.0, "sandbox failure: no /tmp")]

    monkeypatch.setattr(module, "run_checks", broken)
    with pytest.raises(InfraError, match="no /tmp"):
        asyncio.run(module.run(_problem(), FakeContext("    return 0\n")))


@pytest.mark.parametrize("value", ["0", "-3", "ten"])
def test_bad_timeout_stops_loading(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(module.TIMEOUT_ENV, value)
    with pytest.raises(ConfigError, match=module.TIMEOUT_ENV):
        module.load_items(DataSource("humaneval", "sample"))


def test_gzipped_upstream_file_and_malformed_rows(tmp_path: Path) -> None:
    (tmp_path / "humaneval").mkdir()
    text = (REPO / "benchmarks" / "humaneval" / "sample" / "HumanEval.jsonl").read_bytes()
    (tmp_path / "humaneval" / "HumanEval.jsonl.gz").write_bytes(gzip.compress(text))
    source = DataSource("humaneval", "dir", root=tmp_path)
    assert [p.id for p in module.load_items(source)] == [p["task_id"] for p in SAMPLE]
    assert list(source.describe()["files"]) == ["HumanEval.jsonl.gz"]
    row = {k: v for k, v in SAMPLE[0].items() if k != "test"}
    (tmp_path / "humaneval" / "HumanEval.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match="missing 'test'"):
        module.load_items(DataSource("humaneval", "dir", root=tmp_path))


@pytest.mark.fidelity
@pytest.mark.parametrize(("name", "body", "want"), [
    ("canonical", None, 1.0), ("pass-body", "    pass\n", 0.0)])
def test_reference_completions_through_the_plugin(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester, data_dir: Path,
        name: str, body: str | None, want: float) -> None:
    problems = [json.loads(line) for line in
                (data_dir / "humaneval" / "HumanEval.jsonl").read_text().splitlines() if line]
    rows = write_responses(pytester.path / "responses.jsonl", {
        p["task_id"]: body or p["canonical_solution"] for p in problems})
    run_bench("--data-dir", str(data_dir), "--responses", str(rows), "--model", name,
              "--no-cache", benchmark="humaneval")
    sec = section(pytester.path, name)
    assert (sec["n"], sec["errors"], sec["metrics"]) == (164, 0, {"pass@1": want})
    assert sec["executions"] == {"passed" if want else "failed": 164}


@pytest.mark.fidelity
def test_upstream_example_samples_through_the_plugin(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester, data_dir: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Six samples of one problem: the problem is copied once per sample (``test/0#1``...),
    since ``--responses`` holds one sample per item (see bench/fidelity_humaneval.py)."""
    folder = data_dir / "humaneval"
    [problem] = [json.loads(line) for line in (folder / "example_problem.jsonl").open()]
    samples = [json.loads(line) for line in (folder / "example_samples.jsonl").open()]
    assert {s["task_id"] for s in samples} == {problem["task_id"]} and len(samples) == 6
    ids = [f"{problem['task_id']}#{j}" for j in range(1, len(samples) + 1)]
    (pytester.path / "example" / "humaneval").mkdir(parents=True)
    (pytester.path / "example" / "humaneval" / "HumanEval.jsonl").write_text("".join(
        json.dumps({**problem, "task_id": i}) + "\n" for i in ids))
    rows = write_responses(pytester.path / "responses.jsonl",
                           {i: s["completion"] for i, s in zip(ids, samples, strict=True)})
    root = pytester.path / "example"
    monkeypatch.setenv(module.TIMEOUT_ENV, "3")  # the reference's limit
    run_bench("--data-dir", str(root), "--responses", str(rows), "--model", "example",
              "--no-cache", benchmark="humaneval")
    sec = section(pytester.path, "example")
    # the reference README prints {'pass@1': 0.4999999999999999} for these six samples
    assert (sec["n"], sec["errors"], sec["metrics"]["pass@1"]) == (6, 0, 0.5)
    assert sec["executions"] == {"failed": 2, "passed": 3, "timeout": 1}
    ends = Counter(r["extracted"].split(" (")[0] for r in items(pytester.path, "example"))
    assert ends == Counter({"passed": 3, "failed": 2, "timeout": 1})
