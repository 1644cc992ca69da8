"""``benchgate calibrate``: how noisy a benchmark is for one model, and what the gate can see.

From K repeated runs of one model (a ``--repeats K`` run, or several runs' items files), per
benchmark: the score of each run (repeat r of every item) and their run-to-run spread; how many
items flip within the K runs; and, for the regression gate (a later one-repeat run against a
K-repeat baseline, :mod:`benchgate.regression`), the smallest drop it detects at ``--alpha``:

- the standard error of the mean per-item change of pass rate under no change is
  sqrt(sum_i v_i (1 + 1/K)) / n, with v_i = K/(K-1) p_i (1 - p_i) the unbiased estimate of
  item i's variance from its K runs (the sign-flip test's null variance, normal approximation);
- the *critical drop* z_{1-alpha/2} SE is what a run must lose to fail the gate (detected half
  the time); the *minimum detectable drop* (z_{1-alpha/2} + z_power) SE is detected with
  probability ``--power`` (the usual sample-size formula, e.g. Chow, Shao & Wang 2008, ch. 3);
- the suggested ``--threshold`` is mean - z_{1-alpha} x run-to-run SD: an unchanged model falls
  below it in about ``alpha`` of its runs.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scipy.stats import norm


class CalibrateError(Exception):
    """Bad input to ``benchgate calibrate`` (one line, exit 2)."""


def _items_files(path: Path) -> list[tuple[Path, str | None]]:
    """(items file, headline metric or None) for a report, its folder or an items file."""
    if path.is_dir():
        path = path / "report.json"
    if path.name.endswith(".items.jsonl"):
        if not path.is_file():
            raise CalibrateError(f"{path}: no such file")
        return [(path, None)]
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CalibrateError(f"{path}: not a readable report.json ({exc})") from None
    benches = report.get("benchmarks") if isinstance(report, dict) else None
    if not isinstance(benches, dict) or not benches:
        raise CalibrateError(f"{path}: a report without benchmarks")
    out = []
    for name, section in sorted(benches.items()):
        items = path.parent / f"{name}.items.jsonl"
        if not items.is_file():
            raise CalibrateError(f"{path}: its items file {items.name} is missing")
        out.append((items, section.get("metric") if isinstance(section, dict) else None))
    return out


def _records(path: Path) -> Iterable[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    raise CalibrateError(f"{path}:{number}: not a JSON line") from None


def collect(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """Per benchmark: ``runs`` (run -> item id -> (passed, score)) and ``metric``. Each file's
    repeat r is a run; errored records are left out."""
    out: dict[str, dict[str, Any]] = {}
    for number, given in enumerate(paths):
        for items, metric in _items_files(given):
            for rec in _records(items):
                if rec.get("outcome") not in ("passed", "failed"):
                    continue
                bench = out.setdefault(str(rec.get("benchmark")), {"runs": {}, "metric": metric})
                run = bench["runs"].setdefault((number, items.name, int(rec.get("repeat", 0))), {})
                score = rec.get("score")
                run[str(rec["id"])] = (rec["outcome"] == "passed",
                                       float(score if score is not None else rec["outcome"] == "passed"))
    return out


def calibrate(runs: dict[Any, dict[str, tuple[bool, float]]], alpha: float,
              power: float) -> dict[str, Any]:
    """The figures for one benchmark from its runs (items present in every run)."""
    if len(runs) < 2:
        raise CalibrateError("needs at least 2 runs (record with --repeats K, K >= 2)")
    common = sorted(set.intersection(*(set(r) for r in runs.values())), key=str)
    if not common:
        raise CalibrateError("no item was graded in every run")
    k, n = len(runs), len(common)
    scores = [statistics.fmean(run[i][1] for i in common) for run in runs.values()]
    rates = [sum(run[i][0] for run in runs.values()) / k for i in common]
    variance = sum(k / (k - 1) * p * (1 - p) for p in rates) * (1 + 1 / k)
    se = math.sqrt(variance) / n
    z_alpha, z_power = float(norm.ppf(1 - alpha / 2)), float(norm.ppf(power))
    mean, sd = statistics.fmean(scores), statistics.stdev(scores)
    floor = math.floor((mean - float(norm.ppf(1 - alpha)) * sd) * 1000) / 1000
    return {"runs": k, "items": n, "mean": mean, "sd": sd, "min": min(scores), "max": max(scores),
            "flaky": sum(0 < p < 1 for p in rates), "se": se, "critical_drop": z_alpha * se,
            "detectable_drop": (z_alpha + z_power) * se, "threshold": floor}


def lines(name: str, metric: str | None, fig: dict[str, Any], alpha: float, power: float) -> list[str]:
    """The printed block of one benchmark."""
    metric = metric or "score"
    return [
        f"{name}: {fig['runs']} runs x {fig['items']} items",
        f"  {metric} per run: mean {fig['mean']:.4f}, run-to-run SD {fig['sd']:.4f} "
        f"({100 * fig['sd']:.2f} points), range {fig['min']:.4f} to {fig['max']:.4f}",
        f"  flaky items (verdict flips within the {fig['runs']} runs): {fig['flaky']} "
        f"({fig['flaky'] / fig['items']:.1%})",
        f"  regression gate (one-repeat run vs this {fig['runs']}-repeat baseline, alpha "
        f"{alpha:g}): fails on a drop of {100 * fig['critical_drop']:.2f} points or more; "
        f"detects a {100 * fig['detectable_drop']:.2f}-point drop with power {power:g}",
        f"  suggested: --max-regression-p {alpha:g}; --threshold {name}.{metric}="
        f"{fig['threshold']:.3f} (an unchanged model falls below it in ~{alpha:.0%} of runs)",
    ]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``calibrate`` subcommand's arguments."""
    parser.add_argument("inputs", nargs="+", type=Path, metavar="REPORT",
                        help="report.json (or its folder, or a <benchmark>.items.jsonl) of a "
                             "--repeats K run; several: their repeats together are the runs")
    parser.add_argument("--alpha", type=float, default=0.05,
                        help="the gate's --max-regression-p (default 0.05)")
    parser.add_argument("--power", type=float, default=0.8,
                        help="power for the minimum detectable drop (default 0.8)")


def main(args: argparse.Namespace) -> int:
    """Run ``benchgate calibrate``; 2 with a one-line message on bad input."""
    try:
        for name, value in (("--alpha", args.alpha), ("--power", args.power)):
            if not 0 < value < 1:
                raise CalibrateError(f"{name} {value}: use a number between 0 and 1")
        found = collect(list(args.inputs))
        if not found:
            raise CalibrateError("no graded item in the inputs")
        out = []
        for name, bench in sorted(found.items()):
            try:
                fig = calibrate(bench["runs"], args.alpha, args.power)
            except CalibrateError as exc:
                raise CalibrateError(f"{name}: {exc}") from None
            out += lines(name, bench["metric"], fig, args.alpha, args.power)
    except CalibrateError as exc:
        print(f"benchgate calibrate: {exc}", file=sys.stderr)
        return 2
    print("\n".join(out))
    return 0
