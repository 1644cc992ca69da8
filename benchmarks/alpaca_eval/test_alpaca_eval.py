"""AlpacaEval 2: 805 open-ended instructions, the model's answer judged pairwise against
GPT-4 Turbo's (Li et al. 2023, "AlpacaEval: An Automatic Evaluator of Instruction-following
Models"; Dubois et al. 2024, "Length-Controlled AlpacaEval", arXiv:2404.04475).

Reference implementation: tatsu-lab/alpaca_eval (``annotators/pairwise_evaluator.py`` for the
order randomisation, ``metrics/helpers.py`` for the win rate, ``metrics/glm_winrate.py`` for the
length-controlled one). Data: ``results/gpt4_1106_preview/model_outputs.json`` of
tatsu-lab/alpaca_eval at a pinned commit (the HF dataset ``alpaca_eval_gpt4_baseline`` is the
same file behind a loading script, which ``datasets`` no longer runs): each row's
``instruction`` is the eval set, its ``output`` the baseline, ``dataset`` the category.

Per item: the model answers the instruction; the judge sees both answers in both orders
(``--pairwise-orders both``, the default) and names the better one each time; two verdicts that
disagree are a tie (preference 1.5, which the win rate and the LC fit count as half a win, as
the reference does). ``--pairwise-orders one`` asks one order, fixed per item
(:func:`graders.alpaca_eval.order_for`, recorded as ``model_first``). Passed = the model's
answer preferred. ``metrics`` add the judge's hygiene: ``judge_position_consistency`` (share of
pairs whose two verdicts agree) and ``judge_length_preference`` (share of decided pairs won by
the longer answer). ``lc_win_rate`` (headline), ``win_rate`` and
``win_rate_se`` are percentages as AlpacaEval publishes them. Differences from the reference:
our A/B judge prompt (:mod:`graders.alpaca_eval`) with a one-letter verdict instead of the
``weighted_alpaca_eval_gpt4_turbo`` log-probability annotator; the LC fit has no
instruction-difficulty term and no gamed-baseline regularisation (:mod:`graders.alpaca_eval_lc`;
the report's ``notes`` say so, and flag an LC figure far from the raw one as upstream warns).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from benchgate import Completion, Grade, Task, Verdict
from benchgate.data import DataSource, Remote
from benchgate.judging import ask_judge
from benchgate.task import Context
from benchmarks import alpaca_eval as settings
from graders.alpaca_eval import (
    aggregate_alpaca_eval,
    build_pairwise_messages,
    grade_alpaca_eval,
    grade_both_orders,
    judge_hygiene,
    order_for,
    parse_preference,
    simulate_pairwise_judge,
    win_rate,
)

REFERENCE = Remote("https://raw.githubusercontent.com/tatsu-lab/alpaca_eval/"
                   "cd543a149df89434d8a54582c0151c0b945c3d20/results/gpt4_1106_preview/"
                   "model_outputs.json")
Z95 = 1.959963984540054
CI_NOTE = ("ci95: lc_win_rate +/- 1.96 x win_rate_se (the raw win rate's standard error; "
           "AlpacaEval publishes no interval for the LC figure)")


@dataclass(frozen=True)
class Instruction:
    """One AlpacaEval instruction and the baseline's (gpt4_1106_preview) answer."""

    id: str
    category: str
    instruction: str
    reference: str


@dataclass(frozen=True)
class Judged:
    """The model's answer, the judge's verdict and the order the judge saw them in."""

    turns: list[Completion]
    judgments: list[Completion]
    model_first: bool  # the order asked first
    both_orders: bool = False  # judgments: model shown first, then second


def load_items(data: DataSource) -> list[Instruction]:
    """All 805 instructions; ids = zero-based row index, category = the row's ``dataset``."""
    rows = data.rows("gpt4_1106_preview_model_outputs.json", hub=REFERENCE)
    return [Instruction(id=str(i), category=r["dataset"], instruction=r["instruction"],
                        reference=r["output"]) for i, r in enumerate(rows)]


