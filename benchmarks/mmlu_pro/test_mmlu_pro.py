"""MMLU-Pro: 12,032 ten-option questions in 14 categories (Wang et al. 2024, "MMLU-Pro: A More
Robust and Challenging Multi-Task Language Understanding Benchmark", arXiv:2406.01574).

Reference: TIGER-AI-Lab/MMLU-Pro ``evaluate_from_api.py`` (prompt, answer extraction) and
``compute_accuracy.py``; prompt and extraction live in :mod:`graders.mmlu_pro`. Data:
``TIGER-Lab/MMLU-Pro`` test split at revision b189ec76 (``main`` in 2026, after the card's
answer and option fixes; ``--data-dir``: ``DIR/mmlu_pro/test.jsonl``, upstream rows, e.g. the
October 2024 test set); item ids are ``question_id``, category = ``category``.

Zero-shot chain of thought by default. ``--mmlu-pro-shots 5`` (env
``BENCHGATE_MMLU_PRO_SHOTS=5``, ini ``benchgate_mmlu_pro_shots``; the flag only exists when the
command line names ``benchmarks/mmlu_pro``) prepends the first K validation-split exemplars of
the question's category, as upstream's 5-shot CoT does; it needs ``validation.jsonl`` (the hub
source and the sample data have it). ``accuracy`` counts unextracted answers as wrong (upstream
draws a random letter for them); ``metrics.unextracted`` is their rate. ``--mmlu-pro-official-fill``
(env ``BENCHGATE_MMLU_PRO_OFFICIAL_FILL=1``, ini ``benchgate_mmlu_pro_official_fill``) adds
``metrics.accuracy_official``, upstream's figure: each unextracted answer a random guess among
its options, seeded (12345) as the reference scripts are.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import benchmarks.mmlu_pro as state
from benchgate import Grade, Task, Verdict
from benchgate.aggregate import mean_with_rates
from benchgate.choices import bare_letter, grade_letter
from benchgate.data import DataSource, Hub
from benchgate.errors import ConfigError, DataError
from benchgate.extractive import Extractive
from graders.mmlu_pro import LETTERS, build_prompt, extract_answer, official_accuracy

REVISION = "b189ec765aa7ed75c8acfea42df31fdae71f97be"
TEST = Hub(repo="TIGER-Lab/MMLU-Pro", split="test", revision=REVISION)
VALIDATION = Hub(repo="TIGER-Lab/MMLU-Pro", split="validation", revision=REVISION)
ENV_SHOTS = "BENCHGATE_MMLU_PRO_SHOTS"


@dataclass(frozen=True)
class Question:
    """One test question; ``shots`` are its category's exemplars (shared, empty = zero-shot)."""

    id: str
    category: str
    question: str
    options: tuple[str, ...]
    answer: str
    shots: tuple[Mapping[str, Any], ...] = field(default=(), repr=False, compare=False)


def shots() -> int:
    """Exemplars per question: ``--mmlu-pro-shots``/ini (via conftest), then the env var."""
    if state.SHOTS is not None:
        return state.SHOTS
    raw = os.environ.get(ENV_SHOTS, "").strip() or "0"
    if not raw.isdigit() or int(raw) > 5:
        raise ConfigError(f"{ENV_SHOTS}={raw!r}: use an integer 0-5")
    return int(raw)


def rows(data: DataSource, name: str, hub: Hub) -> list[dict[str, Any]]:
    """Rows of an upstream JSONL file. Split on "\\n" only: a test question holds U+0085, which
    ``str.splitlines`` (and so ``DataSource.rows``) treats as a line break."""
    if data.kind == "hub":
        return data.rows(name, hub=hub)
    try:
        return [json.loads(line) for line in data.text(name).split("\n") if line.strip()]
    except json.JSONDecodeError as exc:
        raise DataError(f"mmlu_pro: malformed data file {data.path(name)}: {exc}") from None


def exemplars(data: DataSource, k: int) -> dict[str, tuple[Mapping[str, Any], ...]]:
    """The first ``k`` validation rows of each category."""
    if data.kind == "dir" and not data.path("validation.jsonl").exists():
        raise DataError(f"mmlu_pro: {k}-shot needs the validation split, which "
                        f"{data.path('validation.jsonl')} does not hold; use --data hub "
                        "(TIGER-Lab/MMLU-Pro) or zero-shot")
    found = rows(data, "validation.jsonl", VALIDATION)
    by_cat: dict[str, list[Mapping[str, Any]]] = {}
    for row in found:
        by_cat.setdefault(row["category"], []).append(row)
    return {cat: tuple(got[:k]) for cat, got in by_cat.items()}


def load_items(data: DataSource) -> list[Question]:
    """All test questions, ids = ``question_id``."""
    k = shots()
    per_cat = exemplars(data, k) if k else {}
    items = []
    for r in rows(data, "test.jsonl", TEST):
        cat = r["category"]
        if k and len(per_cat.get(cat, ())) < k:
            raise DataError(f"mmlu_pro: validation split has {len(per_cat.get(cat, ()))} "
                            f"exemplars for category {cat!r}, {k} needed")
        items.append(Question(id=str(r["question_id"]), category=cat, question=r["question"],
                              options=tuple(r["options"]), answer=r["answer"],
                              shots=per_cat.get(cat, ())))
    return items


def build_messages(item: Question) -> list[dict[str, str]]:
    """Upstream's CoT prompt (zero- or k-shot)."""
    return build_prompt(item.question, item.options, item.category, item.shots)


def n_options(item: Question) -> int:
    """Options shown (``"N/A"`` ones are dropped, as upstream does)."""
    return len([o for o in item.options if o != "N/A"])


def sim_reply(item: Question, correct: bool) -> str:
    """The right letter, or the next option's letter."""
    n = n_options(item)
    letter = item.answer if correct else LETTERS[(LETTERS.index(item.answer) + 1) % n]
    return f"Let's think step by step. Weighing the options carefully. The answer is ({letter})."


def compare(item: Question, got: str | None, response: str) -> Grade:
    """The extracted letter against the answer; repeats reduce by majority. ``metrics``
    keep the option count for ``accuracy_official``'s random guess."""
    grade = grade_letter(got, item.answer, none_detail="no answer letter found")
    return replace(grade, metrics={**grade.metrics, "options": n_options(item)})


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """``accuracy`` and ``unextracted`` (overall, per category); with
    ``--mmlu-pro-official-fill``, ``accuracy_official``: each unextracted answer replaced by
    the reference's seeded random guess among the item's options, in report order."""
    found = mean_with_rates(records, metric="accuracy", flags=("unextracted",))
    if state.OFFICIAL_FILL:
        rows = [(r["extracted"], str(r["expected"]), int(r["metrics"]["options"]))
                for r in records if r["score"] is not None]
        found["metrics"]["accuracy_official"] = official_accuracy(rows)
    return found


ANSWER = Extractive(extract=lambda item, text: extract_answer(text), compare=compare,
                    normalise=lambda item, answer: bare_letter(answer, n_options(item)))


def describe(item: Question, verdict: Verdict) -> str:
    """The failure line names the category."""
    return f"mmlu_pro {item.id} ({item.category}): {verdict.grades[0].message}"


TASK = Task(name="mmlu_pro", load=load_items, messages=build_messages, extractive=ANSWER,
            describe=describe, max_tokens=4000, metric="accuracy",
            metrics=("unextracted", "accuracy_official"), aggregate=aggregate, sim_reply=sim_reply)


@TASK
def test_mmlu_pro(item: Question, verdict: Verdict) -> None:
    assert verdict.passed, verdict.message
