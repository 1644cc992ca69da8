"""The terminal (markdown) report of ``benchgate compare``."""

from __future__ import annotations

from benchgate.compare.model import MAX_IDS, Comparison, fmt, fmt_p, mcnemar_rows, sections, wide
from benchgate.compare.sweep import SWEEP_MIN, sweep_table


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    return lines + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]


def _ids(ids: list[str]) -> str:
    shown = ", ".join(f"`{i}`" for i in ids[:MAX_IDS])
    more = f" ... and {len(ids) - MAX_IDS} more" if len(ids) > MAX_IDS else ""
    return (shown + more) or "none"


def markdown(cmp: Comparison) -> str:
    """The terminal report."""
    base = cmp.runs[0].label
    out = ["# benchgate compare", ""]
    for i, run in enumerate(cmp.runs):
        m = run.report["model"]
        out.append(f"- {'baseline' if i == 0 else 'model'} **{run.label}**: served "
                   f"`{m.get('served_model') or '-'}`, revision `{m.get('revision') or '-'}` ({run.path})")
    out += ["", "## Headline metrics", ""]
    out += _table(["benchmark", "metric", "model", "n", "score", "95% CI", f"Δ vs {base}", "errors"],
                  [[h["benchmark"], h["metric"], h["model"], fmt(h["n"]), fmt(h["score"]),
                    f"[{fmt(h['ci_low'])}, {fmt(h['ci_high'])}]", fmt(h["delta"], True),
                    fmt(h["errors"])] for h in cmp.headline])
    if len(cmp.runs) >= SWEEP_MIN:
        out += ["", "## Across the runs (sweep order)", "", *_table(*sweep_table(cmp))]
    tables = sections(cmp)
    out += ["", "## Per category"] if tables else []
    for bench, group, rows in tables:
        out += ["", f"### {bench}: {group}" if group == "other metrics" else f"### {bench} by {group}", "",
                *_table(*wide(cmp, rows, "metric" if group == "other metrics" else group))]
    out += ["", f"## Item changes vs {base}", ""]
    for d in cmp.diffs:
        if not d.available:
            out.append(f"- **{d.benchmark}** {d.model}: no verdicts to pair ({d.benchmark}.items.jsonl "
                       "missing or empty beside a report)")
            continue
        fixed, broken = d.ids("fixed"), d.ids("broken")
        out += [f"- **{d.benchmark}** {d.model}: {len(d.rows)} paired"
                + (f" ({d.unpaired} unpaired)" if d.unpaired else "")
                + f", fixed {len(fixed)}, broken {len(broken)}",
                f"  - fixed ({len(fixed)}): {_ids(fixed)}", f"  - broken ({len(broken)}): {_ids(broken)}"]
    out += ["", "## McNemar exact test (paired items)", ""]
    out += _table(["benchmark", "model", "vs", "paired", "fixed", "broken", "p"],
                  [[r["benchmark"], r["model"], r["baseline"], *(str(r[k]) for k in ("paired", "fixed",
                                                                                     "broken")),
                    fmt_p(r["p"])] for r in mcnemar_rows(cmp)])
    out += ["", "## Notes", "", *[f"- {n}" for n in cmp.notes]] if cmp.notes else []
    return "\n".join(out) + "\n"


