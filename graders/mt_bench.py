"""MT-Bench judge prompts and grading (Zheng et al. 2023, "Judging LLM-as-a-Judge with MT-Bench
and Chatbot Arena", arXiv:2306.05685; reference lm-sys/FastChat ``fastchat/llm_judge/
common.py`` (``run_judge_single``, ``run_judge_pair``, ``NEED_REF_CATS``) and
``fastchat/llm_judge/gen_judgment.py`` (``make_judge_single``, ``make_judge_pairwise``)).

The judge templates are benchmark data: the records of FastChat's ``judge_prompts.jsonl``
(``name``, ``type``, ``system_prompt``, ``prompt_template``, ``output_format``, ...), loaded at
run time and passed in. A template's ``prompt_template`` is filled with ``str.format`` using
FastChat's placeholder names (``question``/``answer`` for turn 1; ``question_1``,
``question_2``, ``answer_1``, ``answer_2`` for turn 2; ``answer_a``/``answer_b`` variants for
pairwise; ``ref_answer_1``/``ref_answer_2`` when a reference is given) and sent as the user
message after ``system_prompt`` as the system message.

Math, reasoning and coding questions are judged against a reference answer; turn 2 is judged
with the multi-turn template, which shows the whole two-turn conversation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from benchgate.grade import Grade
from graders.judge import RATING_RANGE

NEED_REF_CATS = ("math", "reasoning", "coding")
TEMPLATE_NAMES = {
    ("single", False): "single-v1",
    ("single", True): "single-math-v1",
    ("pairwise", False): "pair-v2",
    ("pairwise", True): "pair-math-v1",
}
MULTI_TURN_SUFFIX = "-multi-turn"


def index_templates(records: Iterable[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """The records of ``judge_prompts.jsonl`` keyed by ``name`` (FastChat's load_judge_prompts)."""
    return {str(record["name"]): record for record in records}


def template_name(category: str, turn: int, kind: str = "single") -> str:
    """FastChat's judge template name for a question category and turn (1 or 2)."""
    _check_turn(turn)
    if kind not in ("single", "pairwise"):
        raise ValueError(f"unknown judge kind {kind!r}; choose from single, pairwise")
    name = TEMPLATE_NAMES[kind, category in NEED_REF_CATS]
    return name + MULTI_TURN_SUFFIX if turn == 2 else name


def select_template(category: str, turn: int, templates: Mapping[str, Mapping[str, Any]],
                    kind: str = "single") -> Mapping[str, Any]:
    """The template FastChat's ``make_judge_single`` (or ``_pairwise``) uses for this turn."""
    name = template_name(category, turn, kind)
    try:
        return templates[name]
    except KeyError:
        known = ", ".join(sorted(templates))
        raise ValueError(f"judge prompts lack template {name!r}; have {known}") from None


def needs_reference(template: Mapping[str, Any]) -> bool:
    """True when the template shows a reference answer (``{ref_answer_1}``)."""
    return "{ref_answer_1}" in str(template["prompt_template"])


def build_judge_messages(template: Mapping[str, Any], questions: Sequence[str],
                         answers: Sequence[str], turn: int,
                         reference: Sequence[str] | None) -> list[dict[str, str]]:
    """System and user messages for single-answer grading of ``turn`` (1 or 2).

    ``questions`` are the question's user turns, ``answers`` the model's replies and
    ``reference`` the reference answer's turns (math/reasoning/coding), as FastChat's
    ``run_judge_single`` passes them.
    """
    _check_turn(turn)
    _need(answers, turn, "answers")
    if turn == 1:
        values = {"question": questions[0], "answer": answers[0]}
    else:
        values = {"question_1": questions[0], "question_2": questions[1],
                  "answer_1": answers[0], "answer_2": answers[1]}
    return _messages(template, questions, turn, reference, values)


def build_pair_judge_messages(template: Mapping[str, Any], questions: Sequence[str],
                              answers_a: Sequence[str], answers_b: Sequence[str], turn: int,
                              reference: Sequence[str] | None) -> list[dict[str, str]]:
    """System and user messages for pairwise grading (FastChat's ``run_judge_pair``).

    FastChat plays each pair twice with A and B swapped; call this once per order.
    """
    _check_turn(turn)
    _need(answers_a, turn, "answers_a")
    _need(answers_b, turn, "answers_b")
    if turn == 1:
        values = {"question": questions[0], "answer_a": answers_a[0], "answer_b": answers_b[0]}
    else:
        values = {"question_1": questions[0], "question_2": questions[1],
                  "answer_a_1": answers_a[0], "answer_b_1": answers_b[0],
                  "answer_a_2": answers_a[1], "answer_b_2": answers_b[1]}
    return _messages(template, questions, turn, reference, values)


def grade_mt_bench(rating: float, pass_mark: float = 7.0) -> Grade:
    """Grade one judged turn: the judge's 1-10 rating is the score; passed at ``pass_mark``."""
    low, high = RATING_RANGE
    if not low <= rating <= high:
        raise ValueError(f"MT-Bench rating {rating!r} is outside {low:g}-{high:g}")
    value = float(rating)
    return Grade(passed=value >= pass_mark, score=value, expected=f">= {pass_mark:g}",
                 extracted=value, metrics={"rating": value}, detail="judge rating, 1-10")


def _messages(template: Mapping[str, Any], questions: Sequence[str], turn: int,
              reference: Sequence[str] | None, values: dict[str, str]) -> list[dict[str, str]]:
    _need(questions, turn, "questions")
    if reference is not None:
        # FastChat passes both reference turns to every reference template.
        values.update({f"ref_answer_{i + 1}": text for i, text in enumerate(reference[:2])})
    name = template.get("name", "?")
    try:
        user = str(template["prompt_template"]).format(**values)
    except KeyError as missing:
        hint = " (no reference answer given)" if reference is None else ""
        raise ValueError(f"judge template {name!r} for turn {turn} needs {missing}{hint}") from None
    return [{"role": "system", "content": str(template["system_prompt"])},
            {"role": "user", "content": user}]


def _check_turn(turn: int) -> None:
    if turn not in (1, 2):
        raise ValueError(f"MT-Bench turn must be 1 or 2, got {turn!r}")


def _need(seq: Sequence[str], turn: int, what: str) -> None:
    if len(seq) < turn:
        raise ValueError(f"turn {turn} needs {turn} {what}, got {len(seq)}")
