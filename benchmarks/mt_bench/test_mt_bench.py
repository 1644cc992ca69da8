"""MT-Bench: 80 two-turn questions in 8 categories, judged 1-10 per turn (Zheng et al. 2023,
"Judging LLM-as-a-Judge with MT-Bench and Chatbot Arena", arXiv:2306.05685).

Data: lm-sys/FastChat ``fastchat/llm_judge/data/`` at a pinned commit: ``mt_bench/question.jsonl``,
``mt_bench/reference_answer/gpt-4.jsonl`` and ``judge_prompts.jsonl`` (the judge templates are
benchmark data, loaded at run time and sent as published). Turn 2 is asked with the model's own
turn-1 answer in context; each turn is judged with FastChat's single-answer grading
(``single-v1``, reference-based ``single-math-v1`` for math/reasoning/coding, and the
multi-turn variants for turn 2). ``score`` = mean over all judged turns, as FastChat's
``show_result.py`` reports it; ``by_turn`` and ``by_category`` likewise.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from benchgate import Context, Grade, Judged, Task, Verdict
from benchgate.data import DataSource, Remote
from benchgate.judging import ask_judge
from graders.judge import parse_fastchat_rating, simulate_judge_formats
from graders.mt_bench import build_judge_messages, grade_mt_bench, index_templates, select_template

FASTCHAT = ("https://raw.githubusercontent.com/lm-sys/FastChat/"
            "0e6d3e4beaab66f4d3f93db72541a4abab8af28d/fastchat/llm_judge/data/")
QUESTIONS = Remote(FASTCHAT + "mt_bench/question.jsonl")
REFERENCES = Remote(FASTCHAT + "mt_bench/reference_answer/gpt-4.jsonl")
JUDGE_PROMPTS = Remote(FASTCHAT + "judge_prompts.jsonl")


@dataclass(frozen=True)
class Question:
    """One MT-Bench question with the judge templates of its two turns."""

    id: str
    category: str
    turns: tuple[str, str]
    reference: tuple[str, ...] | None
    templates: tuple[Mapping[str, Any], Mapping[str, Any]]


def load_items(data: DataSource) -> list[Question]:
    """All questions; ids are FastChat's ``question_id``."""
    templates = index_templates(data.rows("judge_prompts.jsonl", hub=JUDGE_PROMPTS))
    refs = {r["question_id"]: tuple(r["choices"][0]["turns"])
            for r in data.rows("reference_answer/gpt-4.jsonl", hub=REFERENCES)}
    return [Question(id=str(q["question_id"]), category=q["category"],
                     turns=(q["turns"][0], q["turns"][1]), reference=refs.get(q["question_id"]),
                     templates=(select_template(q["category"], 1, templates),
                                select_template(q["category"], 2, templates)))
            for q in data.rows("question.jsonl", hub=QUESTIONS)]


async def run(item: Question, ctx: Context) -> Judged:
    """Two turns, then one judgment per turn."""
    first = [{"role": "user", "content": item.turns[0]}]
    a1 = await ctx.chat(first)
    a2 = await ctx.chat([*first, {"role": "assistant", "content": a1.text},
                         {"role": "user", "content": item.turns[1]}])
    ratings, judgments = [], []
    for turn in (1, 2):
        messages = build_judge_messages(item.templates[turn - 1], item.turns, [a1.text, a2.text],
                                        turn, item.reference)
        rating, reply = await ask_judge(ctx, messages, parse_fastchat_rating, max_tokens=2048)
        ratings.append(rating)
        judgments.append(reply)
    return Judged(turns=[a1, a2], judgments=judgments, ratings=ratings)


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean over judged turns, per turn and per category."""
    by_turn: dict[str, list[float]] = defaultdict(list)
    by_cat: dict[str, list[float]] = defaultdict(list)
    for rec in records:
        for turn in ("turn1", "turn2"):
            by_turn[turn].append(rec["metrics"][turn])
            by_cat[rec["category"]].append(rec["metrics"][turn])
    every = [x for values in by_turn.values() for x in values]
    score = statistics.fmean(every) if every else 0.0
    return {"metrics": {"score": score, **{t: statistics.fmean(v) for t, v in by_turn.items()}},
            "by_category": {c: {"score": statistics.fmean(v), "n": len(v) // 2}
                            for c, v in sorted(by_cat.items())},
            "by_turn": {t: statistics.fmean(v) for t, v in by_turn.items()}}


def grade(item: Question, result: Judged) -> Grade:
    """The mean of the two turns' ratings; ``--pass-mark`` decides passed."""
    found = grade_mt_bench(statistics.fmean(result.ratings))
    return replace(found, metrics={"turn1": result.ratings[0], "turn2": result.ratings[1]})


def describe(item: Question, verdict: Verdict) -> str:
    """Both turns' ratings against the pass mark."""
    rep = next((g for g in verdict.grades if not g.passed), verdict.grades[0])
    return (f"mt_bench {item.id} ({item.category}): judge rated {rep.metrics['turn1']:g} and "
            f"{rep.metrics['turn2']:g}, expected {rep.expected}")


TASK = Task(name="mt_bench", load=load_items, run=run, grade=grade, describe=describe,
            max_tokens=1024, metric="score", metrics=("turn1", "turn2"), proportion=False,
            pass_mark=True, aggregate=aggregate, needs_judge=True,
            sim_judge=simulate_judge_formats)


@TASK
def test_mt_bench(item: Question, verdict: Verdict) -> None:
    assert verdict.passed, verdict.message
