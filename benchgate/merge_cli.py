"""The ``benchgate merge`` subcommand: merge shard reports, gate them, print the summary.

Gates are the shards' own thresholds (the highest where shards differ) plus ``--threshold``;
the regression gate uses the shards' ``--max-regression-p`` unless given here. The exit
status is the one the unsharded pytest run would have had.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from benchgate import options
from benchgate.config import parse_threshold
from benchgate.errors import ConfigError
from benchgate.exitstatus import decide, forgiven
from benchgate.merge import USAGE, MergeError, Part, load, merged_records, merged_section, task_for
from benchgate.regression import gate as regression_gate
from benchgate.report import evaluate_gates, summary_lines
from benchgate.store import commit
from benchgate.task import Task


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``benchgate merge`` flags."""
    parser.add_argument("reports", nargs="+", metavar="REPORT_DIR",
                        help="folders holding a shard's report.json and items files")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="write the merged report.json and items files here")
    parser.add_argument("--threshold", action="append", default=[], metavar="KEY=MIN",
                        help="gate on the merged result, e.g. gsm8k.accuracy=0.6 (repeatable; "
                             "the shards' own thresholds apply too)")
    parser.add_argument("--max-regression-p", type=float, metavar="P",
                        help="regression gate vs the baseline (default: the shards' setting)")
    parser.add_argument("--strict-regressions", action="store_true",
                        help="any regressed item fails, as pytest --strict-regressions")
    parser.add_argument("--rootdir", default=".", metavar="DIR",
                        help="the suite's root, where the benchmark modules import from "
                             "(default: the current folder)")


def _thresholds(parts: dict[str, list[Part]], given: list[str],
                tasks: dict[str, Task]) -> dict[str, float]:
    found: dict[str, float] = {}
    for bench, group in parts.items():
        for part in group:
            for g in part.report.get("gates") or []:
                if "min" in g and str(g.get("key", "")).split(".")[0] == bench:
                    found[g["key"]] = max(float(g["min"]), found.get(g["key"], float("-inf")))
    for text in given:
        key, minimum = parse_threshold(text)
        bench, _, metric = key.partition(".")
        task = tasks.get(bench)
        if task is None:
            raise MergeError(f"--threshold {key}: no benchmark {bench!r} in the reports "
                             f"(have: {', '.join(sorted(tasks))})")
        if not task.knows_metric(metric):
            known = ", ".join(sorted({task.metric, *task.metrics, "score"}))
            raise MergeError(f"--threshold {key}: {bench} has no metric {metric!r} (valid: {known})")
        found[key] = minimum
    return found


def _max_p(parts: dict[str, list[Part]], given: float | None) -> float | None:
    if given is not None:
        if not 0.0 < given <= 1.0:
            raise MergeError(f"--max-regression-p {given}: use a p-value above 0 and at most 1")
        return given
    for group in parts.values():
        for part in group:
            for g in part.report.get("gates") or []:
                if "max_p" in g:
                    return float(g["max_p"])
    default = options.DEFAULTS.get("max_regression_p")
    return None if default is None else float(default)


def _xfailed(rec: dict[str, Any]) -> bool:
    base = rec.get("baseline")
    return base is not None and (not base.get("passed") or bool(base.get("flaky")))


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """Merge, write, print; the exit status."""
    parts = load([Path(p) for p in args.reports])
    out = Path(args.out) / "report.json"
    if any(p.folder.resolve() == out.parent.resolve() for g in parts.values() for p in g):
        raise MergeError(f"--out {args.out}: is one of the shard folders; write elsewhere")
    rootdir = Path(args.rootdir).resolve()
    records = {bench: merged_records(bench, group) for bench, group in parts.items()}
    tasks = {bench: task_for(bench, recs, rootdir) for bench, recs in records.items()}
    sections = {bench: merged_section(parts[bench], records[bench], tasks[bench],
                                      ["benchgate", "merge", *argv]) for bench in records}
    thresholds = _thresholds(parts, args.threshold, tasks)
    gates = evaluate_gates(thresholds, sections)
    max_p = _max_p(parts, args.max_regression_p)
    for bench, section in sections.items():
        if section["baseline"] is not None and max_p is not None:
            gates.append(regression_gate(bench, section["baseline"], max_p))
    model = dict(next(iter(parts.values()))[0].report.get("model") or {})
    endpoints = [e for g in parts.values() for p in g for e in (p.report.get("model") or {}).get(
        "endpoints") or []]
    model["endpoints"] = list(dict.fromkeys(endpoints))  # each shard may have had its own

    def update(report: dict[str, Any], old_items: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        had = (report.get("model") or {}).get("name")
        if had not in (None, model.get("name")):
            raise MergeError(f"--out {args.out}: holds a report of model {had!r}, not "
                             f"{model.get('name')!r}")
        report["model"] = model
        report["benchmarks"].update(sections)
        report["gates"] = [g for g in report.get("gates", [])
                           if g["key"].split(".")[0] not in sections] + gates
        return report, records

    commit(out, update)
    folders = sorted({str(p.folder) for g in parts.values() for p in g})
    print(f"merged {len(folders)} shard report(s): " + ", ".join(
        f"{b} ({sections[b]['n'] + sections[b]['errors']} items)" for b in sections))
    for line in summary_lines(sections, gates, out):
        print(line)
    failed = {r["nodeid"] for recs in records.values() for r in recs
              if r.get("test_outcome") == "failed" and not _xfailed(r)}
    errors = sum(1 for recs in records.values() for r in recs if r["outcome"] == "error")
    forgive = forgiven(records, thresholds, False, args.strict_regressions)
    return decide(1 if failed else 0, failed, forgive, errors, any(not g["ok"] for g in gates))


def main(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """``benchgate merge``: exit status as the plugin's, 4 with one line on bad input."""
    try:
        return run(args, list(sys.argv[2:] if argv is None else argv))
    except ConfigError as exc:
        print(f"benchgate merge: {exc}", file=sys.stderr)
        return USAGE
