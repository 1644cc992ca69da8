"""Judge panels: every judged item scored by every judge, the item's grade their mean.

A judged task runs once per judge (:func:`run_panel`) on views of the item's context that
share its model calls (each asked once, whatever the number of judges) and differ in the
judge they ask. The task grades each judge's result; :func:`combine` folds those grades into
the item's grade: score = the judges' mean, passed = a majority of judges (for tasks with a
pass mark, the mean score against it), numeric ``metrics`` averaged (booleans as fractions,
lists and mappings element-wise), and the per-judge grades kept in ``Grade.judges`` for the
report's ``judges`` and ``agreement`` (:mod:`benchgate.judge_report`).
"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from benchgate.grade import Grade
from benchgate.scheduler import CallContext, Caller
from benchgate.task import Completion


@dataclass(frozen=True)
class PanelResult:
    """One repeat of a judged item: each judge's result of the task's ``run``, by judge name.

    ``turns`` (the model's completions, the same for every judge) and ``judgments`` (every
    judge's, in panel order) make it readable wherever a task's result is."""

    results: Mapping[str, Any]

    @property
    def turns(self) -> list[Completion]:
        """The model's completions."""
        first = next(iter(self.results.values()), None)
        return list(getattr(first, "turns", None) or [])

    @property
    def judgments(self) -> list[Completion]:
        """Every judge's completions."""
        return [j for r in self.results.values() for j in getattr(r, "judgments", None) or []]


async def run_panel(execute: Callable[[CallContext], Awaitable[Any]], ctx: CallContext,
                    judges: Mapping[str, Caller]) -> PanelResult:
    """``execute`` once per judge, the model's calls shared; an error of any judge (or of the
    model) is the item's error."""
    memo: dict[str, asyncio.Future[Completion]] = {}
    names = list(judges)
    results = await asyncio.gather(*(execute(ctx.with_judge(judges[n], memo)) for n in names))
    return PanelResult(dict(zip(names, results, strict=True)))


def _mean(values: Sequence[Any]) -> Any:
    """The judges' common value, or their mean where they differ and the values allow it."""
    first = values[0]
    if all(v == first for v in values):
        return first
    if all(isinstance(v, int | float) and v is not None for v in values):
        return statistics.fmean(float(v) for v in values)
    if all(isinstance(v, Mapping) for v in values) and all(v.keys() == first.keys() for v in values):
        return {k: _mean([v[k] for v in values]) for k in first}
    if all(isinstance(v, list | tuple) and len(v) == len(first) for v in values):
        return [_mean([v[i] for v in values]) for i in range(len(first))]
    return first


def mean_metrics(metrics: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per-item metrics of several judges, key by key: their mean where numeric (booleans
    count as 0/1), else the first judge's value."""
    if not metrics:
        return {}
    keys = list(dict.fromkeys(k for m in metrics for k in m))
    return {k: _mean([m.get(k) for m in metrics]) for k in keys}


def combine(grades: Mapping[str, Grade], pass_mark: float | None) -> Grade:
    """The item's grade from each judge's: mean score; passed by majority, or by the mean score
    at ``pass_mark`` when the task has one; representative fields from the first judge that
    agrees with the outcome."""
    values = list(grades.values())
    score = statistics.fmean(float(g.score) for g in values)
    if pass_mark is not None:
        passed = score >= pass_mark
    else:
        passed = sum(g.passed for g in values) * 2 > len(values)
    rep = next((g for g in values if g.passed == passed), values[0])
    return replace(rep, passed=passed, score=score, metrics=mean_metrics([g.metrics for g in values]),
                   judges=dict(grades))


def grade_panel(result: PanelResult, grade: Callable[[Any], Grade],
                pass_mark: float | None) -> Grade:
    """Grade each judge's result with ``grade`` and :func:`combine` them."""
    return combine({name: grade(r) for name, r in result.results.items()}, pass_mark)


def judge_entries(result: Any, grade: Grade | None) -> dict[str, dict[str, Any]] | None:
    """A record's ``judges``: each judge's score, passed, metrics and parsed verdicts."""
    if grade is None or not grade.judges or not isinstance(result, PanelResult):
        return None
    out = {}
    for name, own in grade.judges.items():
        judged = getattr(result.results.get(name), "judgments", None) or []
        out[name] = {"score": float(own.score), "passed": bool(own.passed), "metrics": own.metrics,
                     "verdicts": [j.verdict for j in judged if _is_score(j.verdict)]}
    return out


def _is_score(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
