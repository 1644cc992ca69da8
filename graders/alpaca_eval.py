"""AlpacaEval 2 pairwise grading and win rates (Li et al. 2023, "AlpacaEval: An Automatic
Evaluator of Instruction-following Models"; Dubois et al. 2024, "Length-Controlled AlpacaEval",
arXiv:2404.04475).

Follows tatsu-lab/alpaca_eval: the annotator shows the model's and the baseline's outputs in
an order randomised per instruction and asks the judge which is better
(``evaluators_configs/weighted_alpaca_eval_gpt4_turbo``); preferences use the package's
convention, 1 = baseline (``output_1``) preferred, 2 = model (``output_2``) preferred, 1.5 tie
(0 is the legacy tie code); the win rate is ``mean(preference - 1) * 100`` with its standard
error ``sem * 100`` (``metrics/helpers.py``, ``describe_head2head``), so ties count half. The
length-controlled win rate is in :mod:`graders.alpaca_eval_lc` (``metrics/glm_winrate.py``).

The judge prompt is our own: it labels the outputs "A" and "B" and asks for the letter only.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from benchgate.grade import Grade
from benchgate.simjudge import JudgeRequest, simulated_judge
from graders.alpaca_eval_lc import lc_win_rate, preference_value

__all__ = [
    "aggregate_alpaca_eval",
    "build_pairwise_messages",
    "grade_alpaca_eval",
    "grade_both_orders",
    "is_extreme_change",
    "judge_hygiene",
    "lc_win_rate",
    "order_for",
    "parse_preference",
    "preference_from_verdict",
    "simulate_pairwise_judge",
    "win_rate",
]

BASELINE_WINS, TIE, MODEL_WINS = 1.0, 1.5, 2.0
MAX_VERDICT_CHARS = 80  # a bare verdict is short; also bounds regex backtracking

SYSTEM_PROMPT = (
    "You are an impartial judge of AI assistants. You will see one user instruction and two "
    "candidate responses to it, labelled A and B. Decide which response a careful, "
    "knowledgeable person would rather receive: the one that is more correct, more helpful and "
    "more faithful to what was asked. A longer response is not better for being longer, and "
    "the order in which the responses appear says nothing about their quality."
)
USER_TEMPLATE = """Instruction:
<<<
{instruction}
>>>

Response A:
<<<
{output_a}
>>>

Response B:
<<<
{output_b}
>>>

