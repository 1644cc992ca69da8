r"""MT-Bench-101 judge prompts, verdict parsing and aggregation (Bai et al. 2024, "MT-Bench-101:
A Fine-Grained Benchmark for Evaluating Large Language Models in Multi-Turn Dialogues",
arXiv:2402.14762; reference open-compass/opencompass ``opencompass/datasets/subjective/
mtbench101.py`` (``MTBench101Dataset.load``, ``eval_prompt_construct``) and
``opencompass/summarizers/subjective/mtbench101.py`` (``post_process_mtbench101``,
``get_final_results``)).

The rubric texts are benchmark data (``judge_prompts.json``: ``judge_preamble``,
``task_prompts``, ``score_format``, the user prompt templates, ``skip_first_tasks``,
``need_ref_tasks``, ``score_regex``, ``task_to_ability``), loaded at run time and passed in as
``prompts``. As in OpenCompass, each judged turn is shown to the judge with the golden
history before it:

- system message: ``judge_preamble + task_prompts[task] + score_format``;
- user message: the user prompt template with ``history`` = for each earlier turn
  ``"\n\n Human: " + user + "\n\nAssistant: " + bot`` (golden ``bot``), then
  ``"\n\n Human: " + user + "\n\nAssistant: "`` for the judged turn, and ``prediction`` = the
  model's answer; for ``need_ref_tasks`` (MR, GR) the reference template, whose
  ``ref_answer`` is ``str()`` of the role/content message list up to and including the judged
  turn's golden answer (OpenCompass formats its ``pre_dia`` list this way);
- the first turn of ``skip_first_tasks`` is context only and never judged.

A verdict's score is the first match of ``score_regex`` (``\[([0-9]+)\]``), kept when 1-10.
A dialogue scores the minimum over its judged turns, a task the mean over its dialogues, and
the overall score the unweighted mean over tasks (``get_final_results``; OpenCompass rounds it
to 2 decimals for display, we do not). OpenCompass reports no ability scores; ``by_ability``
here is the mean of the task scores under each ability of the paper's taxonomy. Before the
judge sees an answer, a reasoning prefix up to ``</think>`` is cut off, as OpenCompass's
``think_pred_postprocess`` does in its MT-Bench-101 config.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from statistics import fmean
from typing import Any

from benchgate.grade import Grade

SCORE_RANGE = (1, 10)
Z95 = 1.959963984540054
_THINK = re.compile(r"</think>([\s\S]*)")
_MAX_DIGITS = 3  # int() of a huge digit run would be slow or raise; no valid score needs more


def _task_prompt(prompts: Mapping[str, Any], task: str) -> str:
    tasks: Mapping[str, str] = prompts["task_prompts"]
    if task not in tasks:
        raise ValueError(f"unknown MT-Bench-101 task {task!r}; choose from {', '.join(tasks)}")
    return tasks[task]


def judged_turns(prompts: Mapping[str, Any], task: str, n_turns: int) -> list[int]:
    """Zero-based indices of the turns the judge scores (the first is skipped for some tasks)."""
    _task_prompt(prompts, task)
    start = 1 if task in prompts["skip_first_tasks"] else 0
    return list(range(start, n_turns))


def system_prompt(prompts: Mapping[str, Any], task: str) -> str:
    """The judge's system message for ``task`` (OpenCompass: judge + unique_prompt + format)."""
    task_prompt = _task_prompt(prompts, task)
    return str(prompts["judge_preamble"]) + task_prompt + str(prompts["score_format"])


def build_turn_judge_messages(prompts: Mapping[str, Any], task: str,
                              history: Sequence[Mapping[str, str]], turn_index: int,
                              answer: str) -> list[dict[str, str]]:
    """System and user messages asking the judge to rate ``answer`` to turn ``turn_index``.

    ``history`` is the dialogue's ``history`` field (``{"user", "bot"}`` per turn, ``bot``
    being the golden reply); ``turn_index`` is zero-based and must be a judged turn.
    """
    if turn_index not in judged_turns(prompts, task, len(history)):
        raise ValueError(
            f"turn {turn_index} of a {len(history)}-turn {task} dialogue is not judged")
    context = "".join("\n\n Human: " + turn["user"] + "\n\nAssistant: " + turn["bot"]
                      for turn in history[:turn_index])
    context += "\n\n Human: " + history[turn_index]["user"] + "\n\nAssistant: "
    values = {"history": context, "prediction": answer}
    if task in prompts["need_ref_tasks"]:
        template = str(prompts["user_prompt_template_need_ref"])
        values["ref_answer"] = str(reference_dialogue(history, turn_index))
    else:
        template = str(prompts["user_prompt_template"])
    return [{"role": "system", "content": system_prompt(prompts, task)},
            {"role": "user", "content": template.format(**values)}]


