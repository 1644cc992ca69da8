"""LiveBench grading: task dispatch, instruction-following scores and the leaderboard average
(White et al. 2024, "LiveBench: A Challenging, Contamination-Free LLM Benchmark",
arXiv:2406.19314).

Follows LiveBench/LiveBench ``livebench/gen_ground_truth_judgment.py`` (``play_a_match_gt``:
``<think>`` blocks removed, dispatch on the subtask when there is one, else the task),
``livebench/process_results/instruction_following/utils.py`` (``score_results``) and
``livebench/show_livebench_result.py`` (task mean, category mean of task means, overall mean
of category means). The per-task scorers live in ``graders.livebench_math``,
``livebench_amps``, ``livebench_reasoning``, ``livebench_data`` and ``livebench_table``.

Scores lie in [0, 1] (LiveBench prints them x100). LiveBench has no per-item pass/fail; an
item passes here when it gets full credit (score 1).
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from benchgate.grade import Grade
from graders import livebench_data, livebench_math, livebench_reasoning, livebench_table

CATEGORIES: dict[str, str] = {
    "math_comp": "math",
    "AMPS_Hard": "math",
    "olympiad": "math",
    "web_of_lies_v2": "reasoning",
    "zebra_puzzle": "reasoning",
    "spatial": "reasoning",
    "cta": "data_analysis",
    "tablejoin": "data_analysis",
    "tablereformat": "data_analysis",
    "paraphrase": "instruction_following",
    "simplify": "instruction_following",
    "story_generation": "instruction_following",
    "summarize": "instruction_following",
}

_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)


def strip_think(response: str) -> str:
    """The response without ``<think>...</think>`` blocks, as LiveBench grades it."""
    return _THINK.sub("", response)


def instruction_following_score(follow_all: bool, follow_each: list[bool]) -> float:
    """LiveBench's IF score: mean of prompt-level strict and instruction-level strict."""
    each = sum(1 for ok in follow_each if ok) / len(follow_each) if follow_each else 0.0
    return ((1.0 if follow_all else 0.0) + each) / 2


def _grade_instruction_following(response: str, question: Mapping[str, Any]) -> tuple[
    float, Any, dict[str, Any], str
]:
    from graders.ifeval import grade_ifeval

    ids = list(question["instruction_id_list"])
    kwargs = [{k: v for k, v in (d or {}).items() if v is not None} for d in question["kwargs"]]
    verdict = grade_ifeval(response.strip(), ids, kwargs, question["turns"][0])
    strict = [bool(ok) for ok in verdict.metrics["inst_strict"]]
    score = instruction_following_score(all(strict), strict)
    metrics = {"inst_strict": strict, "prompt_strict": all(strict), "instruction_ids": ids}
    return score, verdict.extracted, metrics, verdict.detail


def _route(
    key: str, response: str, truth: str, question: Mapping[str, Any]
) -> tuple[float, Any, str]:
    """(score, extracted, category) for one non-IF item; ``key`` is the subtask or task."""
    splits = key.split("_")
    text = str(question.get("turns", [""])[0]) if question.get("turns") else ""
    release = str(question.get("livebench_release_date", ""))
    if splits[0] in ("amc", "smc") or (len(splits) > 1 and splits[1] == "amc"):
        return (*livebench_math.score_mathcontest(truth, response, text), "math")
    if splits[0] == "aime":
        return (*livebench_math.score_aime(truth, response), "math")
    if splits[0] in ("imo", "usamo"):
        return (*livebench_math.score_proof_rearrangement(truth, response), "math")
    if key == "cta":
        return (*livebench_data.score_cta(truth, response), "data_analysis")
    if key == "tablereformat":
        version = "v2" if release >= livebench_table.V2_RELEASE else "v1"
        score, extracted = livebench_table.score_tablereformat(text, truth, response, version)
        return score, extracted, "data_analysis"
    if key == "tablejoin":
        return (*livebench_data.score_tablejoin(truth, response), "data_analysis")
    if "amps_hard" in key:
        from graders.livebench_amps import score_amps_hard

        return (*score_amps_hard(truth, response), "math")
    if key == "web_of_lies_v2":
        return (*livebench_reasoning.score_web_of_lies(truth, response), "reasoning")
    if "zebra_puzzle" in key:
        if release < livebench_reasoning.ZEBRA_NEW_FORMAT_DATE:
            return (*livebench_reasoning.score_zebra_old(truth, response), "reasoning")
        return (*livebench_reasoning.score_zebra(truth, response), "reasoning")
    if key == "spatial":
        return (*livebench_reasoning.score_spatial(truth, response), "reasoning")
    raise ValueError(f"LiveBench task {key!r} is not supported")


