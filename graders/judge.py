r"""Generic LLM-judge verdict formats: strict parsers and the Prometheus 2 prompt.

FastChat single-answer rating (Zheng et al. 2023, "Judging LLM-as-a-Judge with MT-Bench and
Chatbot Arena", arXiv:2306.05685; lm-sys/FastChat ``fastchat/llm_judge/common.py``,
``run_judge_single``): the first ``[[N]]`` in the judgment (``one_score_pattern``), else the
first ``[N]`` (``one_score_pattern_backup``). FastChat keeps any number it finds; we also
require 1 <= N <= 10 and return None otherwise, so an out-of-scale verdict is retried rather
than scored.

FastChat pairwise verdict (``run_judge_pair``, output format ``[[A]]``): ``[[A]]`` = A,
``[[B]]`` = B, ``[[C]]`` = tie. FastChat tests them by precedence (A before B before C); we
return None when more than one distinct verdict is present instead of favouring A.

Prometheus 2 absolute grading (Kim et al. 2024, "Prometheus 2: An Open Source Language Model
Specialized in Evaluating Other Language Models", arXiv:2405.01535; prometheus-eval/
prometheus-eval ``libs/prometheus-eval/prometheus_eval/prompts.py``): the judge writes feedback
and ends with ``[RESULT] N``, N in 1-5. The prompt below follows the paper's section layout
(instruction, response, optional reference answer scored 5, score rubric, feedback) in our own
wording; the section headers are kept because the judge model was trained on them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from benchgate.simjudge import JudgeRequest, simulated_judge

# FastChat's patterns; re.ASCII so only 0-9 count as digits (as ast.literal_eval requires).
_RATING = re.compile(r"\[\[(\d+\.?\d*)\]\]", re.ASCII)
_RATING_BACKUP = re.compile(r"\[(\d+\.?\d*)\]", re.ASCII)
_PAIR_LABELS = {"[[A]]": "A", "[[B]]": "B", "[[C]]": "tie"}
_RESULT_TAG = re.compile(r"\[RESULT\]", re.IGNORECASE)
# What may follow the last [RESULT]: one score, optionally bracketed, "/5" or "out of 5", a
# full stop and an end-of-sequence token some servers leave in the text.
_RESULT_TAIL = re.compile(
    r"\s*:?\s*[(\[]?\s*([1-5])\s*[)\]]?\s*(?:/\s*5|out\s+of\s+5)?\s*\.?\s*"
    r"(?:</s>|<\|eot_id\|>)?\s*", re.ASCII | re.IGNORECASE)

RATING_RANGE = (1.0, 10.0)
PROMETHEUS_RANGE = (1, 5)
FORMATS = ("fastchat", "prometheus", "pairwise")

PROMETHEUS_SYSTEM = (
    "You are an impartial evaluator. You judge a single response against the score rubric "
    "you are given, write specific feedback, and finish with an integer score from 1 to 5.")

_TASK_WITH_REF = (
    "You receive an instruction (it may contain an input), a response to evaluate, a "
    "reference answer that would earn a score of 5, and a score rubric that states the "
    "evaluation criteria.")
_TASK_NO_REF = (
    "You receive an instruction (it may contain an input), a response to evaluate, and a "
    "score rubric that states the evaluation criteria.")
_STEPS = (
    "1. Write feedback that evaluates the response only against the score rubric, not its "
    "general quality.\n"
    "2. Then give an integer score between 1 and 5, chosen by the rubric.\n"
    "3. Answer in exactly this form: \"Feedback: (your feedback) [RESULT] (integer from 1 to "
    "5)\"\n"
    "4. Write nothing before or after that.")


@dataclass(frozen=True)
class JudgeVerdict:
    """A parsed judge answer: ``score`` is None when the verdict could not be read."""

    score: float | None
    raw: str

    @property
    def ok(self) -> bool:
        """True when a score was read."""
        return self.score is not None


def parse_fastchat_rating(text: str) -> float | None:
    """The ``[[N]]`` rating of a FastChat single-answer judgment (1-10), else None."""
    match = _RATING.search(text) or _RATING_BACKUP.search(text)
    if match is None:
        return None
    value = float(match.group(1))
    low, high = RATING_RANGE
    return value if low <= value <= high else None


def parse_pairwise(text: str) -> str | None:
    """``"A"``, ``"B"`` or ``"tie"`` from ``[[A]]``/``[[B]]``/``[[C]]``; None if absent or mixed."""
    found = {label for tag, label in _PAIR_LABELS.items() if tag in text}
    return found.pop() if len(found) == 1 else None


def parse_prometheus(text: str) -> int | None:
    """The 1-5 score after the last ``[RESULT]`` of a Prometheus verdict, else None.

    Only the score may follow the tag (brackets, ``/5``, ``out of 5``, a full stop and an
    end-of-sequence token are tolerated); anything else after it makes the verdict unreadable.
    """
    tags = list(_RESULT_TAG.finditer(text))
    if not tags:
        return None
    match = _RESULT_TAIL.fullmatch(text, tags[-1].end())
    return int(match.group(1)) if match else None


def format_rubric(rubric: str | Mapping[str, str]) -> str:
    """A Prometheus score rubric as text.

    A string is used as given; a mapping needs ``criteria`` and ``score1_description`` ...
    ``score5_description`` (the fields of the Prometheus rubric data) and is laid out as
    ``[criteria]`` followed by one ``Score N: ...`` line per level.
    """
    if isinstance(rubric, str):
        return rubric
    keys = ["criteria"] + [f"score{n}_description" for n in range(1, 6)]
    missing = [key for key in keys if key not in rubric]
    if missing:
        raise ValueError(f"rubric lacks {', '.join(missing)}")
    lines = [f"[{rubric['criteria']}]"]
    lines += [f"Score {n}: {rubric[f'score{n}_description']}" for n in range(1, 6)]
    return "\n".join(lines)


def build_prometheus_prompt(instruction: str, response: str, rubric: str | Mapping[str, str],
                            reference: str | None = None) -> list[dict[str, str]]:
    """Chat messages asking a Prometheus-style judge for absolute (1-5) grading."""
    parts = ["###Task Description:", _TASK_NO_REF if reference is None else _TASK_WITH_REF,
             _STEPS, "", "###The instruction to evaluate:", instruction, "",
             "###Response to evaluate:", response, ""]
    if reference is not None:
        parts += ["###Reference Answer (Score 5):", reference, ""]
    parts += ["###Score Rubrics:", format_rubric(rubric), "", "###Feedback: "]
    return [{"role": "system", "content": PROMETHEUS_SYSTEM},
            {"role": "user", "content": "\n".join(parts)}]


def parse_verdict(text: str, fmt: str) -> JudgeVerdict:
    """Parse ``text`` in one of :data:`FORMATS`; pairwise maps A/B/tie to 1.0/0.0/0.5."""
    score: float | None
    if fmt == "fastchat":
        score = parse_fastchat_rating(text)
    elif fmt == "prometheus":
        result = parse_prometheus(text)
        score = None if result is None else float(result)
    elif fmt == "pairwise":
        winner = parse_pairwise(text)
        score = None if winner is None else {"A": 1.0, "B": 0.0, "tie": 0.5}[winner]
    else:
        raise ValueError(f"unknown judge format {fmt!r}; choose from {', '.join(FORMATS)}")
    return JudgeVerdict(score=score, raw=text)


@simulated_judge
def simulate_judge_formats(request: JudgeRequest) -> str | None:
    """The simulator's answer to a prompt asking for one of these verdict formats.

    Prometheus ``[RESULT] N`` (1-5), FastChat pairwise ``[[A]]``/``[[B]]`` (a coin toss; the
    ``position`` judge always names A) and FastChat ``[[rating]]`` (1-10, uniform). The
    ``strict`` judge rates the same answer lower (3 points on 1-10, 1 on 1-5, never below 1).
    """
    prompt, u = request.prompt, request.draw
    strict = request.mode == "strict"
    if "[RESULT]" in prompt:
        return f"Feedback: The response addresses the task. [RESULT] {max(1, 1 + int(u * 5) - strict)}"
    if "[[A]]" in prompt and "[[B]]" in prompt:
        if request.mode == "position" or u < 0.5:
            return "Both are plausible; the first is clearer. [[A]]"
        return "The second answer is more complete. [[B]]"
    if "[[rating]]" in prompt or re.search(r"\[\[\d+\]\]", prompt):
        return f"The answer is reasonable. Rating: [[{max(1, 1 + int(u * 10) - 3 * strict)}]]"
    return None
