"""Grading every repeat of an item and reducing the grades to the item's :class:`Verdict`.

The plugin calls :func:`verdict_of` once per item with the results of all repeats, so no
benchmark can grade only the first. Reducers (``Task.reduce``) fold per-repeat grades:

- :func:`majority` (default): passed when more than half the repeats passed; score = mean.
- :func:`any_pass`: passed when any repeat passed (pass@k-style); score = mean.
- :func:`all_pass`: passed only when every repeat passed; score = mean.

The representative grade (whose ``expected``/``extracted`` the verdict shows) is the first
repeat whose outcome agrees with the reduced one.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from benchgate.extractive import grade_result
from benchgate.grade import Grade, explain
from benchgate.panel import PanelResult, grade_panel
from benchgate.records import completions_of
from benchgate.task import Task, Verdict


def _reduced(grades: Sequence[Grade], passed: bool) -> Grade:
    score = float(grades[0].score) if len(grades) == 1 else \
        statistics.fmean(float(g.score) for g in grades)
    rep = next((g for g in grades if g.passed == passed), grades[0])
    if rep.passed is passed and type(rep.score) is float and rep.score == score:
        return rep
    return replace(rep, passed=passed, score=score)


def majority(grades: Sequence[Grade]) -> Grade:
    """Majority vote for pass/fail, mean for the score."""
    return _reduced(grades, sum(g.passed for g in grades) * 2 > len(grades))


def any_pass(grades: Sequence[Grade]) -> Grade:
    """Passed when any repeat passed (what pass@k counts); mean score."""
    return _reduced(grades, any(g.passed for g in grades))


def all_pass(grades: Sequence[Grade]) -> Grade:
    """Passed only when every repeat passed; mean score."""
    return _reduced(grades, all(g.passed for g in grades))


def _empty_note(result: Any) -> str | None:
    turns, _ = completions_of(result)
    last = turns[-1] if turns else None
    if last is None:
        return None
    if last.truncated:
        return f"response truncated at the size cap, finish_reason={last.finish_reason}"
    if not last.text.strip():
        return f"empty response, finish_reason={last.finish_reason}"
    return None


def verdict_of(task: Task, item: Any, results: Sequence[Any], pass_mark: float) -> Verdict:
    """Grade every repeat's result, reduce them, and write the failure line."""
    def one(result: Any) -> Grade:
        grade = grade_result(task, item, result)
        if task.pass_mark:
            grade = replace(grade, passed=float(grade.score) >= pass_mark,
                            expected=f">= {pass_mark:g}")
        return grade

    grades = [grade_panel(r, one, pass_mark if task.pass_mark else None)
              if isinstance(r, PanelResult) else one(r) for r in results]
    if not grades:
        raise ValueError(f"{task.name} {getattr(item, 'id', '')}: nothing to grade")
    reduced = (task.reduce or majority)(grades)
    passed, score, graded = bool(reduced.passed), float(reduced.score), tuple(grades)
    index = next((i for i, g in enumerate(grades) if g.passed == passed), 0)
    note = None if passed else _empty_note(results[index])
    name = f"{task.name} {getattr(item, 'id', '')}"
    if note is not None:
        message = f"{name}: {note}"
    elif task.describe is not None:
        message = task.describe(item, Verdict(
            passed=passed, score=score, grades=graded, message="",
            expected=reduced.expected, extracted=reduced.extracted))
    else:  # "<benchmark> <id>: expected X, got Y"
        message = f"{name}: {explain(reduced.expected, reduced.extracted, grades[0].detail)}"
    if len(grades) > 1:
        message += f" ({sum(g.passed for g in grades)}/{len(grades)} repeats passed)"
    return Verdict(passed=passed, score=score, grades=graded, message=message,
                   expected=reduced.expected, extracted=reduced.extracted)
