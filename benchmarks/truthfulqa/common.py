"""TruthfulQA data shared by the MC1 and generation tasks: one item per question, row-aligned
``mc_task.json`` (``mc1_targets``) and ``TruthfulQA.csv`` (answers, category), ids = zero-based
row index.

``--data-dir``/``--data sample``: sylinrl/TruthfulQA's current files (790 questions, after
upstream removed "Indexical Error: Time"). Hub: ``truthfulqa/truthful_qa`` at a pinned revision,
configs ``multiple_choice`` and ``generation`` (validation split, the classic 817 questions), so
ids from the two sources name different questions.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchgate.aggregate import by_item
from benchgate.data import DataSource, Hub
from benchgate.errors import DataError

REVISION = "741b8276f2d1982aa3d5b832d3ee81ed3b896490"
HUB_MC = Hub(repo="truthfulqa/truthful_qa", name="multiple_choice", split="validation",
             revision=REVISION)
HUB_GEN = Hub(repo="truthfulqa/truthful_qa", name="generation", split="validation",
              revision=REVISION)
SAMPLE = Path(__file__).resolve().parent / "sample"


@dataclass(frozen=True)
class Question:
    """One TruthfulQA question with its MC1 targets and reference answers."""

    id: str
    category: str
    question: str
    mc1: tuple[tuple[str, int], ...]
    best_answer: str
    best_incorrect: str
    correct: tuple[str, ...]
    incorrect: tuple[str, ...]


def _split(answers: str) -> tuple[str, ...]:
    """A CSV answer list (``"; "``-separated), as upstream's ``split_multi_answer`` without the
    added full stops."""
    return tuple(a.strip() for a in answers.split(";") if a.strip())


def _question(i: int, category: str, question: str, mc1: Mapping[str, Any], best: str,
              correct: tuple[str, ...], incorrect: tuple[str, ...],
              best_incorrect: str | None) -> Question:
    if best and best not in correct:
        correct = (best, *correct)
    if not incorrect:
        raise DataError(f"truthfulqa: row {i} has no incorrect answers")
    return Question(id=str(i), category=category, question=question,
                    mc1=tuple((str(k), int(v)) for k, v in mc1.items()), best_answer=best,
                    best_incorrect=best_incorrect or incorrect[0], correct=correct,
                    incorrect=incorrect)


def _from_hub(data: DataSource) -> list[Question]:
    mc = data.rows("mc_task.json", hub=HUB_MC)
    gen = {r["question"]: r for r in data.rows("TruthfulQA.csv", hub=HUB_GEN)}
    items = []
    for i, row in enumerate(mc):
        g = gen.get(row["question"])
        if g is None:
            raise DataError(f"truthfulqa: hub row {i} of multiple_choice has no generation row")
        targets = dict(zip(row["mc1_targets"]["choices"], row["mc1_targets"]["labels"],
                           strict=True))
        items.append(_question(i, g["category"], row["question"], targets, g["best_answer"],
                               tuple(g["correct_answers"]), tuple(g["incorrect_answers"]), None))
    return items


def _as_truthfulqa(data: DataSource) -> DataSource:
    """``data`` reading the files under ``truthfulqa/``, whatever the task is called."""
    if data.benchmark == "truthfulqa":
        return data
    alias = DataSource("truthfulqa", data.kind, data.root if data.kind == "dir" else None)
    alias.files = data.files  # what is read is recorded for the calling task's report
    return alias


def load_questions(data: DataSource) -> list[Question]:
    """Every question; ``data`` may be another TruthfulQA task's source."""
    data = _as_truthfulqa(data)
    if data.kind == "hub":
        return _from_hub(data)
    mc = data.rows("mc_task.json")
    csv = data.rows("TruthfulQA.csv")
    if len(mc) != len(csv):
        raise DataError(f"truthfulqa: mc_task.json has {len(mc)} rows, TruthfulQA.csv {len(csv)}")
    items = []
    for i, (m, c) in enumerate(zip(mc, csv, strict=True)):
        try:
            if m["question"] != c["Question"]:
                raise DataError(f"truthfulqa: row {i} differs between mc_task.json and "
                                "TruthfulQA.csv")
            items.append(_question(i, c["Category"], c["Question"], m["mc1_targets"],
                                   c["Best Answer"], _split(c["Correct Answers"]),
                                   _split(c["Incorrect Answers"]), c.get("Best Incorrect Answer")))
        except (KeyError, AttributeError) as exc:
            raise DataError(f"truthfulqa: malformed row {i} (missing {exc})") from None
    return items


def load_targets(data: DataSource, field: str) -> list[tuple[tuple[str, int], ...]]:
    """Each question's ``mc1_targets`` or ``mc2_targets`` as (choice, label) pairs in the
    file's order, row-aligned with :func:`load_questions`: the paper's ``mc_task.json`` maps
    choice -> label, the hub's ``multiple_choice`` config has ``{choices, labels}``."""
    data = _as_truthfulqa(data)
    rows = data.rows("mc_task.json", hub=HUB_MC) if data.kind == "hub" else data.rows(
        "mc_task.json")
    out = []
    for i, row in enumerate(rows):
        targets = row.get(field) if isinstance(row, Mapping) else None
        if isinstance(targets, Mapping) and set(targets) == {"choices", "labels"}:
            pairs = list(zip(targets["choices"], targets["labels"], strict=False))
            if len(targets["choices"]) != len(targets["labels"]):
                raise DataError(f"truthfulqa: row {i}: {field} has {len(targets['choices'])} "
                                f"choices and {len(targets['labels'])} labels")
        elif isinstance(targets, Mapping):
            pairs = list(targets.items())
        else:
            raise DataError(f"truthfulqa: row {i}: missing field {field!r}")
        try:
            found = tuple((str(c), int(v)) for c, v in pairs)
        except (TypeError, ValueError):
            raise DataError(f"truthfulqa: row {i}: {field} labels are not 0/1") from None
        if {v for _, v in found} != {0, 1}:
            raise DataError(f"truthfulqa: row {i}: {field} needs true and false choices "
                            "(labels 1 and 0)")
        out.append(found)
    return out


def rates(names: Mapping[str, str]) -> Callable[[list[dict[str, Any]]], dict[str, Any]]:
    """An aggregate: each report metric = mean over items of a per-record value (``score`` or
    a ``metrics`` key, a number or a flag; each item = mean over its repeats), overall and per
    category."""

    def value(rec: dict[str, Any], key: str) -> float:
        found = rec["score"] if key == "score" else rec["metrics"].get(key)
        return float(found) if isinstance(found, (int, float)) else float(bool(found))

    def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
        cats: dict[str, list[dict[str, float]]] = defaultdict(list)
        for recs in by_item(records).values():
            graded = [r for r in recs if r["score"] is not None]
            if graded:
                cats[str(recs[0]["category"])].append(
                    {m: statistics.fmean(value(r, k) for r in graded) for m, k in names.items()})

        def means(rows: list[dict[str, float]]) -> dict[str, float]:
            return {m: statistics.fmean(r[m] for r in rows) if rows else 0.0 for m in names}

        return {"metrics": means([row for rows in cats.values() for row in rows]),
                "by_category": {c: {**means(rows), "n": len(rows)}
                                for c, rows in sorted(cats.items())}}

    return aggregate