Which response is better? Reply with a single letter, A or B, and nothing else."""

_THINK = re.compile(r"^.*</think>", re.DOTALL | re.IGNORECASE)
_VERDICT = re.compile(
    r"(?:(?:the\s+)?(?:better|preferred|final)?\s*(?:response|output|answer|verdict|choice)"
    r"\s*(?:is)?\s*[:=\-]?\s*)?"
    r"[\"'`*_(\[\s]*([AB])[\"'`*_)\]\s.!]*",
    re.IGNORECASE,
)


def order_for(item_id: str | int, seed: int = 0) -> bool:
    """Whether the model's output is shown first ("A") for this item.

    Deterministic across runs, platforms and Python versions (SHA-256 of seed and id;
    ``3`` and ``"3"`` are the same item).
    """
    digest = hashlib.sha256(f"alpaca_eval/{seed}/{item_id}".encode()).digest()
    return digest[0] % 2 == 0


def build_pairwise_messages(instruction: str, output_a: str, output_b: str) -> list[dict[str, str]]:
    """Chat messages asking the judge whether response A or B is better."""
    user = USER_TEMPLATE.format(instruction=instruction, output_a=output_a, output_b=output_b)
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def parse_preference(text: str) -> str | None:
    """The judge's choice, "A" or "B"; None unless the reply is just that letter.

    A leading reasoning block (``...</think>``), quotes, brackets, bold markers, a trailing
    full stop and a short label ("Answer:", "Verdict:", "The better response is") are allowed;
    anything else, e.g. "A is better", "A or B", a letter inside a sentence or a reply over
    ``MAX_VERDICT_CHARS`` characters after the reasoning block, is None.
    """
    reply = _THINK.sub("", text).strip()
    if len(reply) > MAX_VERDICT_CHARS:
        return None
    match = _VERDICT.fullmatch(reply)
    return match.group(1).upper() if match else None


def preference_from_verdict(verdict: str, model_first: bool) -> float:
    """AlpacaEval preference for a verdict: 1.0 baseline preferred, 2.0 model, 1.5 tie.

    ``verdict`` is "A", "B" (the position the judge preferred) or "tie"; ``model_first`` says
    whether the model's output was shown as A.
    """
    letter = verdict.strip().upper()
    if letter == "TIE":
        return TIE
    if letter not in ("A", "B"):
        raise ValueError(f"verdict must be 'A', 'B' or 'tie', got {verdict!r}")
    return MODEL_WINS if (letter == "A") == model_first else BASELINE_WINS


def grade_alpaca_eval(
    judge_reply: str, model_first: bool, model_output: str = "", baseline_output: str = ""
) -> Grade:
    """Grade one judge reply: passed when the judge preferred the model's output.

    ``score`` is the win value ``preference - 1`` (1 win, 0 loss). ``metrics`` carry the
    ``preference`` (None when the reply does not parse, which the caller treats as a judge
    error), the output lengths in characters for the LC fit, and ``model_first``.
    """
    letter = parse_preference(judge_reply)
    metrics: dict[str, Any] = {
        "preference": None, "model_length": len(model_output),
        "baseline_length": len(baseline_output), "model_first": model_first,
    }
    model_slot = "A" if model_first else "B"
    if letter is None:
        reply = judge_reply.strip()
        shown = reply if len(reply) <= 60 else reply[:57] + "..."
        return Grade(False, 0.0, expected=model_slot, extracted=None, metrics=metrics,
                     detail=f"judge verdict unparseable: {shown!r}")
    preference = preference_from_verdict(letter, model_first)
    metrics["preference"] = preference
    won = preference == MODEL_WINS
    who = "model" if won else "baseline"
    return Grade(won, preference - 1.0, expected=model_slot, extracted=letter, metrics=metrics,
                 detail=f"judge preferred the {who} (model shown as {model_slot})")


def grade_both_orders(reply_model_first: str, reply_model_second: str, model_output: str = "",
                      baseline_output: str = "") -> Grade:
    """Grade a pair judged in both orders (model shown as A, then as B).

    The preference is the one both verdicts give, or a tie (1.5) when they disagree, as a
    judge that follows position rather than content would; ``metrics`` add ``consistent``
    and ``by_order`` (each order's own preference). An unparseable reply gives preference None.
    """
    first = grade_alpaca_eval(reply_model_first, True, model_output, baseline_output)
    second = grade_alpaca_eval(reply_model_second, False, model_output, baseline_output)
    p1, p2 = first.metrics["preference"], second.metrics["preference"]
    metrics = {**first.metrics, "model_first": None,
               "by_order": {"model_first": p1, "model_second": p2},
               "consistent": None if None in (p1, p2) else p1 == p2}
    letters = [first.extracted, second.extracted]
    if p1 is None or p2 is None:
        bad = first if p1 is None else second
        return Grade(False, 0.0, expected=["A", "B"], extracted=letters, metrics={
            **metrics, "preference": None}, detail=bad.detail)
    preference = p1 if p1 == p2 else TIE
    metrics["preference"] = preference
    won = preference == MODEL_WINS
    detail = ("the verdicts disagree between the two orders: a tie" if p1 != p2 else
              f"judge preferred the {'model' if won else 'baseline'} in both orders")
    return Grade(won, preference - 1.0, expected=["A", "B"], extracted=letters, metrics=metrics,
                 detail=detail)


def judge_hygiene(records: Iterable[Mapping[str, Any]]) -> dict[str, float | None]:
    """``judge_position_consistency``: the share of pairs judged in both orders whose two
    verdicts agree (None when no pair was); ``judge_length_preference``: the share of decided
    pairs (preference not a tie) won by the longer answer, pairs of equal length left out
    (None when there is none). Records carry :func:`grade_both_orders` metrics."""
    consistent: list[float] = []
    longer: list[bool] = []
    for row in records:
        if row.get("consistent") is not None:
            consistent.append(float(row["consistent"]))
        value = preference_value(row.get("preference"))
        gap = _length(row, "model") - _length(row, "baseline")
        if value is not None and value != TIE and gap != 0:
            longer.append((value > TIE) == (gap > 0))
    return {"judge_position_consistency": math.fsum(consistent) / len(consistent)
            if consistent else None,
            "judge_length_preference": sum(longer) / len(longer) if longer else None}


_SIM_PAIR = re.compile(r"\nResponse A:\n<<<\n(.*)\n>>>\n\nResponse B:\n<<<\n(.*)\n>>>\n\n"
                       r"Which response is better\? Reply with a single letter, A or B", re.DOTALL)


@simulated_judge
def simulate_pairwise_judge(request: JudgeRequest) -> str | None:
    """The simulator's answer to :func:`build_pairwise_messages`: a judge that sees only
    length, A preferred with probability ``logistic((len A - len B) / 100 characters)``;
    the ``position`` judge always prefers A, the answer shown first."""
    found = _SIM_PAIR.search(request.prompt)
    if found is None:
        return None
    if request.mode == "position":
        return "A"
    gap = len(found.group(1)) - len(found.group(2))
    return "A" if request.draw < 0.5 * (1.0 + math.tanh(gap / 200.0)) else "B"


def win_rate(prefs: Iterable[float | str | None]) -> tuple[float, float]:
    """Win rate in percent and its standard error, as AlpacaEval computes them.

    ``mean(preference - 1) * 100`` over valid preferences (ties count half, fractional
    preferences allowed) and the standard error of that mean (ddof=1) times 100; None, NaN and
    out-of-range values are dropped. The error is NaN for a single preference; no valid
    preference raises ValueError.
    """
    wins = [v - 1.0 for v in map(preference_value, prefs) if v is not None]
    n = len(wins)
    if n == 0:
        raise ValueError("no valid preferences")
    mean = math.fsum(wins) / n
    if n == 1:
        return mean * 100.0, math.nan
    variance = math.fsum((w - mean) ** 2 for w in wins) / (n - 1)
    return mean * 100.0, math.sqrt(variance / n) * 100.0


def _length(record: Mapping[str, Any], which: str) -> float:
    if f"{which}_length" in record:
        return float(record[f"{which}_length"])
    return float(len(str(record.get(f"{which}_output", ""))))


def aggregate_alpaca_eval(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Benchmark metrics from per-item records (e.g. :func:`grade_alpaca_eval` metrics).

    Each record has ``preference`` and either ``model_length``/``baseline_length`` or
    ``model_output``/``baseline_output``; optional ``id`` and ``instruction_difficulty`` (a
    precomputed per-instruction difficulty; used only when every record has one). Returns
    ``lc_win_rate``, ``win_rate``, ``win_rate_se`` (None when undefined), ``n`` (valid
    preferences), ``n_wins``/``n_losses``/``n_draws``, ``n_invalid``, the GLM ``glm`` details
    and ``notes`` (what the LC fit could not do).
    """
    rows = list(records)
    prefs = [row.get("preference") for row in rows]
    values = [v for v in map(preference_value, prefs) if v is not None]
    result: dict[str, Any] = {
        "lc_win_rate": None, "win_rate": None, "win_rate_se": None, "n": len(values),
        "n_wins": sum(v > 1.5 for v in values), "n_losses": sum(v < 1.5 for v in values),
        "n_draws": sum(v == 1.5 for v in values), "n_invalid": len(rows) - len(values),
        "glm": None, "notes": [],
    }
    if not values:
        result["notes"].append("no valid preferences")
        return result
    wr, se = win_rate(values)
    result["win_rate"], result["win_rate_se"] = wr, (se if math.isfinite(se) else None)
    ids: list[str] | None = None
    difficulty: dict[str, float] | None = None
    if rows and all("instruction_difficulty" in row for row in rows):
        ids = [str(row.get("id", i)) for i, row in enumerate(rows)]
        difficulty = {
            k: float(row["instruction_difficulty"]) for k, row in zip(ids, rows, strict=True)
        }
    lc = lc_win_rate(prefs, [_length(row, "model") for row in rows],
                     [_length(row, "baseline") for row in rows], ids, difficulty)
    result["lc_win_rate"] = lc["lc_win_rate"]
    result["glm"] = {k: lc[k] for k in ("weights", "C", "scale")}
    result["notes"] += [
        f"instruction_difficulty: {lc['instruction_difficulty']}",
        f"regularize_to_baseline: {lc['regularize_to_baseline']}",
    ]
    if lc["lc_win_rate"] is not None and is_extreme_change(wr, lc["lc_win_rate"]):
        result["notes"].append(
            f"lc_win_rate {lc['lc_win_rate']:.1f} is very different from win_rate {wr:.1f}; "
            "the reference warns that the GLM may have failed (expected with few items or a "
            "judge that follows length closely)")
    return result


def is_extreme_change(before: float, after: float, abs_diff: float = 10.0,
                      rel_diff: float = 4.0) -> bool:
    """Whether the LC win rate moved implausibly far from the raw one (percent), by the
    reference's rule (``glm_winrate.get_is_extreme_changes``, which logs a warning): below
    ``min(before - before / rel_diff, before - abs_diff)`` or above
    ``max(before + (100 - before) / rel_diff, before + abs_diff)``."""
    too_small = after < min(before - before / rel_diff, before - abs_diff)
    too_large = after > max(before + (100.0 - before) / rel_diff, before + abs_diff)
    return too_small or too_large
