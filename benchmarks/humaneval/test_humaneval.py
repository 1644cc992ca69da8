"""HumanEval: 164 hand-written Python problems checked by unit tests (Chen et al. 2021,
"Evaluating Large Language Models Trained on Code", arXiv:2107.03374).

Reference: openai/human-eval (``human_eval/execution.py`` runs ``prompt + completion + test +
check(entry_point)``; ``human_eval/evaluation.py`` has the unbiased pass@k estimator).
Data: ``openai/openai_humaneval`` (test split) at a pinned revision, the same rows as upstream
``data/HumanEval.jsonl.gz`` (``--data-dir``: ``DIR/humaneval/HumanEval.jsonl``, or the ``.gz``).
Item ids are ``task_id`` (``test_humaneval[HumanEval/0]``).

The reference feeds the raw prompt to a completion model. Chat models get the prompt in a fenced
block with an instruction to reply with the whole function in one ``python`` block; the
reply becomes a completion with :func:`graders.humaneval.extract_code` and runs in
:mod:`benchgate.sandbox` inside the task coroutine, so execution overlaps other items' calls
(at most one program per CPU core per process). Time limit per program: 10 s (the reference
uses 3 s), or ``BENCHGATE_HUMANEVAL_TIMEOUT`` seconds. A sandbox failure is an item error.

``--repeats K`` runs K samples per problem: ``pass@k`` for every k <= K (unbiased estimator,
mean over problems); headline ``pass@1``. An item passes when most of its samples pass.
``--responses`` gives one sample per problem.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import weakref
from collections import Counter
from dataclasses import dataclass
from typing import Any

from benchgate import Completion, Grade, Task, Verdict
from benchgate.aggregate import by_item
from benchgate.data import DataSource, Hub
from benchgate.errors import ConfigError, DataError, InfraError
from benchgate.sandbox import ExecResult, require, run_checks
from benchgate.task import Context
from graders.humaneval import build_check, extract_code, pass_at_k

HUB = Hub(repo="openai/openai_humaneval", split="test",
          revision="7dce6050a7d6d172f3cc5c32aa97f52fa1a2e544")
PROMPT = ("Complete the following Python function. Reply with the complete function, including "
          "its signature and the imports it needs, in a single ```python code block.\n\n"
          "```python\n{prompt}```")
TIMEOUT_ENV, DEFAULT_TIMEOUT_S = "BENCHGATE_HUMANEVAL_TIMEOUT", 10.0


@dataclass(frozen=True)
class Problem:
    """One HumanEval problem, fields as upstream."""

    id: str
    prompt: str
    canonical_solution: str
    test: str
    entry_point: str


@dataclass(frozen=True)
class Executed:
    """One sample: the model's reply, the completion taken from it, and how the program ran."""

    turns: list[Completion]
    judgments: list[Completion]
    completion: str
    execution: ExecResult


def timeout_s() -> float:
    """Per-program time limit: ``BENCHGATE_HUMANEVAL_TIMEOUT`` or 10 s. Also stops the run
    (one-line :class:`benchgate.sandbox.SandboxUnavailable`) when the kernel sandbox is
    unavailable and ``--unsafe-no-sandbox`` was not given."""
    require()
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        value = -1.0
    if not value > 0:
        raise ConfigError(f"{TIMEOUT_ENV}={raw!r}: expected a positive number of seconds")
    return value


def load_items(data: DataSource) -> list[Problem]:
    """All problems, ids = ``task_id``."""
    timeout_s()  # a bad limit stops the run at collection
    name = "HumanEval.jsonl"
    if data.kind == "dir" and not data.path(name).exists() and data.path(name + ".gz").exists():
        name += ".gz"
    try:
        return [Problem(id=str(r["task_id"]), prompt=r["prompt"],
                        canonical_solution=r["canonical_solution"], test=r["test"],
                        entry_point=r["entry_point"]) for r in data.rows(name, hub=HUB)]
    except (KeyError, TypeError) as exc:
        raise DataError(f"humaneval: malformed row in {name} (missing {exc})") from None


def build_messages(item: Problem) -> list[dict[str, str]]:
    """The instruction and the prompt in a fenced block."""
    prompt = item.prompt if item.prompt.endswith("\n") else item.prompt + "\n"
    return [{"role": "user", "content": PROMPT.format(prompt=prompt)}]


def sim_key(item: Problem) -> dict[str, list[str]]:
    """Simulator: the canonical function, or the function with body ``return None``."""
    right = f"```python\n{item.prompt}{item.canonical_solution.rstrip()}\n```"
    wrong = f"```python\n{item.prompt}    return None\n```"
    return {build_messages(item)[0]["content"]: [right, wrong]}


_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = \
    weakref.WeakKeyDictionary()


def _slots() -> asyncio.Semaphore:
    """Programs in flight on this loop: the cores this process may use (split across xdist
    workers), however many items the scheduler has started."""
    loop = asyncio.get_running_loop()
    if loop not in _SLOTS:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
            os.cpu_count() or 1
        workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1)
        _SLOTS[loop] = asyncio.Semaphore(max(1, cores // max(1, workers)))
    return _SLOTS[loop]


async def run(item: Problem, ctx: Context) -> Executed:
    """Ask for the function, then run prompt + completion + tests in the sandbox."""
    reply = await ctx.chat(build_messages(item))
    completion = extract_code(reply.text, item.prompt, item.entry_point)
    check = build_check(item.prompt, completion, item.test, item.entry_point)
    async with _slots():
        [result] = await run_checks([check], timeout_s=timeout_s(), parallelism=1)
    if result.status == "error":
        raise InfraError(f"sandbox: {result.detail}")
    return Executed(turns=[reply], judgments=[], completion=completion, execution=result)


def outcome(result: ExecResult) -> str:
    """``passed``, ``timeout``, ``failed (AssertionError)``: what a sample's run came to."""
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    why = lines[-1].strip()[:160] if lines and result.status == "failed" else result.detail
    return result.status if result.passed or not why else f"{result.status} ({why})"


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """``pass@k`` (unbiased, mean over problems) for every k up to the fewest samples a
    problem has, as the reference reports; ``executions``: samples by how they ended."""
    samples = [[r["score"] == 1.0 for r in recs if r["score"] is not None]
               for recs in by_item(records).values()]
    samples = [s for s in samples if s]
    most = min((len(s) for s in samples), default=0)
    metrics = {f"pass@{k}": statistics.fmean(pass_at_k(len(s), sum(s), k) for s in samples)
               for k in range(1, most + 1)}
    ends = Counter(str(r["metrics"].get("status")) for r in records if r["score"] is not None)
    return {"metrics": metrics or {"pass@1": 0.0}, "executions": dict(sorted(ends.items()))}


def grade(item: Problem, result: Executed) -> Grade:
    """Passed when the dataset's tests pass against the sandboxed completion."""
    ex = result.execution
    return Grade(ex.passed, float(ex.passed), "pass", outcome(ex),
                 {"status": ex.status, "completion": result.completion,
                  "duration_s": round(ex.duration_s, 3)})


def describe(item: Problem, verdict: Verdict) -> str:
    """How the sample's run ended."""
    return f"humaneval {item.id}: expected the tests to pass, got {verdict.extracted}"


TASK = Task(name="humaneval", load=load_items, run=run, grade=grade, describe=describe,
            max_tokens=2048, metric="pass@1", metrics=("pass@*",), aggregate=aggregate,
            sim_key=sim_key)


@TASK
def test_humaneval(item: Problem, verdict: Verdict) -> None:
    assert verdict.passed, verdict.message