async def run(item: Instruction, ctx: Context) -> Judged:
    """The model answers; the judge compares it with the baseline in this item's order, and
    in the other one too unless ``--pairwise-orders one``."""
    answer = await ctx.chat([{"role": "user", "content": item.instruction}])
    model_first = order_for(item.id, seed=ctx.repeat)

    async def judge(first: bool) -> Completion:
        pair = (answer.text, item.reference) if first else (item.reference, answer.text)
        _, verdict = await ask_judge(ctx, build_pairwise_messages(item.instruction, *pair),
                                     parse_preference, max_tokens=1024)
        return verdict

    if not settings.BOTH_ORDERS:
        return Judged(turns=[answer], judgments=[await judge(model_first)], model_first=model_first)
    verdicts = dict(zip((model_first, not model_first),
                        await asyncio.gather(judge(model_first), judge(not model_first)),
                        strict=True))
    return Judged(turns=[answer], judgments=[verdicts[True], verdicts[False]],
                  model_first=model_first, both_orders=True)


def sim_key(item: Instruction) -> dict[str, list[str]]:
    """Simulator answers: the baseline's answer with a recap of its first half, or only that
    first half. The sim judge sees only length (the longer answer wins, surely when the gap is
    large), so the model wins about ``--sim-accuracy`` of the items while the length-controlled
    win rate, which discounts length, stays near 50."""
    ref, half = item.reference, item.reference[: len(item.reference) // 2]
    return {item.instruction: [f"{ref}\n\nTo recap: {half}", half]}


def _rate(prefs: list[Any]) -> dict[str, Any]:
    rate, se = win_rate(prefs) if prefs else (None, None)
    return {"win_rate": rate, "win_rate_se": se if se == se else None, "n": len(prefs)}


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """LC and raw win rates (percent), win rate per category and per position, GLM details."""
    out = aggregate_alpaca_eval([{**r["metrics"], "id": r["id"]} for r in records])
    by_cat: dict[str, list[Any]] = defaultdict(list)
    by_pos: dict[str, list[Any]] = defaultdict(list)
    for r in records:
        by_cat[str(r["category"])].append(r["metrics"]["preference"])
        orders = r["metrics"].get("by_order") or {
            "model_first" if r["metrics"]["model_first"] else "model_second":
                r["metrics"]["preference"]}
        for position, preference in orders.items():
            by_pos[position].append(preference)
    lc, se = out["lc_win_rate"], out["win_rate_se"]
    score = lc if lc is not None else (out["win_rate"] or 0.0)
    half = Z95 * se if se is not None else 0.0
    return {
        "metrics": {"lc_win_rate": lc, "win_rate": out["win_rate"], "win_rate_se": se,
                    **judge_hygiene([r["metrics"] for r in records])},
        "score": score, "ci95": [round(max(0.0, score - half), 6), round(min(100.0, score + half), 6)],
        "by_category": {c: _rate(p) for c, p in sorted(by_cat.items())},
        "by_position": {k: _rate(p) for k, p in sorted(by_pos.items())},
        **{k: out[k] for k in ("n_wins", "n_losses", "n_draws", "glm")},
        "notes": [*out["notes"], CI_NOTE],
    }


def grade(item: Instruction, result: Judged) -> Grade:
    """The judge's preference for the model's answer; passed = the model won (in both orders,
    when both were asked)."""
    if result.both_orders:
        return grade_both_orders(result.judgments[0].text, result.judgments[1].text,
                                 result.turns[0].text, item.reference)
    return grade_alpaca_eval(result.judgments[0].text, result.model_first, result.turns[0].text,
                             item.reference)


def describe(item: Instruction, verdict: Verdict) -> str:
    """The failure line names the category."""
    rep = next((g for g in verdict.grades if not g.passed), verdict.grades[0])
    return f"alpaca_eval {item.id} ({item.category}): {rep.message}"


TASK = Task(name="alpaca_eval", load=load_items, run=run, grade=grade, describe=describe,
            max_tokens=2048, metric="lc_win_rate",
            metrics=("win_rate", "win_rate_se", "judge_position_consistency",
                     "judge_length_preference"),
            proportion=False, aggregate=aggregate, sim_key=sim_key, needs_judge=True,
            sim_judge=simulate_pairwise_judge)


@TASK
def test_alpaca_eval(item: Instruction, verdict: Verdict) -> None:
    assert verdict.passed, verdict.message
