"""Per-item records: built where the test ran, one per item and repeat (the items file's
fields), carrying the item's reduced verdict (``passed``, ``item_score``) on every repeat.

They travel beside JUnit, not inside it (:mod:`benchgate.spool`); a testcase keeps only small
readable properties (:func:`junit_properties`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from benchgate.grade import Grade
from benchgate.jsontext import TEXT
from benchgate.panel import judge_entries
from benchgate.redact import redact, redact_obj
from benchgate.regression import flaky_reason
from benchgate.task import Completion, Verdict

PROPERTY_LIMIT = 300


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


_PLAIN = (str, int, float, bool, type(None))


def _safe(value: Any) -> Any:
    """``value`` as JSON gives it back (tuples as lists, unknown objects as strings)."""
    if type(value) in _PLAIN:  # most expected/extracted values: nothing to convert
        return value
    if type(value) is dict and all(type(k) is str and type(v) in _PLAIN for k, v in value.items()):
        return dict(value)
    return json.loads(json.dumps(value, default=str))


def _sum_usage(completions: Sequence[Completion]) -> dict[str, int]:
    total: dict[str, int] = {}
    for c in completions:
        for key, value in c.usage.items():
            total[key] = total.get(key, 0) + int(value)
    return total


def build(*, benchmark: str, model: str, item: Any, nodeid: str, outcome: str,
          verdict: Verdict | None, results: Sequence[Any], data: dict[str, Any],
          error: str | None = None, baseline: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The records of one test: one per repeat (one in all when it errored before grading),
    secrets redacted."""
    grades: Sequence[Grade] = verdict.grades if verdict is not None else ()
    count = max(len(results), len(grades), 1)
    records = []
    for r in range(count):
        grade = grades[r] if r < len(grades) else None
        turns, judged = completions_of(results[r]) if r < len(results) else ([], [])
        last = turns[-1] if turns else None
        response: Any = [t.text for t in turns] if len(turns) > 1 else (last.text if last else None)
        reasoning = [t.reasoning for t in turns] if len(turns) > 1 else (
            last.reasoning if last else None)
        fresh = [c for c in turns + judged if not c.cached]
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
            "judge": judge, "judges": judge_entries(results[r] if r < len(results) else None, grade),
            "latency_s": round(sum(c.latency_s for c in turns + judged), 6) if turns else None,
            "usage": _sum_usage(turns),
            "cached": all(c.cached for c in turns) if turns else False,
            "calls": len(fresh), "cache_hits": len(turns) + len(judged) - len(fresh),
            "truncated": any(c.truncated for c in turns),
            "finish_reason": last.finish_reason if last else None,
            "endpoint": last.endpoint if last else None,
            "error": error, "data": data, "baseline": baseline,
            "message": error or (verdict.message if verdict is not None else None),
            "passed": None if verdict is None or error else verdict.passed,
            "item_score": None if verdict is None or error else verdict.score,
        })
    return [redact_obj(r) for r in records]


def _short(value: Any) -> str:
    text = redact(TEXT.encode(value))
    return text if len(text) <= PROPERTY_LIMIT else text[: PROPERTY_LIMIT - 3] + "..."


def junit_properties(records: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """Small readable JUnit properties of an item: its reduced outcome and score, and what
    was expected and extracted (each at most a few hundred characters)."""
    if not records:
        return []
    first = records[0]
    outcome = first["outcome"] if first["outcome"] == "error" else (
        "passed" if first.get("passed") else "failed")
    base = first.get("baseline") or {}
    flaky = outcome != "error" and bool(base.get("flaky"))
    props = [("benchmark", str(first["benchmark"])),
             ("outcome", "flaky" if flaky else outcome), ("score", _short(first.get("item_score"))),
             ("expected", _short(first["expected"])), ("extracted", _short(first["extracted"]))]
    if flaky:  # its own outcome, never failing the run; what it got now is in graded
        props += [("reason", flaky_reason(base)), ("graded", outcome)]
    if outcome != "passed" and first.get("message"):
        text = redact(str(first["message"]))
        props.append(("message", text if len(text) <= PROPERTY_LIMIT else
                      text[: PROPERTY_LIMIT - 3] + "..."))
    return props
