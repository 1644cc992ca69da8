"""MT-Bench judge prompts (on our sample templates) and grading."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders.judge import parse_fastchat_rating
from graders.mt_bench import (
    build_judge_messages,
    build_pair_judge_messages,
    grade_mt_bench,
    index_templates,
    needs_reference,
    select_template,
    template_name,
)

SAMPLE = (Path(__file__).resolve().parents[2] / "benchmarks" / "mt_bench" / "sample"
          / "judge_prompts.jsonl")
TEMPLATES = index_templates(json.loads(line) for line in SAMPLE.read_text().splitlines())

QUESTIONS = ["How many legs do 3 spiders have?", "And 3 ants?"]
ANSWERS = ["3 x 8 = 24 legs.", "3 x 6 = 18 legs."]
REFERENCE = ["24", "18"]

# FastChat's placeholders per template (the schema our sample must share with upstream).
FIELDS = {
    "single-v1": {"question", "answer"},
    "single-math-v1": {"question", "ref_answer_1", "answer"},
    "single-v1-multi-turn": {"question_1", "answer_1", "question_2", "answer_2"},
    "single-math-v1-multi-turn": {"question_1", "ref_answer_1", "question_2", "ref_answer_2",
                                  "answer_1", "answer_2"},
    "pair-v2": {"question", "answer_a", "answer_b"},
    "pair-math-v1": {"question", "ref_answer_1", "answer_a", "answer_b"},
    "pair-v2-multi-turn": {"question_1", "question_2", "answer_a_1", "answer_a_2", "answer_b_1",
                           "answer_b_2"},
    "pair-math-v1-multi-turn": {"question_1", "question_2", "ref_answer_1", "ref_answer_2",
                                "answer_a_1", "answer_a_2", "answer_b_1", "answer_b_2"},
}


def fields(template: dict[str, Any]) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template["prompt_template"]) if f}


def test_sample_has_upstream_schema() -> None:
    assert set(TEMPLATES) == set(FIELDS)
    for name, template in TEMPLATES.items():
        assert fields(dict(template)) == FIELDS[name], name
        assert template["type"] == ("single" if name.startswith("single") else "pairwise")
        single = template["type"] == "single"
        assert template["output_format"] == ("[[rating]]" if single else "[[A]]")


@pytest.mark.parametrize("category,turn,kind,name", [
    ("writing", 1, "single", "single-v1"),
    ("roleplay", 2, "single", "single-v1-multi-turn"),
    ("math", 1, "single", "single-math-v1"),
    ("reasoning", 2, "single", "single-math-v1-multi-turn"),
    ("coding", 1, "single", "single-math-v1"),
    ("stem", 1, "pairwise", "pair-v2"),
    ("humanities", 2, "pairwise", "pair-v2-multi-turn"),
    ("coding", 2, "pairwise", "pair-math-v1-multi-turn"),
    ("extraction", 1, "single", "single-v1"),
])
def test_select_template(category: str, turn: int, kind: str, name: str) -> None:
    assert template_name(category, turn, kind) == name
    assert select_template(category, turn, TEMPLATES, kind=kind)["name"] == name


def test_select_template_errors() -> None:
    with pytest.raises(ValueError, match="turn"):
        select_template("math", 3, TEMPLATES)
    with pytest.raises(ValueError, match="single-v1"):
        select_template("writing", 1, {})
    with pytest.raises(ValueError, match="kind"):
        template_name("writing", 1, "listwise")


def test_turn_one_messages() -> None:
    template = TEMPLATES["single-v1"]
    messages = build_judge_messages(template, QUESTIONS, ANSWERS, 1, None)
    assert messages == [
        {"role": "system", "content": template["system_prompt"]},
        {"role": "user", "content": template["prompt_template"].format(
            question=QUESTIONS[0], answer=ANSWERS[0])}]
    assert ANSWERS[1] not in messages[1]["content"]


def test_turn_two_with_reference() -> None:
    template = TEMPLATES["single-math-v1-multi-turn"]
    assert needs_reference(template)
    user = build_judge_messages(template, QUESTIONS, ANSWERS, 2, REFERENCE)[1]["content"]
    assert user == template["prompt_template"].format(
        question_1=QUESTIONS[0], question_2=QUESTIONS[1], answer_1=ANSWERS[0],
        answer_2=ANSWERS[1], ref_answer_1=REFERENCE[0], ref_answer_2=REFERENCE[1])


def test_braces_in_answers_survive() -> None:
    answer = "def f():\n    return {'a': 1}  # {answer}"
    messages = build_judge_messages(TEMPLATES["single-v1"], ["Write f."], [answer], 1, None)
    user = messages[1]["content"]
    assert answer in user


def test_missing_inputs_are_errors() -> None:
    with pytest.raises(ValueError, match="no reference"):
        build_judge_messages(TEMPLATES["single-math-v1"], QUESTIONS, ANSWERS, 1, None)
    with pytest.raises(ValueError, match="2 answers"):
        build_judge_messages(TEMPLATES["single-v1-multi-turn"], QUESTIONS, ANSWERS[:1], 2, None)
    with pytest.raises(ValueError, match="question"):  # multi-turn template, turn-1 values
        build_judge_messages(TEMPLATES["single-v1-multi-turn"], QUESTIONS, ANSWERS, 1, None)


def test_pair_messages_both_orders() -> None:
    template = TEMPLATES["pair-math-v1"]
    other = ["3 x 8 = 26 legs."]
    ab = build_pair_judge_messages(template, QUESTIONS, ANSWERS, other, 1, REFERENCE)[1]["content"]
    ba = build_pair_judge_messages(template, QUESTIONS, other, ANSWERS, 1, REFERENCE)[1]["content"]
    assert ab == template["prompt_template"].format(
        question=QUESTIONS[0], ref_answer_1="24", answer_a=ANSWERS[0], answer_b=other[0])
    assert ab.index(ANSWERS[0]) < ab.index(other[0]) and ba.index(other[0]) < ba.index(ANSWERS[0])


@pytest.mark.parametrize("verdict,passed,score", [
    ("Correct and clear. Rating: [[9]]", True, 9.0),
    ("Adequate. Rating: [[7]]", True, 7.0),
    ("Wrong total. Rating: [[2]]", False, 2.0),
    ("Partly right. Rating: [[6.5]]", False, 6.5),
])
def test_grade_from_real_verdicts(verdict: str, passed: bool, score: float) -> None:
    rating = parse_fastchat_rating(verdict)
    assert rating is not None
    grade = grade_mt_bench(rating)
    assert (grade.passed, grade.score) == (passed, score)
    assert grade.metrics == {"rating": score}


def test_grade_message_and_range() -> None:
    assert grade_mt_bench(6.0).message == "expected '>= 7', got 6.0 (judge rating, 1-10)"
    assert grade_mt_bench(5.0, pass_mark=5.0).passed
    with pytest.raises(ValueError):
        grade_mt_bench(0.0)


@settings(max_examples=200)
@given(st.floats(min_value=1.0, max_value=10.0), st.floats(min_value=1.0, max_value=10.0))
def test_grade_score_in_range(rating: float, mark: float) -> None:
    grade = grade_mt_bench(rating, pass_mark=mark)
    assert 1.0 <= grade.score <= 10.0 and grade.passed == (rating >= mark)


@settings(max_examples=100)
@given(st.text(), st.text(), st.text(), st.text())
def test_builder_embeds_any_text(q1: str, q2: str, a1: str, a2: str) -> None:
    user = build_judge_messages(TEMPLATES["single-v1-multi-turn"], [q1, q2], [a1, a2], 2,
                                None)[1]["content"]
    for part in (q1, q2, a1, a2):
        assert part in user
