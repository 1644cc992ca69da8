"""MT-Bench-101: 1,388 multi-turn dialogues in 13 tasks, each judged turn rated 1-10 (Bai et al.
2024, "MT-Bench-101: A Fine-Grained Benchmark for Evaluating Large Language Models in Multi-Turn
Dialogues", arXiv:2402.14762; reference implementation open-compass/opencompass
``datasets/subjective/mtbench101.py`` and ``summarizers/subjective/mtbench101.py``).

Data: mtbench101/mt-bench-101 ``data/subjective/mtbench101.jsonl`` at a pinned commit (hub
source: its raw GitHub URL) and ``judge_prompts.json``, the OpenCompass rubrics extracted as
data (no upstream URL: ``--data-dir`` or ``--data sample``). Item ids are ``<task>-<id>``,
category = task. As in OpenCompass (``ChatInferencer``, ``infer_mode='last'``), every judged
turn is answered with the dataset's golden history before it, never the model's own earlier
answers, and judged with its task's rubric (:mod:`graders.mt_bench_101`). A dialogue scores
its lowest judged turn; ``score`` = mean over tasks of the mean dialogue score (the paper's
overall figure); ``by_category`` per task, ``by_ability`` per ability of the paper's taxonomy.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from benchgate import Grade, Judged, Task, Verdict
from benchgate.data import DataSource, Remote
from benchgate.errors import DataError
from benchgate.judging import ask_judge
from benchgate.task import Completion, Context
from graders.judge import simulate_judge_formats
from graders.mt_bench_101 import (
    aggregate_dialogues,
    build_turn_judge_messages,
    grade_mt_bench_101,
    judged_answer,
    judged_turns,
    model_messages,
    overall_interval,
    parse_rating,
)

UPSTREAM = Remote("https://raw.githubusercontent.com/mtbench101/mt-bench-101/"
                  "bc18b3e2c18c99164e11528f1a79c92083db5953/data/subjective/mtbench101.jsonl")
RUBRIC_KEYS = ("judge_preamble", "task_prompts", "score_format", "user_prompt_template",
               "user_prompt_template_need_ref", "skip_first_tasks", "need_ref_tasks",
               "score_regex", "task_to_ability")
WRONG_REPLY = "Sorry, I have lost track of this conversation. Could you start again?"


@dataclass(frozen=True)
class Dialogue:
    """One dialogue: golden ``history`` turns ``{"user", "bot"}`` and the turns the judge rates."""

    id: str
    category: str  # the task, e.g. "GR"
    ability: str
    history: tuple[Mapping[str, str], ...]
    judged: tuple[int, ...]
    prompts: Mapping[str, Any] = field(repr=False, compare=False)


def load_items(data: DataSource) -> list[Dialogue]:
    """Every dialogue with at least one judged turn (OpenCompass builds nothing for the rest)."""
    if data.kind == "hub":
        raise DataError("mt_bench_101: the judge rubrics (judge_prompts.json, extracted from "
                        "OpenCompass) have no upstream URL; pass --data-dir DIR with "
                        "DIR/mt_bench_101/judge_prompts.json and mtbench101.jsonl, or --data sample")
    prompts = data.rows("judge_prompts.json")[0]
    missing = [key for key in RUBRIC_KEYS if key not in prompts]
    if missing:
        raise DataError(f"mt_bench_101: judge_prompts.json lacks {', '.join(missing)}")
    items = []
    for n, row in enumerate(data.rows("mtbench101.jsonl", hub=UPSTREAM), 1):
        try:
            history = tuple({"user": str(t["user"]), "bot": str(t["bot"])} for t in row["history"])
            task = str(row["task"])
            judged = tuple(judged_turns(prompts, task, len(history)))
            item_id = f"{task}-{row['id']}"
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"mt_bench_101: mtbench101.jsonl row {n} is malformed ({exc})") from None
        if judged:
            items.append(Dialogue(id=item_id, category=task, history=history, judged=judged,
                                  ability=str(prompts["task_to_ability"].get(task, "")),
                                  prompts=prompts))
    return items


async def _judge_turn(item: Dialogue, ctx: Context, turn: int,
                      answer: Completion) -> tuple[float, Completion]:
    messages = build_turn_judge_messages(item.prompts, item.category, item.history, turn,
                                         judged_answer(answer.text))
    return await ask_judge(ctx, messages, partial(parse_rating, prompts=item.prompts),
                           max_tokens=2048)


async def run(item: Dialogue, ctx: Context) -> Judged:
    """Each judged turn asked with the golden history before it, then judged."""
    answers = await asyncio.gather(*(ctx.chat(model_messages(item.history, turn))
                                     for turn in item.judged))
    verdicts = await asyncio.gather(*(_judge_turn(item, ctx, turn, answer)
                                      for turn, answer in zip(item.judged, answers, strict=True)))
    return Judged(turns=list(answers), judgments=[reply for _, reply in verdicts],
                  ratings=[rating for rating, _ in verdicts])


def sim_key(item: Dialogue) -> dict[str, list[str]]:
    """The simulator's answer key: the golden reply of each judged turn, or a lost-track reply."""
    return {item.history[t]["user"]: [item.history[t]["bot"], WRONG_REPLY] for t in item.judged}


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Dialogue = min over judged turns, task = mean over dialogues, overall = mean of tasks."""
    dialogues = [(str(r["category"]), r["metrics"]["turn_ratings"]) for r in records]
    abilities = {str(r["category"]): r["metrics"]["ability"] for r in records}
    result = aggregate_dialogues(dialogues, abilities)
    counts: dict[str, int] = defaultdict(int)
    for task, _ in dialogues:
        counts[task] += 1
    by_ability: dict[str, dict[str, Any]] = {}
    for task in sorted(result["by_task"]):
        if not abilities[task]:
            continue
        entry = by_ability.setdefault(abilities[task], {"n": 0, "tasks": []})
        entry["n"] += counts[task]
        entry["tasks"].append(task)
    for ability, entry in by_ability.items():
        entry["score"] = result["by_ability"][ability]
    interval = overall_interval(dialogues) or (0.0, 0.0)
    by_task = sorted(result["by_task"].items())
    return {"score": result["score"] or 0.0, "metrics": {"score": result["score"] or 0.0},
            "by_category": {t: {"score": score, "n": counts[t]} for t, score in by_task},
            "by_ability": dict(sorted(by_ability.items())),
            "ci95": [round(interval[0], 6), round(interval[1], 6)]}


def grade(item: Dialogue, result: Judged) -> Grade:
    """The lowest judged-turn rating; ``--pass-mark`` decides passed."""
    found = grade_mt_bench_101(result.ratings)
    return replace(found, metrics={**found.metrics, "turns": [t + 1 for t in item.judged],
                                   "ability": item.ability})


def describe(item: Dialogue, verdict: Verdict) -> str:
    """Each judged turn's rating against the pass mark."""
    rep = next((g for g in verdict.grades if not g.passed), verdict.grades[0])
    ratings = ", ".join(f"turn {t}: {r:g}" for t, r in
                        zip(rep.metrics["turns"], rep.metrics["turn_ratings"], strict=True))
    return (f"mt_bench_101 {item.id} ({item.category}): expected lowest judged-turn rating "
            f"{rep.expected}, got {rep.score:g} ({ratings})")


TASK = Task(name="mt_bench_101", load=load_items, run=run, grade=grade, describe=describe,
            max_tokens=2048, metric="score", proportion=False, pass_mark=True,
            aggregate=aggregate, needs_judge=True, sim_key=sim_key,
            sim_judge=simulate_judge_formats)


@TASK
def test_mt_bench_101(item: Dialogue, verdict: Verdict) -> None:
    assert verdict.passed, verdict.message
