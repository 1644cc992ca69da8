"""What a judged benchmark's report section says about its judges (runs on the controller).

``judges``: each judge's own benchmark score (the task's aggregate over that judge's grades
alone) and, for single-answer judging, the distribution of the scores it gave;
``agreement`` (a panel of two or more): for each pair of judges, Pearson's correlation of their
item scores and Cohen's kappa of their pass/fail verdicts at the pass mark, over the items both
graded; ``judge_score_distribution``: every judge's scores pooled. Each item's score for a judge
is the mean over its repeats; its pass a majority of them.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from itertools import combinations
from typing import Any

from benchgate.aggregate import by_item, summarize
from benchgate.task import Task


def cohen_kappa(a: list[bool], b: list[bool]) -> float | None:
    """Cohen's kappa of two raters' binary verdicts; None when chance agreement is total
    (both raters gave one and the same verdict throughout)."""
    n = len(a)
    if n == 0 or n != len(b):
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    chance = pa * pb + (1 - pa) * (1 - pb)
    if chance >= 1.0:
        return None
    return (observed - chance) / (1 - chance)


def pearson(x: list[float], y: list[float]) -> float | None:
    """Pearson's r; None with fewer than two items or a constant side."""
    if len(x) < 2 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    try:
        r = statistics.correlation(x, y)  # Pearson's r (the stdlib's; scipy costs 0.5 s to import)
    except statistics.StatisticsError:
        return None
    return r if math.isfinite(r) else None


def _per_item(records: list[dict[str, Any]], name: str) -> dict[str, tuple[float, bool]]:
    """Item node id -> (mean score, majority pass) of judge ``name``."""
    out = {}
    for nodeid, recs in by_item(records).items():
        own = [r["judges"][name] for r in recs if r.get("judges") and name in r["judges"]]
        if own:
            out[nodeid] = (statistics.fmean(j["score"] for j in own),
                           sum(j["passed"] for j in own) * 2 > len(own))
    return out


def _distribution(values: list[float]) -> dict[str, int]:
    counts = Counter(values)
    return {f"{v:g}": counts[v] for v in sorted(counts)}


def judge_summary(records: list[dict[str, Any]], task: Task | None, metric: str,
                  pass_mark: float) -> dict[str, Any]:
    """The section's ``judges``, ``agreement`` and ``judge_score_distribution`` (empty when the
    records carry no judge grades); ``pass_mark`` is recorded for tasks that pass by it."""
    graded = [r for r in records if r["outcome"] != "error" and r.get("judges")]
    names = list(dict.fromkeys(n for r in graded for n in r["judges"]))
    if not names:
        return {}
    judges: dict[str, Any] = {}
    pooled: list[float] = []
    for name in names:
        own = [{**r, "score": r["judges"][name]["score"], "metrics": r["judges"][name]["metrics"]}
               for r in graded if name in r["judges"]]
        scores = [float(v) for r in graded if name in r["judges"]
                  for v in r["judges"][name].get("verdicts") or []]
        pooled += scores
        entry: dict[str, Any] = {"score": summarize(own, task, metric)["score"], "n": len(own)}
        if scores:
            entry["score_distribution"] = _distribution(scores)
        judges[name] = entry
    out: dict[str, Any] = {"judges": judges}
    if pooled:
        out["judge_score_distribution"] = _distribution(pooled)
    if len(names) > 1:
        items = {name: _per_item(graded, name) for name in names}
        pearsons: dict[str, float | None] = {}
        kappas: dict[str, float | None] = {}
        for a, b in combinations(names, 2):
            both = sorted(set(items[a]) & set(items[b]))
            pair = f"{a} vs {b}"
            pearsons[pair] = pearson([items[a][i][0] for i in both], [items[b][i][0] for i in both])
            kappas[pair] = cohen_kappa([items[a][i][1] for i in both],
                                       [items[b][i][1] for i in both])
        out["agreement"] = {"pearson": pearsons, "kappa": kappas,
                            "pass_mark": pass_mark if task is not None and task.pass_mark else None,
                            "n": len(set.intersection(*(set(v) for v in items.values())))}
    return out


def judge_blocks(rt: Any) -> list[dict[str, Any]]:
    """The run block's description of each judge of the panel (a :class:`Runtime`'s): what
    the models file says, the served id, the served weights' fingerprint and the sampling, so
    that a run with another judge replaces the section rather than merging into it."""
    return [{**spec.public(), "served_model": rt.judges_served.get(name),
             "fingerprint": (rt.fingerprints.get(f"judge:{name}") or {}).get("digest"),
             "sampling": dict(spec.sampling)}
            for name, spec in rt.judges.items()]