def grade_livebench(
    response: str, task: str, ground_truth: str, question: Mapping[str, Any]
) -> Grade:
    """Grade one LiveBench answer.

    ``task`` is the question's ``task`` (e.g. ``math_comp``); a ``subtask`` in ``question``
    (e.g. ``aime_i_2024``, ``amps_hard_derivatives``, ``imo``) picks the scorer as upstream
    does. ``question`` supplies ``turns`` (the prompt), ``livebench_release_date`` and, for
    instruction following, ``instruction_id_list`` and ``kwargs`` (``ground_truth`` is then
    unused). Metrics: ``task``, ``category``, ``subtask`` (when given); IF adds ``inst_strict``.
    """
    response = strip_think(response)
    category = str(question.get("category") or CATEGORIES.get(task, ""))
    subtask = question.get("subtask")
    metrics: dict[str, Any] = {"task": task, "category": category}
    if subtask:
        metrics["subtask"] = str(subtask)
    detail = ""
    if category == "instruction_following" or "instruction_id_list" in question:
        category = "instruction_following"
        score, extracted, extra, detail = _grade_instruction_following(response, question)
        metrics.update(extra)
        expected: Any = extra["instruction_ids"]
    else:
        key = str(subtask) if subtask else task
        score, extracted, routed = _route(key, response, ground_truth, question)
        category = category or routed
        expected = ground_truth
    score = min(1.0, max(0.0, float(score)))
    metrics["category"] = category
    if not detail:
        detail = f"{task}: score {score:.4g}"
    return Grade(
        passed=score >= 1.0,
        score=score,
        expected=expected,
        extracted=extracted,
        metrics=metrics,
        detail=detail,
    )


def _field(record: Mapping[str, Any], name: str) -> Any:
    metrics = record.get("metrics") or {}
    return metrics.get(name, record.get(name))


def aggregate_livebench(records: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The LiveBench average from per-item records, as ``show_livebench_result.py`` computes it.

    Each record has ``score`` and ``task``/``category`` (top level or in ``metrics``, as
    :func:`grade_livebench` writes them); records with an ``outcome`` of ``error`` or no score
    are skipped, and repeats of one ``nodeid``/``id`` are averaged first. Task score = mean
    item score; category score = mean of its task scores; ``score`` = mean of category scores.
    All in [0, 1]. Empty input gives 0.
    """
    items: dict[Any, list[float]] = defaultdict(list)
    where: dict[Any, tuple[str, str]] = {}
    for index, record in enumerate(records):
        if record.get("outcome") == "error" or record.get("score") is None:
            continue
        score = float(record["score"])
        if score == -1:  # upstream's marker for an unjudged item
            continue
        task = str(_field(record, "task"))
        category = str(_field(record, "category") or CATEGORIES.get(task, "unknown"))
        key = record.get("nodeid", record.get("id", index))
        items[(task, key)].append(score)
        where[(task, key)] = (task, category)
    tasks: dict[str, list[float]] = defaultdict(list)
    task_category: dict[str, str] = {}
    for key, scores in items.items():
        task, category = where[key]
        tasks[task].append(statistics.fmean(scores))
        task_category[task] = category
    task_scores = {task: statistics.fmean(values) for task, values in tasks.items()}
    by_task = {
        task: {"score": task_scores[task], "n": len(tasks[task]), "category": task_category[task]}
        for task in sorted(tasks)
    }
    grouped: dict[str, list[str]] = defaultdict(list)
    for task, category in task_category.items():
        grouped[category].append(task)
    category_scores = {
        category: statistics.fmean(task_scores[t] for t in names)
        for category, names in grouped.items()
    }
    by_category = {
        category: {
            "score": category_scores[category],
            "n": sum(len(tasks[t]) for t in names),
            "tasks": sorted(names),
        }
        for category, names in sorted(grouped.items())
    }
    overall = statistics.fmean(category_scores.values()) if category_scores else 0.0
    return {
        "score": overall,
        "metrics": {"score": overall},
        "by_category": by_category,
        "by_task": by_task,
    }
