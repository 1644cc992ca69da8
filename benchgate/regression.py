"""Noise-aware comparison with a baseline: per-item labels and the run-level paired test.

A baseline recorded with ``--repeats K`` keeps each item's pass count over its K repeats
(``passed_repeats``) and the spread of its scores (``score_sd``). Against it, an item is

- **flaky** when its verdict flipped within the baseline's own repeats (0 < passed < K): its
  own outcome (xfail-like, reason ``flaky: baseline passed j of K``), never failing the run;
- a **known failure** when it failed every baseline repeat (xfail), **fixed** if it passes now;
- a **regression** when it passed every baseline repeat and fails now.

The run-level gate is a paired sign-flip permutation test on the per-item differences of pass
rates, d_i = (share of this run's repeats passed) - (share of the baseline's repeats passed)
(Fisher 1935; Dror et al. 2018, "The Hitchhiker's Guide to Testing Statistical Significance
in NLP", ACL; per-question paired differences as in Miller 2024, "Adding Error Bars to Evals",
arXiv:2411.00640). Under no change each d_i has mean zero whatever the item's own success
probability, so items that are noisy in the model itself add variance, not bias. That is why
it is not McNemar's test restricted to the items that looked stable in the baseline: items
with a success probability between 0 and 1 that happened to pass all K baseline repeats fail
now more often than the items that happened to fail all K pass now (regression to the mean),
which would make such a test fire on an unchanged model. The test uses
:func:`scipy.stats.permutation_test` (exact up to 2^13 sign patterns of the non-zero d_i, else
9,999 seeded resamples, so a rerun gets the same p). When every d_i is -1, 0 or 1 (a baseline
and a run of one repeat each) the sign-flip test is exactly McNemar's exact test (McNemar
1947), which is then used. p is two-sided; the gate fails when the mean difference is negative
and p is below ``--max-regression-p``.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from benchgate.task import Verdict

RESAMPLES = 9_999
MCNEMAR = "McNemar exact"
SIGN_FLIP = "sign-flip permutation"


def repeat_fields(verdict: Verdict) -> dict[str, Any]:
    """What a baseline snapshot keeps of a verdict's repeats (nothing for a single repeat,
    so baselines recorded without ``--repeats`` stay as they were)."""
    if verdict.repeats < 2:
        return {}
    scores = [float(g.score) for g in verdict.grades]
    return {"repeats": verdict.repeats, "passed_repeats": sum(bool(g.passed) for g in verdict.grades),
            "score_sd": round(statistics.stdev(scores), 6)}


def base_counts(base: dict[str, Any]) -> tuple[int, int]:
    """(passed repeats, repeats) of a baseline verdict; a single-repeat one counts 1 or 0 of 1."""
    repeats = int(base.get("repeats") or 1)
    if repeats < 2 or "passed_repeats" not in base:
        return (1 if base.get("passed") else 0), 1
    return int(base["passed_repeats"]), repeats


def is_flaky(base: dict[str, Any]) -> bool:
    """Whether the item's verdict flipped within the baseline's own repeats."""
    passed, repeats = base_counts(base)
    return 0 < passed < repeats


def flaky_reason(base: dict[str, Any]) -> str:
    """The outcome reason of a flaky item, e.g. ``flaky: baseline passed 2 of 5``."""
    passed, repeats = base_counts(base)
    return f"flaky: baseline passed {passed} of {repeats}"


def mcnemar_exact(fixed: int, broken: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pair counts: under no change they
    split 50/50, so p is twice the binomial tail of min(fixed, broken) among fixed + broken."""
    n = fixed + broken
    if n == 0:
        return 1.0
    k = min(fixed, broken)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)


def paired_test(deltas: Sequence[float], seed: int = 0) -> tuple[str, float]:
    """(test name, two-sided p) of the sign-flip test on per-item differences ``deltas``."""
    import numpy as np  # here, not at import: scipy.stats costs 0.5 s at every pytest start
    from scipy.stats import permutation_test

    d = np.asarray(deltas, dtype=float)
    d = np.sort(d[np.abs(d) > 1e-12])  # sorted: the same p whatever order the items came in
    if d.size == 0:
        return MCNEMAR, 1.0
    if np.all(np.isclose(np.abs(d), 1.0)):
        return MCNEMAR, mcnemar_exact(int((d > 0).sum()), int((d < 0).sum()))
    result = permutation_test((d,), lambda x, axis: np.sum(x, axis=axis), vectorized=True,
                              permutation_type="samples", n_resamples=RESAMPLES,
                              alternative="two-sided", rng=np.random.default_rng(seed))
    return SIGN_FLIP, float(min(1.0, result.pvalue))


def _by_item(records: Sequence[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    items: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        items.setdefault(str(rec["id"]), []).append(rec)
    return items


def compare(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The section's comparison with its baseline, or None when no item has a baseline verdict.

    ``fixed``/``broken`` count the items stable in the baseline whose verdict changed (broken =
    regressions); ``flaky`` the items that flipped within the baseline's repeats; ``delta`` the
    mean per-item change in pass rate; ``p`` the run-level test's (``test``) two-sided p;
    ``mcnemar_p`` McNemar's exact p on fixed/broken (informational once the baseline has repeats).
    """
    paired: list[tuple[str, dict[str, Any], float, bool]] = []
    for item_id, recs in _by_item(records).items():
        base = recs[0].get("baseline")
        if base is None or any(r["outcome"] == "error" for r in recs):
            continue
        rate = sum(r["outcome"] == "passed" for r in recs) / len(recs)
        paired.append((item_id, base, rate, bool(recs[0].get("passed"))))
    if not paired:
        return None
    fixed, broken, flaky, deltas = [], [], [], []
    repeats = 1
    for item_id, base, rate, passed in paired:
        won, of = base_counts(base)
        repeats = max(repeats, of)
        deltas.append(rate - won / of)
        if 0 < won < of:
            flaky.append(item_id)
        elif won == of and not passed:
            broken.append(item_id)
        elif won == 0 and passed:
            fixed.append(item_id)
    test, p = paired_test(deltas)
    return {"name": paired[0][1]["name"], "paired": len(paired), "repeats": repeats,
            "fixed": len(fixed), "broken": len(broken), "flaky": len(flaky),
            "fixed_ids": sorted(fixed, key=str), "broken_ids": sorted(broken, key=str),
            "flaky_ids": sorted(flaky, key=str), "delta": round(statistics.fmean(deltas), 6),
            "test": test, "p": p, "mcnemar_p": mcnemar_exact(len(fixed), len(broken))}


def gate(bench: str, cmp: dict[str, Any], max_p: float) -> dict[str, Any]:
    """The run-level regression gate of one benchmark: fails on a significant drop."""
    return {"key": f"{bench}.regression", "max_p": max_p, "value": cmp["p"], "test": cmp["test"],
            "delta": cmp["delta"], "fixed": cmp["fixed"], "broken": cmp["broken"],
            "flaky": cmp["flaky"], "ok": not (cmp["delta"] < 0 and cmp["p"] < max_p)}


def option_problem(get: Any) -> str | None:
    """A one-line problem with ``--max-regression-p`` or ``--sim-flaky`` (``get(dest)``), or None."""
    max_p = get("max_regression_p")
    if max_p is not None and not 0.0 < float(max_p) <= 1.0:
        return f"--max-regression-p {max_p}: use a p-value above 0 and at most 1"
    flaky = get("sim_flaky")
    if flaky is not None and not 0.0 <= float(flaky) <= 1.0:
        return f"--sim-flaky {flaky}: use a fraction from 0 to 1"
    return None
