"""HumanEval against the upstream problems (openai/human-eval ``data/HumanEval.jsonl.gz``).

In the sandbox (candidate and checker in separate bubblewrap + seccomp sandboxes, results
crossing as plain data), the canonical solutions must pass 164/164 and the bare prompts
(body ``pass``) 0/164, as with the reference's ``evaluate_functional_correctness``; the 164
canonical checks take under 20 s on 2 cores. Replies shaped
like a chat model's (the whole function in a fenced block between prose) must pass through
:func:`graders.humaneval.extract_code` too. Wall times are printed (``-s`` shows them).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from benchgate.sandbox import Check, ExecResult, availability, run_checks
from graders.humaneval import assemble_check, build_check, grade_humaneval

pytestmark = [pytest.mark.fidelity,
              pytest.mark.skipif(availability() is not None,
                                 reason=f"kernel sandbox unavailable: {availability()}")]

Problem = dict[str, str]


@pytest.fixture(scope="module")
def problems(data_dir: Path) -> list[Problem]:
    path = data_dir / "humaneval" / "HumanEval.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    assert len(rows) == 164
    return rows


def _run_all(problems: list[Problem], make: Callable[[Problem], Check],
             label: str, budget_s: float = 60.0) -> list[ExecResult]:
    start = time.monotonic()
    results = asyncio.run(run_checks([make(p) for p in problems], timeout_s=10.0))
    elapsed = time.monotonic() - start
    assert elapsed < budget_s
    passed = sum(r.passed for r in results)
    print(f"\nhumaneval fidelity [{label}]: {passed}/{len(results)} passed in {elapsed:.1f}s "
          f"wall; statuses {dict(Counter(r.status for r in results))}")
    return results


def _failures(problems: list[Problem], results: list[ExecResult]) -> list[str]:
    return [f"{p['task_id']}: {r.status} {r.detail} {r.stderr[-300:]}"
            for p, r in zip(problems, results, strict=True) if not r.passed]


def test_canonical_solutions_pass(problems: list[Problem]) -> None:
    results = _run_all(problems, lambda p: build_check(
        p["prompt"], p["canonical_solution"], p["test"], p["entry_point"]), "canonical",
        budget_s=20.0)
    assert _failures(problems, results) == []
    grade = grade_humaneval([r.passed for r in results], k_values=(1, 10, 100))
    assert grade.metrics["pass@1"] == 1.0 and grade.metrics["pass@100"] == 1.0


def test_bare_prompts_fail(problems: list[Problem]) -> None:
    results = _run_all(problems, lambda p: build_check(
        p["prompt"], "    pass\n", p["test"], p["entry_point"]), "body `pass`")
    assert [p["task_id"] for p, r in zip(problems, results, strict=True) if r.passed] == []
    assert {r.status for r in results} == {"failed"}


def test_chat_shaped_replies_pass(problems: list[Problem]) -> None:
    def reply(p: Problem) -> str:
        code = p["prompt"] + p["canonical_solution"]
        return f"Here is the implementation:\n\n```python\n{code}\n```\n\nIt handles edge cases."

    results = _run_all(problems, lambda p: assemble_check(
        reply(p), p["prompt"], p["test"], p["entry_point"]), "fenced full-function replies")
    assert _failures(problems, results) == []
