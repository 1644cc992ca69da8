"""Aggregation of per-item records into a benchmark's report section (runs on the controller).

Proportions get the Wilson score interval (Wilson 1927; the interval recommended over the
normal approximation by Brown, Cai & DasGupta 2001); mean scores (judge ratings) get the
normal interval of the mean. Item-level score = mean over repeats; errors are excluded.
"""

from __future__ import annotations

import importlib
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchgate.task import Task

Z95 = 1.959963984540054


def wilson(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``p`` observed over ``n`` trials."""
    if n <= 0:
        return (0.0, 0.0)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo = 0.0 if p <= 0 else max(0.0, min(p, centre - half))
    hi = 1.0 if p >= 1 else min(1.0, max(p, centre + half))
    return (lo, hi)


def mean_interval(values: Sequence[float], z: float = Z95) -> tuple[float, float]:
    """Normal-approximation interval of a mean."""
    if not values:
        return (0.0, 0.0)
    mean = statistics.fmean(values)
    if len(values) < 2:
        return (mean, mean)
    half = z * statistics.stdev(values) / math.sqrt(len(values))
    return (mean - half, mean + half)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def find_task(rootdir: Path, nodeid: str, benchmark: str) -> Task | None:
    """The :class:`Task` of a benchmark, imported from its test module (xdist controller)."""
    path = nodeid.split("::", 1)[0]
    if not path.endswith(".py"):
        return None
    module_name = path[:-3].replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - fall back to the default aggregation
        return None
    for value in vars(module).values():
        if isinstance(value, Task) and value.name == benchmark:
            return value
    return None


def by_item(records: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Records grouped by node id, in order."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        grouped[rec["nodeid"]].append(rec)
    return grouped


def item_scores(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Node id -> mean score over its graded repeats."""
    out = {}
    for nodeid, recs in by_item(records).items():
        scores = [r["score"] for r in recs if r["score"] is not None and r["outcome"] != "error"]
        if scores:
            out[nodeid] = statistics.fmean(scores)
    return out


def default_aggregate(records: list[dict[str, Any]], metric: str) -> dict[str, Any]:
    """Mean item score as ``metric``, and per category."""
    scores = item_scores(records)
    cats: dict[str, list[float]] = defaultdict(list)
    for nodeid, recs in by_item(records).items():
        if nodeid in scores and recs[0].get("category") is not None:
            cats[str(recs[0]["category"])].append(scores[nodeid])
    value = statistics.fmean(scores.values()) if scores else 0.0
    return {"metrics": {metric: value},
            "by_category": {c: {metric: statistics.fmean(v), "n": len(v)}
                            for c, v in sorted(cats.items())}}


def mean_with_rates(records: list[dict[str, Any]], metric: str,
                    flags: Sequence[str]) -> dict[str, Any]:
    """``metric`` = mean item score (each item = mean over its repeats) plus the rate of each
    boolean per-item metric in ``flags`` (e.g. unextracted answers), overall and per category."""
    cats: dict[str, list[list[float]]] = defaultdict(list)
    for recs in by_item(records).values():
        graded = [r for r in recs if r["score"] is not None]
        if graded:
            cats[str(recs[0]["category"])].append(
                [statistics.fmean(r["score"] for r in graded)]
                + [statistics.fmean(bool(r["metrics"].get(f)) for r in graded) for f in flags])

    def rates(rows: list[list[float]]) -> dict[str, float]:
        return {name: statistics.fmean(r[i] for r in rows) if rows else 0.0
                for i, name in enumerate([metric, *flags])}

    return {"metrics": rates([row for rows in cats.values() for row in rows]),
            "by_category": {c: {**rates(rows), "n": len(rows)} for c, rows in sorted(cats.items())}}


def summarize(records: list[dict[str, Any]], task: Task | None, metric: str) -> dict[str, Any]:
    """A benchmark's report section (without ``run``): counts use each item's reduced verdict,
    metrics the task's aggregate over every graded repeat."""
    items = by_item(records)
    errors = sum(1 for recs in items.values() if any(r["outcome"] == "error" for r in recs))
    graded = [r for r in records if r["outcome"] != "error"]
    passed = sum(1 for recs in items.values()
                 if recs[0].get("passed") and all(r["outcome"] != "error" for r in recs))
    agg = task.aggregate(graded) if task and task.aggregate and graded else \
        default_aggregate(graded, metric)
    metrics = dict(agg.get("metrics", {}))
    score = float(agg.get("score", metrics.get(metric, 0.0)))
    n = len(items) - errors
    if task is None or task.proportion:
        ci = wilson(score, n)
    else:
        ci = mean_interval(list(item_scores(graded).values()))
    fresh = [r for r in graded if not r.get("cached")]
    timed = fresh or graded  # a run served from the cache shows the latency recorded then
    latencies = [r["latency_s"] for r in timed if r.get("latency_s") is not None]
    usage: dict[str, int] = defaultdict(int)
    for r in graded:
        for key, value in (r.get("usage") or {}).items():
            usage[key] += int(value)
    fresh_tokens = sum(int((r.get("usage") or {}).get("completion_tokens", 0)) for r in timed)
    busy = sum(r["latency_s"] for r in timed if r.get("latency_s") and r.get("usage"))
    section = {
        "n": n, "passed": passed, "failed": n - passed, "errors": errors,
        "score": score, "metric": metric, "ci95": [round(ci[0], 6), round(ci[1], 6)],
        "metrics": metrics, "by_category": agg.get("by_category", {}),
        "latency_s": {"p50": round(percentile(latencies, 0.5), 6),
                      "p95": round(percentile(latencies, 0.95), 6)},
        "latency_source": "measured" if fresh else ("recorded" if graded else None),
        "usage": dict(usage),
        "tokens_per_s": round(fresh_tokens / busy, 3) if busy else None,
        "cached": sum(1 for r in graded if r.get("cached")),
        "cache": {"hits": sum(int(r.get("cache_hits") or 0) for r in records),
                  "calls": sum(int(r.get("calls") or 0) for r in records)},
        "truncated": sum(1 for r in graded if r.get("truncated")),
    }
    for key, value in agg.items():
        if key not in ("metrics", "by_category", "score"):
            section[key] = value
    return section
