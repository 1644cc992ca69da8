"""The comparison's data: reports and items loaded, paired and tabulated as plain rows.

Inputs are ``report.json`` files and the ``<benchmark>.items.jsonl`` files beside them. Items
are paired on (benchmark, id), repeat 0, both graded (``passed`` or ``failed``; errors are not
model verdicts); the first report is the baseline. :mod:`.markdown`, :mod:`.csv` and
:mod:`.html` only format what :func:`build` computes; :mod:`.sweep` adds the view across
three or more runs (a checkpoint sweep).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchgate.baseline import mcnemar_exact

GRADED = ("passed", "failed")
MAX_IDS = 100  # ids listed per line in the markdown; CSV and HTML have them all
RUN_KEYS = ("limit", "per_category", "sample_seed", "repeats")


class CompareError(Exception):
    """Bad input or output path: a one-line message for stderr, exit status 2."""


@dataclass
class Run:
    """One report and its items, under a display label unique within the comparison."""

    path: Path
    report: dict[str, Any]
    label: str = ""
    items: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # bench -> id -> rec

    @property
    def name(self) -> str:
        return str(self.report.get("model", {}).get("name") or self.path.parent.name)

    @property
    def sections(self) -> dict[str, dict[str, Any]]:
        sections: dict[str, dict[str, Any]] = self.report["benchmarks"]
        return sections


@dataclass
class ItemDiff:
    """Paired verdicts of one benchmark between the baseline and another run."""

    benchmark: str
    model: str
    baseline: str
    available: bool
    rows: list[dict[str, Any]] = field(default_factory=list)
    unpaired: int = 0

    def ids(self, change: str) -> list[str]:
        return [r["id"] for r in self.rows if r["change"] == change]

    @property
    def p(self) -> float | None:
        return mcnemar_exact(len(self.ids("fixed")), len(self.ids("broken"))) if self.available else None


@dataclass
class Comparison:
    """Everything the markdown, CSV and HTML outputs show, as rows of plain values."""

    runs: list[Run]
    benchmarks: list[str]
    headline: list[dict[str, Any]]
    metrics: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    diffs: list[ItemDiff]
    notes: list[str]


def natural(value: Any) -> list[Any]:
    """Sort key putting ``2`` before ``10`` and ``HumanEval/2`` before ``HumanEval/10``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(value))]


def _read(path: Path) -> str | None:
    """A file's text, None when it does not exist; :class:`CompareError` when unreadable."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CompareError(f"{path}: cannot read ({exc})") from None


def load_run(path: Path) -> Run:
    """Read a report (or ``DIR/report.json``) and its items files; :class:`CompareError` if not one."""
    path = path / "report.json" if path.is_dir() else path
    if (text := _read(path)) is None:
        raise CompareError(f"{path}: no such file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CompareError(f"{path}: not a benchgate report (invalid JSON at line {exc.lineno})") from None
    if not (isinstance(data, dict) and data.get("schema_version") == 1
            and isinstance(data.get("benchmarks"), dict)
            and all(isinstance(s, dict) and "score" in s for s in data["benchmarks"].values())):
        raise CompareError(f"{path}: not a benchgate report (expected schema_version 1 with benchmarks)")
    data["model"] = data["model"] if isinstance(data.get("model"), dict) else {}
    run = Run(path, data)
    for bench in run.sections:
        run.items[bench] = load_items(path.parent / f"{bench}.items.jsonl", run.name)
    return run


def load_items(path: Path, model: str) -> dict[str, dict[str, Any]]:
    """Item id -> its repeat-0 record of ``model`` ({} when the items file is absent)."""
    out: dict[str, dict[str, Any]] = {}
    for number, line in enumerate((_read(path) or "").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            rec = None
        if not isinstance(rec, dict) or "id" not in rec:
            raise CompareError(f"{path}:{number}: not an items file (one JSON object with an id per line)")
        if rec.get("repeat", 0) == 0 and rec.get("model") in (None, model):
            out[str(rec["id"])] = rec
    return out


def label_runs(runs: list[Run]) -> None:
    """Model names as labels; the report's folder name, then a suffix, where names repeat."""
    names = [r.name for r in runs]
    if len(set(names)) < len(names):
        names = [r.path.resolve().parent.name or r.name for r in runs]
    for i, run in enumerate(runs):
        run.label = names[i] if names.count(names[i]) == 1 else f"{names[i]}#{i + 1}"


def group_value(value: Any, metric: str) -> tuple[float | None, int | None]:
    """(value, n) of one ``by_*`` entry: a number, or a dict with the metric, ``score`` or any number."""
    entry = value if isinstance(value, dict) else {metric: value}
    n = entry.get("n") if isinstance(entry.get("n"), int) else None
    numbers = [v for k, v in [(metric, entry.get(metric)), ("score", entry.get("score")), *entry.items()]
               if k != "n" and isinstance(v, (int, float)) and not isinstance(v, bool)]
    return (float(numbers[0]) if numbers else None), n


def _delta(value: float | None, base: float | None) -> float | None:
    return None if value is None or base is None else value - base


