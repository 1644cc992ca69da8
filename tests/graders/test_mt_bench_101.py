"""MT-Bench-101 judge prompts (on our sample rubric file), verdicts and aggregation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders.mt_bench_101 import (
    aggregate_mt_bench_101,
    build_turn_judge_messages,
    grade_mt_bench_101,
    judged_turns,
    model_messages,
    parse_rating,
    reference_dialogue,
    system_prompt,
)

SAMPLE = (Path(__file__).resolve().parents[2] / "benchmarks" / "mt_bench_101" / "sample"
          / "judge_prompts.json")
PROMPTS = json.loads(SAMPLE.read_text())
TASKS = ["CM", "SI", "AR", "TS", "CC", "CR", "FR", "SC", "SA", "MR", "GR", "IC", "PI"]

DIALOGUE = [
    {"user": "I have 4 red pens and 3 blue pens.", "bot": "So you have 7 pens in total."},
    {"user": "I lose 2 red pens. How many pens now?", "bot": "You now have 5 pens."},
    {"user": "How many of them are red?", "bot": "2 of them are red."},
]


def test_sample_file_schema() -> None:
    assert sorted(PROMPTS["task_prompts"]) == sorted(TASKS)
    assert set(PROMPTS["task_to_ability"]) == set(TASKS)
    assert set(PROMPTS["task_to_ability"].values()) == set(PROMPTS["ability_to_tier"])
    for task in TASKS:
        assert system_prompt(PROMPTS, task) == PROMPTS["system_prompt_template"].format(
            task_prompt=PROMPTS["task_prompts"][task])


@pytest.mark.parametrize("task,n,expected", [
    ("CM", 3, [1, 2]), ("SA", 2, [1]), ("FR", 1, []),
    ("MR", 3, [0, 1, 2]), ("IC", 1, [0]), ("TS", 4, [0, 1, 2, 3]),
])
def test_judged_turns(task: str, n: int, expected: list[int]) -> None:
    assert judged_turns(PROMPTS, task, n) == expected


def test_unknown_task() -> None:
    with pytest.raises(ValueError, match="XX"):
        judged_turns(PROMPTS, "XX", 2)


def test_messages_carry_golden_history() -> None:
    messages = build_turn_judge_messages(PROMPTS, "CM", DIALOGUE, 2, "Two are red.")
    history = ("\n\n Human: I have 4 red pens and 3 blue pens.\n\nAssistant: So you have 7 pens in"
               " total.\n\n Human: I lose 2 red pens. How many pens now?\n\nAssistant: You now"
               " have 5 pens.\n\n Human: How many of them are red?\n\nAssistant: ")
    assert messages == [
        {"role": "system", "content": system_prompt(PROMPTS, "CM")},
        {"role": "user", "content": PROMPTS["user_prompt_template"].format(
            history=history, prediction="Two are red.")}]
    assert "2 of them are red." not in messages[1]["content"]  # golden reply of the judged turn


def test_reference_tasks_show_golden_dialogue() -> None:
    user = build_turn_judge_messages(PROMPTS, "MR", DIALOGUE, 1, "6 pens.")[1]["content"]
    ref = str([{"role": "user", "content": DIALOGUE[0]["user"]},
               {"role": "assistant", "content": DIALOGUE[0]["bot"]},
               {"role": "user", "content": DIALOGUE[1]["user"]},
               {"role": "assistant", "content": DIALOGUE[1]["bot"]}])
    assert user.endswith(f" {ref} \n ###\n\n") and "6 pens." in user
    assert reference_dialogue([{"user": "q", "bot": ""}], 0) == [{"role": "user", "content": "q"}]


def test_first_turn_of_skip_task_is_not_judged() -> None:
    with pytest.raises(ValueError, match="not judged"):
        build_turn_judge_messages(PROMPTS, "SC", DIALOGUE, 0, "hi")
    with pytest.raises(ValueError, match="not judged"):
        build_turn_judge_messages(PROMPTS, "MR", DIALOGUE, 3, "hi")


def test_model_messages() -> None:
    assert model_messages(DIALOGUE, 0) == [{"role": "user", "content": DIALOGUE[0]["user"]}]
    got = model_messages(DIALOGUE, 2)
    assert [m["role"] for m in got] == ["user", "assistant", "user", "assistant", "user"]
    assert got[-1]["content"] == DIALOGUE[2]["user"] and got[-2]["content"] == DIALOGUE[1]["bot"]


VERDICTS = [
    ("The reply recalls both colours correctly. Rating: [[9]]", 9.0),
    ("It forgets the lost pens.\nRating: [[3]]", 3.0),
    ("Rating: [10]", 10.0),
    ("Point [1] is fine; overall Rating: [[7]]", 1.0),  # first match, as OpenCompass
    ("Rating: [[0]]", None),
    ("Rating: [[12]]", None),
    ("Rating: [[7.5]]", None),  # the regex takes integers only
    ("Rating: 8/10", None),
    ("", None),
]


@pytest.mark.parametrize("text,expected", VERDICTS)
def test_parse_rating_table(text: str, expected: float | None) -> None:
    assert parse_rating(text, PROMPTS) == expected


def test_aggregate_min_mean_mean() -> None:
    result = aggregate_mt_bench_101([
        ("CM", [8.0, 6.0]), ("CM", [9.0]),     # dialogues 6 and 9 -> CM 7.5
        ("SC", [4.0]),                         # SC 4
        ("MR", [10.0, 10.0, 5.0]),             # MR 5
        ("GR", []),                            # no verdicts: dropped
    ], PROMPTS)
    assert result["by_task"] == {"CM": 7.5, "SC": 4.0, "MR": 5.0}
    assert result["score"] == pytest.approx((7.5 + 4.0 + 5.0) / 3)
    assert result["by_ability"] == {"Memory": 7.5, "Reflection": 4.0, "Reasoning": 5.0}
    assert aggregate_mt_bench_101([], PROMPTS) == {"score": None, "by_task": {}, "by_ability": {}}
    with pytest.raises(ValueError, match="ZZ"):
        aggregate_mt_bench_101([("ZZ", [5.0])], PROMPTS)


def test_grade_dialogue() -> None:
    grade = grade_mt_bench_101([9.0, 6.0, 8.0])
    assert (grade.passed, grade.score) == (False, 6.0)
    assert grade.metrics == {"turn_ratings": [9.0, 6.0, 8.0]}
    assert grade_mt_bench_101([7.0]).passed
    with pytest.raises(ValueError):
        grade_mt_bench_101([])


@settings(max_examples=200)
@given(st.text())
def test_parse_never_raises(text: str) -> None:
    got = parse_rating(text, PROMPTS)
    assert got is None or 1.0 <= got <= 10.0


@settings(max_examples=100)
@given(st.lists(st.tuples(st.sampled_from(TASKS),
                          st.lists(st.integers(1, 10).map(float), max_size=4)), max_size=20))
def test_aggregate_in_range(dialogues: list[tuple[str, list[float]]]) -> None:
    result = aggregate_mt_bench_101(dialogues, PROMPTS)
    scores = [result["score"], *result["by_task"].values(), *result["by_ability"].values()]
    assert all(s is None or 1.0 <= s <= 10.0 for s in scores)


@settings(max_examples=100)
@given(st.lists(st.fixed_dictionaries({"user": st.text(), "bot": st.text()}), min_size=2,
                max_size=4), st.text())
def test_builder_embeds_any_text(history: list[dict[str, str]], answer: str) -> None:
    user = build_turn_judge_messages(PROMPTS, "GR", history, len(history) - 1, answer)[1]["content"]
    assert answer in user and all(turn["user"] in user for turn in history)
