"""``benchgate compare --csv DIR``: one CSV file per table."""

from __future__ import annotations

import csv
from pathlib import Path

from benchgate.compare.model import Comparison, mcnemar_rows
from benchgate.compare.sweep import SWEEP_HEAD, SWEEP_MIN, sweep_rows

CSV_HEADS = {
    "headline": ["benchmark", "metric", "model", "n", "errors", "score", "ci_low", "ci_high", "delta"],
    "metrics": ["benchmark", "metric", "model", "value", "delta"],
    "categories": ["benchmark", "group", "key", "model", "n", "value", "delta"],
    "mcnemar": ["benchmark", "model", "baseline", "paired", "unpaired", "fixed", "broken", "p"],
    "items": ["benchmark", "id", "category", "model", "baseline", "baseline_outcome", "outcome",
              "baseline_score", "score", "change"],
    "sweep": SWEEP_HEAD}


def write_csv(cmp: Comparison, directory: Path) -> list[Path]:
    """One CSV file per table (:data:`CSV_HEADS`); ``items`` holds every paired item,
    ``sweep`` (three or more runs) every metric of every run in sweep order."""
    tables = {"headline": cmp.headline, "metrics": cmp.metrics, "categories": cmp.groups,
              "mcnemar": mcnemar_rows(cmp),
              "items": [{**r, "model": d.model, "baseline": d.baseline} for d in cmp.diffs for r in d.rows]}
    if len(cmp.runs) >= SWEEP_MIN:
        tables["sweep"] = sweep_rows(cmp)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, rows in tables.items():
        paths.append(directory / f"{name}.csv")
        with paths[-1].open("w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=CSV_HEADS[name], extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
    return paths


