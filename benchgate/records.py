"""Per-item records: built where the test ran, sent as JSON in ``user_properties``.

One record per item and repeat (SPEC §7 items file fields). They are JSON strings so they
cross xdist's worker/controller channel unchanged; the controller aggregates them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from benchgate.grade import Grade
from benchgate.task import Completion

PROPERTY = "benchgate"


def completions_of(result: Any) -> tuple[list[Completion], list[Completion]]:
    """(model completions, judge completions) of a task result.

    A result is a :class:`Completion`, a sequence of them (turns), or an object with
    ``turns`` and ``judgments`` sequences (judged benchmarks).
    """
    if isinstance(result, Completion):
        return [result], []
    if isinstance(result, (list, tuple)):
        return [c for c in result if isinstance(c, Completion)], []
    turns = getattr(result, "turns", None)
    judgments = getattr(result, "judgments", None)
    if turns is not None:
        return list(turns), list(judgments or [])
    return [], []


def _safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _sum_usage(completions: Sequence[Completion]) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in completions:
        for key, value in c.usage.items():
            total[key] = total.get(key, 0) + int(value)
    return total


def build(*, benchmark: str, model: str, item: Any, nodeid: str, outcome: str, grades: Sequence[Grade],
          results: Sequence[Any], data: dict[str, Any], error: str | None = None,
          baseline: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The records of one test: one per repeat (one in all when it errored before grading)."""
    count = max(len(results), len(grades), 1)
    records = []
    for r in range(count):
        grade = grades[r] if r < len(grades) else None
        turns, judged = completions_of(results[r]) if r < len(results) else ([], [])
        last = turns[-1] if turns else None
        response: Any = [t.text for t in turns] if len(turns) > 1 else (last.text if last else None)
        reasoning = [t.reasoning for t in turns] if len(turns) > 1 else (
            last.reasoning if last else None)
        judge = None
        if judged:
            judge = {"score": grade.score if grade else None, "raw": [j.text for j in judged]
                     if len(judged) > 1 else judged[0].text}
        records.append({
            "benchmark": benchmark, "model": model, "id": str(getattr(item, "id", "")),
            "nodeid": nodeid,
            "repeat": r, "test_outcome": outcome,
            "outcome": "error" if error else (("passed" if grade.passed else "failed")
                                              if grade else outcome),
            "score": None if grade is None else float(grade.score),
            "metrics": _safe(grade.metrics) if grade else {},
            "category": getattr(item, "category", None),
            "messages": list(last.messages) if last else [],
            "response": response, "reasoning": reasoning if any(
                x for x in (reasoning if isinstance(reasoning, list) else [reasoning])) else None,
            "expected": _safe(grade.expected) if grade else None,
            "extracted": _safe(grade.extracted) if grade else None,
            "judge": judge,
            "latency_s": round(sum(c.latency_s for c in turns + judged), 6) if turns else None,
            "usage": _sum_usage(turns),
            "cached": all(c.cached for c in turns) if turns else False,
            "endpoint": last.endpoint if last else None,
            "error": error, "data": data, "baseline": baseline,
            "passed": bool(grades[0].passed) if grades else None,
        })
    return records


def to_properties(records: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """``user_properties`` entries: the JSON records plus readable JUnit properties."""
    props = [(PROPERTY, json.dumps(list(records), ensure_ascii=False))]
    if records:
        first = records[0]
        props += [("score", json.dumps(first["score"])), ("expected", json.dumps(first["expected"])),
                  ("extracted", json.dumps(first["extracted"]))]
    return props


def from_properties(props: Sequence[tuple[str, object]]) -> list[dict[str, Any]]:
    """Inverse of :func:`to_properties` (other properties are ignored)."""
    out: list[dict[str, Any]] = []
    for name, value in props:
        if name == PROPERTY and isinstance(value, str):
            out.extend(json.loads(value))
    return out