def _run_differences(base: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """Names of the run settings in which two report sections differ (data, judge, limit...)."""
    diff = [k for k in RUN_KEYS if base.get(k) != other.get(k)]
    if (base.get("data") or {}) != (other.get("data") or {}):
        diff.insert(0, "data")
    judges = [(r.get("judge") or {}).get("name") for r in (base, other)]
    if judges[0] != judges[1]:
        diff.append("judge")
    return diff


def diff_items(bench: str, base: Run, other: Run) -> ItemDiff:
    """Pair the graded repeat-0 verdicts of two runs on one benchmark."""
    a, b = base.items.get(bench, {}), other.items.get(bench, {})
    result = ItemDiff(bench, other.label, base.label, available=bool(a) and bool(b))
    graded_a = {k for k, r in a.items() if r.get("outcome") in GRADED}
    graded_b = {k for k, r in b.items() if r.get("outcome") in GRADED}
    result.unpaired = len(graded_a ^ graded_b)
    for key in sorted(graded_a & graded_b, key=natural):
        was, now = a[key]["outcome"] == "passed", b[key]["outcome"] == "passed"
        change = "fixed" if now and not was else "broken" if was and not now else "same"
        result.rows.append({"benchmark": bench, "id": key, "category": b[key].get("category"),
                            "baseline_outcome": a[key]["outcome"], "outcome": b[key]["outcome"],
                            "baseline_score": a[key].get("score"), "score": b[key].get("score"),
                            "change": change})
    return result


def build(runs: list[Run]) -> Comparison:
    """Compute every table of the comparison; ``runs[0]`` is the baseline."""
    label_runs(runs)
    base = runs[0]
    cmp = Comparison(runs, list(dict.fromkeys(b for r in runs for b in r.sections)), [], [], [], [], [])
    for bench in cmp.benchmarks:
        ref = base.sections.get(bench) or {}
        for run in runs:
            s, is_base = run.sections.get(bench), run is base
            if s is None:
                cmp.notes.append(f"{bench}: not in {run.label} ({run.path})")
                continue
            metric = str(s.get("metric", "score"))
            same = not is_base and bool(ref) and ref.get("metric", "score") == metric
            ci = s.get("ci95") or [None, None]
            cmp.headline.append({
                "benchmark": bench, "metric": metric, "model": run.label, "n": s.get("n"),
                "errors": s.get("errors"), "score": s.get("score"), "ci_low": ci[0], "ci_high": ci[1],
                "delta": _delta(s.get("score"), ref.get("score")) if same else None})
            for name, value in (s.get("metrics") or {}).items():
                if isinstance(value, (int, float)):
                    base_value = None if is_base else (ref.get("metrics") or {}).get(name)
                    cmp.metrics.append({"benchmark": bench, "metric": name, "model": run.label,
                                        "value": value, "delta": _delta(value, base_value)})
            for key, groups in s.items():
                for cat, entry in groups.items() if key.startswith("by_") and isinstance(groups, dict) \
                        else ():
                    value, n = group_value(entry, metric)
                    base_value = None if is_base else group_value((ref.get(key) or {}).get(cat), metric)[0]
                    cmp.groups.append({"benchmark": bench, "group": key[3:], "key": str(cat),
                                       "model": run.label, "n": n, "value": value,
                                       "delta": _delta(value, base_value)})
            if ref and not is_base:
                cmp.diffs.append(diff_items(bench, base, run))
                differs = _run_differences(ref.get("run") or {}, s.get("run") or {})
                if differs:
                    cmp.notes.append(f"{bench}: {run.label} differs from the baseline in "
                                     f"{', '.join(differs)}; scores may not be comparable")
    return cmp


def fmt(value: Any, sign: bool = False) -> str:
    """A table cell: ``-`` for missing, 3 decimals for floats (signed for deltas)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:+.3f}" if sign else f"{value:.3f}"
    return str(value)


def fmt_p(p: float | None) -> str:
    """A p-value with 3 significant digits."""
    return "-" if p is None else f"{p:.3g}"


def wide(cmp: Comparison, rows: list[dict[str, Any]], title: str) -> tuple[list[str], list[list[str]]]:
    """(head, rows): ``key`` down, models across, then a delta column per non-baseline model."""
    labels = [r.label for r in cmp.runs if rows and rows[0]["benchmark"] in r.sections]
    others = [m for m in labels if m != cmp.runs[0].label]
    cells = {(r["key"], r["model"]): r for r in rows}
    with_n = any(r.get("n") is not None for r in rows)
    out = []
    for k in sorted(dict.fromkeys(r["key"] for r in rows), key=natural):
        n = next((c["n"] for m in labels if (c := cells.get((k, m))) and c.get("n") is not None), None)
        got = [cells.get((k, m)) or {} for m in labels]
        out.append([str(k), *([fmt(n)] if with_n else []), *[fmt(c.get("value")) for c in got],
                    *[fmt(c.get("delta"), True) for m, c in zip(labels, got, strict=True) if m in others]])
    return [title, *(["n"] if with_n else []), *labels, *[f"Δ {m}" for m in others]], out


def sections(cmp: Comparison) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(benchmark, group, rows) for the per-category tables: ``by_*`` groups, then other metrics."""
    shown = {(h["benchmark"], h["metric"]) for h in cmp.headline}
    out = []
    for bench in cmp.benchmarks:
        rows = [g for g in cmp.groups if g["benchmark"] == bench]
        out += [(bench, group, [g for g in rows if g["group"] == group])
                for group in dict.fromkeys(g["group"] for g in rows)]
        grouped = {g["key"] for g in rows}  # e.g. MT-Bench's turn1/turn2 metrics = by_turn
        extra = [{**m, "key": m["metric"]} for m in cmp.metrics if m["benchmark"] == bench
                 and (bench, m["metric"]) not in shown and m["metric"] not in grouped]
        out += [(bench, "other metrics", extra)] if extra else []
    return out


def mcnemar_rows(cmp: Comparison) -> list[dict[str, Any]]:
    """Discordant pair counts and McNemar's exact p per benchmark and non-baseline model."""
    return [{"benchmark": d.benchmark, "model": d.model, "baseline": d.baseline, "paired": len(d.rows),
             "unpaired": d.unpaired, "fixed": len(d.ids("fixed")), "broken": len(d.ids("broken")),
             "p": d.p} for d in cmp.diffs if d.available]