def reference_dialogue(history: Sequence[Mapping[str, str]],
                       turn_index: int) -> list[dict[str, str]]:
    """Role/content messages of turns 0..turn_index with golden replies (empty ones left out)."""
    messages: list[dict[str, str]] = []
    for turn in history[:turn_index + 1]:
        messages.append({"role": "user", "content": turn["user"]})
        if turn["bot"]:
            messages.append({"role": "assistant", "content": turn["bot"]})
    return messages


def model_messages(history: Sequence[Mapping[str, str]], turn_index: int) -> list[dict[str, str]]:
    """What the evaluated model is sent for ``turn_index``: golden history, then the user turn."""
    return [*reference_dialogue(history, turn_index - 1),
            {"role": "user", "content": history[turn_index]["user"]}]


def judged_answer(text: str) -> str:
    """The part of a model reply the judge sees: after ``</think>`` when present, stripped."""
    match = _THINK.search(text)
    return match.group(1).strip() if match else text


def parse_rating(text: str, prompts: Mapping[str, Any]) -> float | None:
    """The judge's 1-10 score: the first ``score_regex`` match (as OpenCompass), else None."""
    match = re.search(str(prompts["score_regex"]), text)
    digits = match.group(1) if match else None
    if not digits or len(digits) > _MAX_DIGITS or not digits.isdecimal():
        return None
    value = int(digits)
    low, high = SCORE_RANGE
    return float(value) if low <= value <= high else None


def grade_mt_bench_101(turn_ratings: Sequence[float], pass_mark: float = 7.0) -> Grade:
    """Grade one dialogue: its score is the minimum over its judged turns' ratings."""
    if not turn_ratings:
        raise ValueError("an MT-Bench-101 dialogue needs at least one judged turn")
    ratings = [float(r) for r in turn_ratings]
    score = min(ratings)
    return Grade(passed=score >= pass_mark, score=score, expected=f">= {pass_mark:g}",
                 extracted=score, metrics={"turn_ratings": ratings},
                 detail="lowest judge rating over the judged turns, 1-10")


def aggregate_mt_bench_101(dialogues: Sequence[tuple[str, Sequence[float]]],
                           prompts: Mapping[str, Any]) -> dict[str, Any]:
    """Benchmark scores from ``(task, judged-turn ratings)`` per dialogue.

    Returns ``{"score", "by_task", "by_ability"}``: dialogue = min over its turns, task = mean
    over its dialogues, overall = mean over tasks, ability = mean over its tasks. Dialogues
    with no rated turn are left out, as OpenCompass drops unparseable verdicts.
    """
    for task, _ in dialogues:
        _task_prompt(prompts, task)
    return aggregate_dialogues(dialogues, prompts.get("task_to_ability", {}))


def _dialogue_scores(dialogues: Sequence[tuple[str, Sequence[float]]]) -> dict[str, list[float]]:
    per_task: dict[str, list[float]] = defaultdict(list)
    for task, ratings in dialogues:
        if ratings:
            per_task[task].append(min(float(r) for r in ratings))
    return per_task


def aggregate_dialogues(dialogues: Sequence[tuple[str, Sequence[float]]],
                        task_to_ability: Mapping[str, str]) -> dict[str, Any]:
    """:func:`aggregate_mt_bench_101` without checking task names against the rubric file."""
    by_task = {task: fmean(scores) for task, scores in _dialogue_scores(dialogues).items()}
    abilities: dict[str, list[float]] = defaultdict(list)
    for task, score in by_task.items():
        if task in task_to_ability:
            abilities[task_to_ability[task]].append(score)
    return {"score": fmean(by_task.values()) if by_task else None,
            "by_task": by_task,
            "by_ability": {ability: fmean(scores) for ability, scores in abilities.items()}}


def overall_interval(dialogues: Sequence[tuple[str, Sequence[float]]],
                     z: float = Z95) -> tuple[float, float] | None:
    """Normal interval of the overall score, a mean of per-task means (stratified variance
    ``sum(s_t^2 / n_t) / T^2``; a task with a single dialogue borrows the variance of all
    dialogue scores). None when nothing was scored."""
    per_task = _dialogue_scores(dialogues)
    if not per_task:
        return None
    means = [fmean(scores) for scores in per_task.values()]
    pooled = _sample_variance([s for scores in per_task.values() for s in scores])
    variance = sum((_sample_variance(scores) if len(scores) > 1 else pooled) / len(scores)
                   for scores in per_task.values()) / len(per_task) ** 2
    centre, half = fmean(means), z * math.sqrt(variance)
    low, high = SCORE_RANGE
    return (max(float(low), centre - half), min(float(high), centre + half))


def _sample_variance(values: Sequence[float]) -> float:
    if len(values) < 2:
        return 0.0
    mean = fmean(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)
