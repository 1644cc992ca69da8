"""Gates checked before any call, and the exit status a CI job can gate on.

| situation | exit |
|---|---|
| every item graded, no gate given, no baseline: any wrong answer | 1 (pytest's) |
| thresholds given, no baseline: the gates alone decide (wrong answers are still reported) | 0 / 1 |
| a baseline: the run-level regression test decides (1 on a significant drop at
  ``--max-regression-p``, default 0.05); regressed items still fail as tests, known failures
  are xfail, flaky items never fail | 0 / 1 |
| a baseline and ``--strict-regressions``: any regressed item fails | 1 |
| any item errored (infrastructure), or a gate failed | 1 |
| ``--snapshot-update`` that recorded every verdict | 0 |
| Ctrl-C | 2 |
| bad options, models file, data or a threshold on an unknown benchmark or metric | 4 |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pytest

from benchgate.task import Task


def threshold_problem(runtime: Any, tasks: Sequence[Task], complete: bool = False) -> str | None:
    """A one-line problem with the thresholds for ``tasks``, or None.

    A threshold on one of ``tasks`` must name a metric that task reports. With ``complete``
    (all of the session's tasks are known), a ``--threshold`` naming a benchmark that is not
    collected is refused too; models-file thresholds may name benchmarks run another time.
    """
    names = {t.name: t for t in tasks}
    for model in runtime.models.values():
        for key in sorted(runtime.thresholds(model.name)):
            bench, _, metric = key.partition(".")
            task = names.get(bench)
            if task is not None and not task.knows_metric(metric):
                known = ", ".join(sorted({task.metric, *task.metrics, "score"}))
                return (f"threshold {key}: {bench} has no metric {metric!r} (valid: {known})")
            if complete and task is None and key in runtime.cli_thresholds and tasks:
                return (f"--threshold {key}: no benchmark {bench!r} in this run "
                        f"(collected: {', '.join(sorted(names))})")
    return None


def forgiven(records: Mapping[str, Sequence[dict[str, Any]]], thresholds: Mapping[str, Any],
             updating: bool, strict: bool = False) -> set[str]:
    """Node ids whose failure is a wrong answer that must not decide the exit status: with
    ``--snapshot-update`` (the verdict was recorded), when the model has gates and the
    benchmark has no baseline (the gates decide), and items compared with a baseline verdict
    unless ``strict`` (``--strict-regressions``): the run-level regression test decides."""
    out: set[str] = set()
    for recs in records.values():
        with_baseline = any(r.get("baseline") is not None for r in recs)
        if with_baseline and not strict:
            out.update(r["nodeid"] for r in recs
                       if r.get("baseline") is not None and r["outcome"] != "error")
        if not (updating or (thresholds and not with_baseline)):
            continue
        out.update(r["nodeid"] for r in recs if r["outcome"] != "error" and not r.get("passed"))
    return out


def decide(status: int, failed: Iterable[str], forgive: set[str], errors: int,
           gate_failed: bool) -> int:
    """The session's exit status from pytest's and what benchgate knows."""
    failed = set(failed)
    if status == pytest.ExitCode.TESTS_FAILED and failed and failed <= forgive and not errors:
        status = pytest.ExitCode.OK
    if status == pytest.ExitCode.OK and (gate_failed or errors):
        status = pytest.ExitCode.TESTS_FAILED
    return int(status)
