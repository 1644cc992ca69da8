"""The view across three or more runs (a checkpoint sweep): every metric of every run.

Runs keep the command line's order, except that the members of one sweep (``<key>@<dirname>``,
as ``checkpoints:`` names them) are put in natural order where the first of them stood, so
``results/sft@checkpoint-*/report.json`` (which a shell sorts ``-100, -1000, -200``) reads
``-100, -200, -1000``. Headline metrics carry their 95% interval; other metrics are values.
"""

from __future__ import annotations

from typing import Any

from benchgate.compare.model import Comparison, Run, fmt, natural

SWEEP_MIN = 3  # runs from which the sweep table and charts are shown
SWEEP_HEAD = ["model", "checkpoint", "benchmark", "metric", "headline", "value", "ci_low",
              "ci_high", "n"]


def _key(run: Run) -> tuple[str, str]:
    key, at, rest = run.name.partition("@")
    return (key, rest) if at else (run.name, "")


def sweep_order(runs: list[Run]) -> list[Run]:
    """``runs`` with each sweep's members in natural order (see the module docstring)."""
    first: dict[str, int] = {}
    for i, run in enumerate(runs):
        first.setdefault(_key(run)[0], i)
    return sorted(runs, key=lambda r: (first[_key(r)[0]], natural(_key(r)[1])))


def sweep_rows(cmp: Comparison) -> list[dict[str, Any]]:
    """One row per run, benchmark and metric, in sweep order (:data:`SWEEP_HEAD`)."""
    rows = []
    for run in sweep_order(cmp.runs):
        checkpoint = run.report["model"].get("checkpoint")
        for bench in cmp.benchmarks:
            section = run.sections.get(bench)
            if section is None:
                continue
            metric = str(section.get("metric", "score"))
            ci = section.get("ci95") or [None, None]
            rows.append({"model": run.label, "checkpoint": checkpoint, "benchmark": bench,
                         "metric": metric, "headline": True, "value": section.get("score"),
                         "ci_low": ci[0], "ci_high": ci[1], "n": section.get("n")})
            for name, value in (section.get("metrics") or {}).items():
                if name != metric and isinstance(value, int | float) and not isinstance(value, bool):
                    rows.append({"model": run.label, "checkpoint": checkpoint, "benchmark": bench,
                                 "metric": name, "headline": False, "value": value,
                                 "ci_low": None, "ci_high": None, "n": section.get("n")})
    return rows


def series(cmp: Comparison) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(benchmark, metric, rows in sweep order) per metric: what each line chart draws."""
    rows = sweep_rows(cmp)
    keys = dict.fromkeys((r["benchmark"], r["metric"]) for r in rows)
    return [(b, m, [r for r in rows if (r["benchmark"], r["metric"]) == (b, m)]) for b, m in keys]


def sweep_table(cmp: Comparison) -> tuple[list[str], list[list[str]]]:
    """(head, rows): runs down in sweep order, one column per benchmark metric; headline
    cells read ``value [low, high]``."""
    cells = {(r["model"], r["benchmark"], r["metric"]): r for r in sweep_rows(cmp)}
    columns = [(b, m) for b, m, _ in series(cmp)]
    out = []
    for run in sweep_order(cmp.runs):
        row = [run.label]
        for bench, metric in columns:
            cell = cells.get((run.label, bench, metric))
            if cell is None:
                row.append("-")
            elif cell["headline"]:
                row.append(f"{fmt(cell['value'])} [{fmt(cell['ci_low'])}, {fmt(cell['ci_high'])}]")
            else:
                row.append(fmt(cell["value"]))
        out.append(row)
    return ["model", *[f"{b} {m}" for b, m in columns]], out


def short_labels(cmp: Comparison) -> list[str]:
    """Sweep-ordered labels, without the common ``<key>@`` when every run shares it."""
    runs = sweep_order(cmp.runs)
    keys = {_key(r)[0] for r in runs}
    shared = len(keys) == 1 and all("@" in r.name for r in runs)
    return [_key(r)[1] if shared else r.label for r in runs]
