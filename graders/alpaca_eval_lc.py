"""Length-controlled AlpacaEval win rate (Dubois, Galambosi, Liang & Hashimoto 2024,
"Length-Controlled AlpacaEval: A Simple Way to Debias Automatic Evaluators", arXiv:2404.04475).

Follows tatsu-lab/alpaca_eval ``src/alpaca_eval/metrics/glm_winrate.py`` (GLM
``length_controlled_v1``): a logistic regression of the judge's preference for the model over
the baseline (a probability in [0, 1]; ties 0.5) on

* a model term (a constant column; no separate intercept),
* the length term ``tanh(delta / std(delta))`` where ``delta`` is the difference in characters
  between the two outputs, scaled by its sample standard deviation (ddof=1) and not centred,
* optionally the instruction-difficulty term: a precomputed per-instruction difficulty
  ``gamma_x`` times a fitted coefficient.

The fit minimises ``||w||_1 + C * sum(cross-entropy)`` with soft labels (what the reference
gets from liblinear by duplicating each row with weights p and 1-p), C picked from
``logspace(-4, 4, 10)`` by 5-fold cross-validated log loss and then refitted on all rows. The LC
win rate is the mean predicted preference with the length term set to zero, times 100.

Differences from the reference, reported in the result:

* ``delta`` is model minus baseline (the paper's sign); the reference uses baseline minus model,
  so its length weight has the opposite sign. The predicted win rate is unaffected.
* The reference also adds AlpacaEval's annotations of gamed baselines (verbose/concise
  variants of the baseline) at total weight 0.2 so the length slope is shrunk towards theirs;
  those annotations are not available offline, so the fit uses the model's rows only.
* ``gamma_x`` comes from AlpacaEval's ``instruction_difficulty.csv``, estimated jointly over
  many models. With one model's annotations it is confounded with the model term, so the term
  is only fitted when the caller supplies the difficulties.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

Array = NDArray[np.float64]

CS = np.logspace(-4, 4, 10)  # sklearn LogisticRegressionCV's default grid (Cs=10)
N_SPLITS = 5
C_WITHOUT_CV = 100.0  # the reference's C when cross-validation is off
NOT_IDENTIFIABLE = (
    "not fitted: the per-instruction difficulty must be estimated jointly from many models' "
    "annotations (AlpacaEval's instruction_difficulty.csv); with one model's annotations it "
    "is confounded with the model term"
)
NO_GAMED_BASELINES = (
    "not applied: the reference also fits AlpacaEval's gamed-baseline annotations (weight 0.2) "
    "to shrink the length slope; they are not available offline"
)


def preference_value(pref: Any) -> float | None:
    """AlpacaEval preference in [1, 2] (0 is the legacy tie code -> 1.5); None when invalid.

    Numbers and numeric strings are accepted (upstream files hold both); NaN is invalid.
    """
    if pref is None or isinstance(pref, bool):
        return None
    try:
        value = float(pref)
    except (TypeError, ValueError, OverflowError):
        return None
    if value == 0.0:
        value = 1.5
    return value if 1.0 <= value <= 2.0 else None


def _logistic(z: Array) -> Array:
    result: Array = np.exp(-np.logaddexp(0.0, -z))
    return result


def _soft_log_loss(z: Array, y: Array) -> Array:
    """Per-row cross-entropy of soft labels ``y`` against ``sigmoid(z)``."""
    result: Array = y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z)
    return result


def fit_l1_logistic(x: Array, y: Array, c: float) -> Array:
    """Weights minimising ``||w||_1 + c * sum(soft cross-entropy)``; no intercept.

    Solved as a smooth bound-constrained problem over ``w = u - v`` with ``u, v >= 0``; the
    objective is divided by ``c * n`` (same minimiser) to keep L-BFGS-B well scaled.
    """
    n, k = x.shape
    if n == 0:
        return np.zeros(k)
    scale = 1.0 / (c * n)

    def objective(uv: Array) -> tuple[float, Array]:
        w = uv[:k] - uv[k:]
        z = x @ w
        grad_loss = x.T @ (_logistic(z) - y) / n
        value = scale * float(uv.sum()) + float(_soft_log_loss(z, y).mean())
        return value, np.concatenate([scale + grad_loss, scale - grad_loss])

    result = minimize(
        objective, np.zeros(2 * k), jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * (2 * k),
        options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-10},
    )
    uv = np.asarray(result.x, dtype=float)
    weights: Array = uv[:k] - uv[k:]
    return weights


def select_c(x: Array, y: Array, n_splits: int = N_SPLITS) -> float:
    """C from ``CS`` with the best mean held-out log loss over ``n_splits`` folds (first best)."""
    folds = np.arange(len(y)) % n_splits
    scores = np.zeros(len(CS))
    for fold in range(n_splits):
        train, test = folds != fold, folds == fold
        for i, c in enumerate(CS):
            w = fit_l1_logistic(x[train], y[train], float(c))
            z = np.clip(x[test] @ w, -34.5, 34.5)  # the reference clips probabilities to 1e-15
            scores[i] -= float(_soft_log_loss(z, y[test]).mean())
    return float(CS[int(np.argmax(scores))])


def _difficulty_column(
    n: int, instruction_ids: Sequence[str | int] | None,
    difficulty: Mapping[str, float] | None,
) -> tuple[Array | None, str]:
    if difficulty is None:
        return None, NOT_IDENTIFIABLE
    if instruction_ids is None or len(instruction_ids) != n:
        return None, "not fitted: instruction difficulties need one instruction id per row"
    missing = [i for i in instruction_ids if str(i) not in difficulty]
    if missing:
        return None, f"not fitted: no difficulty for {len(missing)} of {n} instructions"
    column = np.array([float(difficulty[str(i)]) for i in instruction_ids])
    if not np.all(np.isfinite(column)):
        return None, "not fitted: non-finite instruction difficulty"
    return column, "fitted with the supplied per-instruction difficulties"


def lc_win_rate(
    prefs: Sequence[float | str | None],
    model_lengths: Sequence[int | float],
    baseline_lengths: Sequence[int | float],
    instruction_ids: Sequence[str | int] | None = None,
    difficulty: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Length-controlled win rate (percent) of the model over the baseline.

    ``prefs`` use AlpacaEval's convention (1 baseline preferred, 2 model preferred, 1.5 or 0
    tie, fractions allowed; None/out-of-range rows are dropped). Lengths are in characters.
    ``difficulty`` maps ``str(instruction_id)`` to AlpacaEval's precomputed difficulty; without
    it the instruction term is not fitted and the result's ``instruction_difficulty`` says why.
    Returns ``lc_win_rate`` (None when no valid preference), the GLM ``weights``, the chosen
    ``C``, the length ``scale`` and ``n``.
    """
    n_rows = len(prefs)
    if len(model_lengths) != n_rows or len(baseline_lengths) != n_rows:
        raise ValueError("prefs, model_lengths and baseline_lengths must have the same length")
    delta = np.array(model_lengths, dtype=float) - np.array(baseline_lengths, dtype=float)
    scale = float(np.std(delta, ddof=1)) if n_rows > 1 else math.nan
    # Scale over all rows before dropping invalid preferences, as the reference does.
    length = np.tanh(delta / scale) if math.isfinite(scale) and scale > 0 else np.zeros(n_rows)
    gamma, status = _difficulty_column(n_rows, instruction_ids, difficulty)

    values = [preference_value(p) for p in prefs]
    keep = np.array([v is not None for v in values], dtype=bool)
    y = np.array([v - 1.0 for v in values if v is not None])
    columns = [np.ones(n_rows), length] + ([gamma] if gamma is not None else [])
    x = np.column_stack(columns)[keep]
    result: dict[str, Any] = {
        "lc_win_rate": None, "n": int(keep.sum()), "C": None,
        "scale": scale if math.isfinite(scale) else None,
        "weights": {"model": 0.0, "length": 0.0, "instruction_difficulty": None},
        "instruction_difficulty": status, "regularize_to_baseline": NO_GAMED_BASELINES,
    }
    if len(y) == 0:
        return result
    c = select_c(x, y) if len(y) >= 2 * N_SPLITS else C_WITHOUT_CV
    w = fit_l1_logistic(x, y, c)
    no_length = x.copy()
    no_length[:, 1] = 0.0
    result["lc_win_rate"] = float(_logistic(no_length @ w).mean() * 100.0)
    result["C"] = c
    result["weights"] = {
        "model": float(w[0]), "length": float(w[1]),
        "instruction_difficulty": float(w[2]) if gamma is not None else None,
    }
    return result
