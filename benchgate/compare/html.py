"""One self-contained HTML page for ``benchgate compare --html``.

Inline CSS, charts drawn with matplotlib (``Figure`` objects, no pyplot state, no GUI backend)
and embedded as inline SVG with text as paths: the page loads nothing, runs no script and looks
the same offline. Charts: score bars with their 95% intervals per benchmark, a category x model
heatmap per benchmark (every ``by_*`` group but turns), MT-Bench-style turn 1 vs turn 2 bars
(``by_turn``), and with three or more runs (a checkpoint sweep) one line chart per metric
across the runs, the headline's 95% interval as a band; then the tables of the markdown report
and the fixed / broken items.
"""

from __future__ import annotations

import io
import math
from html import escape
from pathlib import Path
from typing import Any

from benchgate.compare.model import (
    CompareError,
    Comparison,
    fmt,
    fmt_p,
    mcnemar_rows,
    natural,
    sections,
    wide,
)
from benchgate.compare.sweep import SWEEP_MIN, series, short_labels, sweep_order, sweep_table

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1150px;
color:#1d2430;background:#fff;padding:0 16px}
h1{font-size:26px;margin:0 0 8px}h2{font-size:20px;margin:32px 0 8px;border-bottom:2px solid #e3e7ee}
h3{font-size:16px;margin:20px 0 6px}
table{border-collapse:collapse;margin:6px 0 14px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d5dbe5;padding:3px 9px;text-align:right}th{background:#eef2f8}
td:first-child,th:first-child{text-align:left}
.pos{color:#137333;font-weight:600}.neg{color:#b3261e;font-weight:600}
tr.fixed td{background:#e6f4ea}tr.broken td{background:#fce8e6}
.chart svg{max-width:100%;height:auto}.muted{color:#667085}code{background:#f2f4f7;padding:0 3px}
"""
COLORS = ["#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5",
          "#9c6b4e", "#9498a0"]


def _svg(fig: Any) -> str:
    """A figure as an inline ``<svg>`` element (deterministic ids, no XML prologue)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    return f'<div class="chart">{text[text.index("<svg"):]}</div>'


def _table(head: list[str], rows: list[list[str]], classes: list[str] | None = None) -> str:
    """An HTML table; signed numeric cells are coloured by sign."""
    def cell(value: str) -> str:
        try:
            number = float(value)
        except ValueError:
            number = 0.0
        cls = ' class="pos"' if value.startswith("+") and number > 0 else \
            ' class="neg"' if value.startswith("-") and number < 0 else ""
        return f"<td{cls}>{escape(value)}</td>"

    out = ["<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr>"]
    for i, row in enumerate(rows):
        cls = f' class="{classes[i]}"' if classes else ""
        out.append(f"<tr{cls}>" + "".join(cell(c) for c in row) + "</tr>")
    return "\n".join(out) + "</table>"


def _present(cmp: Comparison, bench: str) -> list[str]:
    """Labels of the runs that have ``bench``."""
    return [r.label for r in cmp.runs if bench in r.sections]


def score_chart(cmp: Comparison, figure: Any) -> str:
    """One panel per benchmark: each model's headline score with its 95% interval."""
    everyone = [r.label for r in cmp.runs]
    ncols = min(3, len(cmp.benchmarks))
    nrows = math.ceil(len(cmp.benchmarks) / ncols)
    fig = figure(figsize=(4.2 * ncols, 3.4 * nrows))
    for i, bench in enumerate(cmp.benchmarks):
        ax, labels = fig.add_subplot(nrows, ncols, i + 1), _present(cmp, bench)
        rows = [h for h in cmp.headline if h["benchmark"] == bench and h["score"] is not None]
        x = [labels.index(h["model"]) for h in rows]
        scores = [float(h["score"]) for h in rows]
        low = [max(0.0, h["score"] - (h["ci_low"] if h["ci_low"] is not None else h["score"])) for h in rows]
        high = [max(0.0, (h["ci_high"] if h["ci_high"] is not None else h["score"]) - h["score"])
                for h in rows]
        colors = [COLORS[everyone.index(h["model"]) % len(COLORS)] for h in rows]
        ax.bar(x, scores, yerr=[low, high], capsize=5, color=colors,
               error_kw={"ecolor": "#1d2430", "elinewidth": 1.2})
        for xi, s, hi in zip(x, scores, high, strict=True):
            ax.annotate(f"{s:.3f}", (xi, s + hi), textcoords="offset points", xytext=(0, 3),
                        ha="center", fontsize=8)
        top = max([s + h for s, h in zip(scores, high, strict=True)] or [1.0])
        ax.set_ylim(0, 1.08 if top <= 1 else top * 1.15)
        ax.set_xticks(range(len(labels)), labels, rotation=20 if len(labels) > 2 else 0, fontsize=8)
        ax.set_title(f"{bench} ({rows[0]['metric'] if rows else '-'})", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    fig.tight_layout()
    return _svg(fig)


def heatmap(cmp: Comparison, bench: str, group: str, rows: list[dict[str, Any]], figure: Any) -> str:
    """Category x model heatmap of one benchmark's ``by_<group>`` values, annotated."""
    labels = _present(cmp, bench)
    keys = sorted(dict.fromkeys(r["key"] for r in rows), key=natural)
    cells = {(r["key"], r["model"]): r["value"] for r in rows}
    matrix = [[cells.get((k, m)) for m in labels] for k in keys]
    values = [v for row in matrix for v in row if v is not None]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    fig = figure(figsize=(2.2 + 1.3 * len(labels), 1.2 + 0.34 * len(keys)))
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow([[math.nan if v is None else v for v in row] for row in matrix], cmap="viridis",
                      aspect="auto", vmin=lo, vmax=hi if hi > lo else lo + 1)
    for y, row in enumerate(matrix):
        for x, v in enumerate(row):
            if v is not None:
                dark = hi > lo and (v - lo) / (hi - lo) < 0.6
                ax.text(x, y, f"{v:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if dark else "black")
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_yticks(range(len(keys)), keys, fontsize=8)
    ax.set_title(f"{bench} by {group}", fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.05)
    return _svg(fig)


def turn_chart(cmp: Comparison, bench: str, rows: list[dict[str, Any]], figure: Any) -> str:
    """Grouped bars: each model's score per turn (MT-Bench turn 1 vs turn 2)."""
    labels = _present(cmp, bench)
    turns = sorted(dict.fromkeys(r["key"] for r in rows), key=natural)
    cells = {(r["key"], r["model"]): r["value"] for r in rows}
    width = 0.8 / max(1, len(turns))
    fig = figure(figsize=(2.5 + 1.6 * len(labels), 3.2))
    ax = fig.add_subplot(1, 1, 1)
    for t, turn in enumerate(turns):
        xs = [i + (t - (len(turns) - 1) / 2) * width for i in range(len(labels))]
        ys = [cells.get((turn, m)) for m in labels]
        bars = ax.bar([x for x, y in zip(xs, ys, strict=True) if y is not None],
                      [y for y in ys if y is not None], width, label=turn.replace("turn", "turn "),
                      color=COLORS[(t + 2) % len(COLORS)])
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_title(f"{bench}: score by turn", fontsize=10)
    ax.set_ylim(0, max([r["value"] for r in rows if r["value"] is not None] or [1.0]) * 1.25)
    ax.legend(fontsize=8, loc="upper center", ncols=len(turns))
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    return _svg(fig)


def sweep_chart(cmp: Comparison, bench: str, metric: str, rows: list[dict[str, Any]],
                figure: Any) -> str:
    """One metric across the runs in sweep order; the 95% interval as a band and error bars."""
    labels = short_labels(cmp)
    order = [r.label for r in sweep_order(cmp.runs)]
    points = [(order.index(r["model"]), r) for r in rows if r["value"] is not None]
    xs = [x for x, _ in points]
    ys = [float(r["value"]) for _, r in points]
    fig = figure(figsize=(max(4.0, 1.0 + 0.9 * len(labels)), 2.9))
    ax = fig.add_subplot(1, 1, 1)
    with_ci = all(r["ci_low"] is not None and r["ci_high"] is not None for _, r in points)
    if with_ci and points:
        low = [float(r["ci_low"]) for _, r in points]
        high = [float(r["ci_high"]) for _, r in points]
        ax.fill_between(xs, low, high, color=COLORS[0], alpha=0.18, linewidth=0, label="95% CI")
        ax.errorbar(xs, ys, yerr=[[y - lo for y, lo in zip(ys, low, strict=True)],
                                  [hi - y for y, hi in zip(ys, high, strict=True)]],
                    fmt="none", ecolor=COLORS[0], elinewidth=1, capsize=3)
    ax.plot(xs, ys, marker="o", color=COLORS[0], linewidth=1.8)
    for x, y in zip(xs, ys, strict=True):
        ax.annotate(f"{y:.3f}", (x, y), textcoords="offset points", xytext=(0, 6), ha="center",
                    fontsize=8)
    ax.set_xticks(range(len(labels)), labels, rotation=20 if len(labels) > 4 else 0, fontsize=8)
    ax.set_title(f"{bench} {metric}" + (" (95% CI)" if with_ci else ""), fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)
    fig.tight_layout()
    return _svg(fig)


def _diffs(cmp: Comparison) -> list[str]:
    """Per benchmark and model: counts, McNemar's p, and a table of the fixed and broken items."""
    out = []
    for d in cmp.diffs:
        out.append(f"<h3>{escape(d.benchmark)}: {escape(d.model)} vs {escape(d.baseline)}</h3>")
        if not d.available:
            out.append(f'<p class="muted">No verdicts to pair ({escape(d.benchmark)}.items.jsonl '
                       "missing or empty beside a report).</p>")
            continue
        changed = [r for r in d.rows if r["change"] != "same"]
        out.append(f"<p>{len(d.rows)} paired" + (f" ({d.unpaired} unpaired)" if d.unpaired else "")
                   + f", <b>{len(d.ids('fixed'))} fixed</b>, <b>{len(d.ids('broken'))} broken</b>, "
                   f"McNemar exact p = {fmt_p(d.p)}</p>")
        if changed:
            out.append(_table(["id", "category", "change", f"{d.baseline} outcome", f"{d.baseline} score",
                               f"{d.model} outcome", f"{d.model} score"],
                              [[r["id"], fmt(r["category"]), r["change"], r["baseline_outcome"],
                                fmt(r["baseline_score"]), r["outcome"], fmt(r["score"])] for r in changed],
                              [r["change"] for r in changed]))
    return out


def render(cmp: Comparison) -> str:
    """The page's HTML."""
    import matplotlib
    from matplotlib.figure import Figure

    base = cmp.runs[0].label
    with matplotlib.rc_context({"svg.hashsalt": "benchgate", "svg.fonttype": "path",
                                "font.size": 9, "axes.spines.top": False, "axes.spines.right": False}):
        body = ["<h1>benchgate compare</h1>", "<ul>"]
        for i, run in enumerate(cmp.runs):
            m = run.report["model"]
            body.append(f"<li>{'baseline' if i == 0 else 'model'} <b>{escape(run.label)}</b>: served "
                        f"<code>{escape(str(m.get('served_model') or '-'))}</code>, revision "
                        f"<code>{escape(str(m.get('revision') or '-'))}</code> "
                        f'<span class="muted">({escape(str(run.path))})</span></li>')
        body += ["</ul>", "<h2>Headline metrics</h2>", score_chart(cmp, Figure) if cmp.benchmarks else ""]
        body.append(_table(["benchmark", "metric", "model", "n", "score", "95% CI", f"Δ vs {base}",
                            "errors"],
                           [[h["benchmark"], h["metric"], h["model"], fmt(h["n"]), fmt(h["score"]),
                             f"[{fmt(h['ci_low'])}, {fmt(h['ci_high'])}]", fmt(h["delta"], True),
                             fmt(h["errors"])] for h in cmp.headline]))
        if len(cmp.runs) >= SWEEP_MIN:
            body.append("<h2>Across the runs (sweep order)</h2>")
            body += [sweep_chart(cmp, b, m, rows, Figure) for b, m, rows in series(cmp)]
            body.append(_table(*sweep_table(cmp)))
        tables = sections(cmp)
        turns = [(b, rows) for b, g, rows in tables if g == "turn"]
        if turns:
            body.append("<h2>Turn 1 vs turn 2</h2>")
            body += [turn_chart(cmp, b, rows, Figure) for b, rows in turns]
        if tables:
            body.append("<h2>Per category</h2>")
        for bench, group, rows in tables:
            joint = ":" if group == "other metrics" else " by"
            body.append(f"<h3>{escape(bench)}{joint} {escape(group)}</h3>")
            if group not in ("turn", "other metrics") and any(r["value"] is not None for r in rows):
                body.append(heatmap(cmp, bench, group, rows, Figure))
            body.append(_table(*wide(cmp, rows, "metric" if group == "other metrics" else group)))
        body.append(f"<h2>Item changes vs {escape(base)}</h2>")
        body += _diffs(cmp)
        body.append("<h2>McNemar exact test (paired items)</h2>")
        body.append(_table(["benchmark", "model", "vs", "paired", "fixed", "broken", "p"],
                           [[r["benchmark"], r["model"], r["baseline"], str(r["paired"]), str(r["fixed"]),
                             str(r["broken"]), fmt_p(r["p"])] for r in mcnemar_rows(cmp)]))
        if cmp.notes:
            body += ["<h2>Notes</h2>", "<ul>", *[f"<li>{escape(n)}</li>" for n in cmp.notes], "</ul>"]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>benchgate compare: {escape(' vs '.join(r.label for r in cmp.runs))}</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")


def write_html(cmp: Comparison, path: Path) -> None:
    """Write the page; :class:`CompareError` when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CompareError("--html needs matplotlib (pip install matplotlib)") from None
    text = render(cmp)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
