"""Writing ``report.json`` (merged per benchmark), ``<benchmark>.items.jsonl``, gates and the
terminal summary table."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import benchgate

SUITE_ROOT = Path(__file__).resolve().parents[1]


def git_sha() -> str | None:
    """The suite's git commit, if it runs from a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=SUITE_ROOT, capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def evaluate_gates(thresholds: dict[str, float], benchmarks: dict[str, Any]) -> list[dict[str, Any]]:
    """Gate verdicts for the benchmarks present; an unknown metric fails its gate."""
    gates = []
    for key, minimum in sorted(thresholds.items()):
        bench, _, metric = key.partition(".")
        section = benchmarks.get(bench)
        if section is None:
            continue
        value = section["score"] if metric == "score" else section["metrics"].get(metric)
        if value is None:
            value = section.get(metric) if isinstance(section.get(metric), (int, float)) else None
        ok = value is not None and value >= minimum
        gate = {"key": key, "min": minimum, "value": value, "ok": ok}
        if value is None:
            gate["reason"] = f"no metric {metric!r} (have: {', '.join(section['metrics'])})"
        gates.append(gate)
    return gates


def run_info(started: str, finished: str, data: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """The ``run`` block of a benchmark section."""
    return {"started_at": started, "finished_at": finished,
            "suite_version": benchgate.__version__, "git_sha": git_sha(), "data": data, **extra}


def _fmt(value: Any, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def summary_lines(sections: dict[str, dict[str, Any]], gates: list[dict[str, Any]],
                  report_path: Path) -> list[str]:
    """The table printed at the end of the session, then the gate verdicts."""
    head = ("benchmark", "n", "metric", "score", "95% CI", "errors", "p50 s", "tok/s")
    rows = [head]
    for name, s in sections.items():
        mark = "*" if s.get("latency_source") == "recorded" else ""
        rows.append((name, str(s["n"]), s["metric"], _fmt(s["score"]),
                     f"[{s['ci95'][0]:.3f}, {s['ci95'][1]:.3f}]", str(s["errors"]),
                     _fmt(s["latency_s"]["p50"]) + mark, _fmt(s.get("tokens_per_s"), 1) + mark))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if any(s.get("latency_source") == "recorded" for s in sections.values()):
        lines.append("* latency and tok/s recorded when the cached responses were made, not "
                     "measured now")
    calls = sum(s.get("cache", {}).get("calls", 0) for s in sections.values())
    hits = sum(s.get("cache", {}).get("hits", 0) for s in sections.values())
    lines.append(f"calls: {calls} made, {hits} from cache")
    truncated = sum(s.get("truncated", 0) for s in sections.values())
    if truncated:
        lines.append(f"{truncated} response(s) truncated at the response-size cap (flagged in "
                     "the items file)")
    for name, s in sections.items():
        cmp = s.get("baseline")
        if cmp and int(cmp.get("repeats") or 1) > 1:
            lines.append(f"{name} vs baseline {cmp['name']} ({cmp['repeats']} repeats): "
                         f"{cmp['paired']} paired, fixed {cmp['fixed']}, broken {cmp['broken']}, "
                         f"flaky {cmp['flaky']}, pass rate {100 * cmp['delta']:+.1f} points, "
                         f"{cmp['test']} p={cmp['p']:.3g}")
        elif cmp:
            lines.append(f"{name} vs baseline {cmp['name']}: {cmp['paired']} paired, fixed "
                         f"{cmp['fixed']}, broken {cmp['broken']}, McNemar p={cmp['mcnemar_p']:.3g}")
        if cmp and cmp.get("flaky"):
            lines.append(f"{name}: {cmp['flaky']} flaky item(s): their verdict flips within the "
                         f"baseline's {cmp['repeats']} repeats (never failing the run)")
    for g in gates:
        if "max_p" in g:
            verdict = "ok" if g["ok"] else "FAILED"
            lines.append(f"gate {g['key']}: {verdict} (broken {g['broken']} vs fixed {g['fixed']}, "
                         f"p={g['value']:.3g}, fails below {g['max_p']}; "
                         f"{g.get('test', 'McNemar exact')})")
        elif g["ok"]:
            lines.append(f"gate {g['key']} >= {g['min']}: ok ({_fmt(g['value'])})")
        elif g["value"] is None:
            lines.append(f"gate {g['key']} >= {g['min']}: FAILED, {g.get('reason', 'no value')}")
        else:
            lines.append(f"gate {g['key']} >= {g['min']}: FAILED, got {_fmt(g['value'])} "
                         f"(short by {g['min'] - g['value']:.3f})")
    errors = sum(s["errors"] for s in sections.values())
    if errors:
        lines.append(f"{errors} item(s) errored (infrastructure, not scored): exit status non-zero")
    lines.append(f"report: {report_path}")
    return lines
