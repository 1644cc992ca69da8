"""IFEval: 541 prompts with 25 kinds of verifiable instructions (Zhou et al. 2023,
"Instruction-Following Evaluation for Large Language Models", arXiv:2311.07911).

Reference: google-research/google-research ``instruction_following_eval`` (``evaluation_lib.py``
strict/loose grading and ``print_report``; checkers in ``instructions.py``), reimplemented in
:mod:`graders.ifeval`. Data: ``google/IFEval`` (train split, 541 rows) at a pinned revision, the
same rows as upstream ``instruction_following_eval/data/input_data.jsonl`` (``--data-dir``:
``DIR/ifeval/input_data.jsonl``). Item ids are ``key``.

The prompt is sent verbatim as the single user message, as the reference does. An item passes
when every instruction is followed (strict). The report's headline is
``prompt_level_strict_acc``; ``metrics`` adds ``inst_level_strict_acc`` and both loose
accuracies, and ``by_category`` gives the strict instruction-level accuracy per instruction id.
Grading needs NLTK's Punkt model (``NLTK_DATA``); without it the run stops at collection.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from benchgate import Completion, Grade, Task, Verdict
from benchgate.data import DataSource, Hub
from benchgate.errors import DataError
from benchmarks.ifeval.simulate import follow, violate
from graders.ifeval import aggregate_ifeval, build_checker, grade_ifeval
from graders.ifeval_util import PUNKT_HINT, punkt_available

HUB = Hub(repo="google/IFEval", split="train", revision="966cd89545d6b6acfd7638bc708b98261ca58e84")
METRICS = ("prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc",
           "inst_level_loose_acc")


@dataclass(frozen=True)
class Prompt:
    """One IFEval prompt; ``kwargs[i]`` parameterises ``instruction_ids[i]`` (None values of
    the hub copy dropped, so hub and upstream file give the same item)."""

    id: str
    prompt: str
    instruction_ids: tuple[str, ...]
    kwargs: tuple[Mapping[str, Any], ...]


def load_items(data: DataSource) -> list[Prompt]:
    """All prompts, ids = ``key``. Stops the run (one line) when Punkt is missing or a row's
    instructions cannot be built."""
    if not punkt_available():
        raise DataError(f"ifeval: {PUNKT_HINT}")
    items = []
    for row in data.rows("input_data.jsonl", hub=HUB):
        item = Prompt(id=str(row["key"]), prompt=row["prompt"],
                      instruction_ids=tuple(row["instruction_id_list"]),
                      kwargs=tuple({k: v for k, v in (kw or {}).items() if v is not None}
                                   for kw in row["kwargs"]))
        try:
            if len(item.instruction_ids) != len(item.kwargs):
                raise ValueError("instruction_id_list and kwargs differ in length")
            for instruction, kwargs in zip(item.instruction_ids, item.kwargs, strict=True):
                build_checker(instruction, kwargs, item.prompt)
        except ValueError as exc:
            raise DataError(f"ifeval: malformed row key={item.id}: {exc}") from None
        items.append(item)
    return items


def build_messages(item: Prompt) -> list[dict[str, str]]:
    """The prompt, verbatim, as the only user message."""
    return [{"role": "user", "content": item.prompt}]


def sim_reply(item: Prompt, correct: bool) -> str:
    """A reply built to follow every instruction, or one that breaks the first."""
    builder = follow if correct else violate
    return builder(item.instruction_ids, item.kwargs)


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The reference's four accuracies (every repeat counts as a prompt) and, per instruction
    id, the strict instruction-level accuracy and count."""
    result = aggregate_ifeval([r["metrics"] for r in records if "inst_strict" in r["metrics"]])
    return {"metrics": {k: result[k] for k in METRICS}, "by_category": result["by_category"]}


def grade(item: Prompt, response: Completion) -> Grade:
    """Every instruction checked strictly and loosely; passed = all followed (strict)."""
    return grade_ifeval(response.text, item.instruction_ids, item.kwargs, item.prompt)


def describe(item: Prompt, verdict: Verdict) -> str:
    """Names the instructions not followed (strict, then loose)."""
    rep = next((g for g in verdict.grades if not g.passed), verdict.grades[0])
    loose = [i for i, ok in zip(item.instruction_ids, rep.metrics["inst_loose"], strict=True)
             if not ok]
    return (f"ifeval {item.id}: not followed: {', '.join(rep.extracted)} of "
            f"{len(item.instruction_ids)} (loose: {', '.join(loose) or 'all followed'})")


TASK = Task(name="ifeval", load=load_items, messages=build_messages, grade=grade,
            describe=describe, max_tokens=2048, metric="prompt_level_strict_acc",
            metrics=METRICS, aggregate=aggregate, sim_reply=sim_reply)


@TASK
def test_ifeval(item: Prompt, verdict: Verdict) -> None:
    assert verdict.passed, verdict.message
