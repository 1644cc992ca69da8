"""MMLU-Pro: the reference prompt layout, the extraction cascade, and hypothesis properties."""

from __future__ import annotations

import random

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from graders.mmlu_pro import (
    INITIAL_PROMPT,
    LETTERS,
    build_prompt,
    extract_answer,
    format_question,
    grade_mmlu_pro,
    official_accuracy,
)

CASES = [
    ("Kinetic energy doubles, so speed rises by sqrt 2. The answer is (C).", "C"),
    ("so the answer is D", "D"),
    ("Therefore the answer is **E**.", "E"),
    ("**Answer: B**", "B"),
    ("Final answer: G\nThough J was tempting.", "G"),
    ("The answer is (B).\nAnswer: C", "B"),
    ("the answer is (A) or maybe the answer is (B)", "A"),  # first match, as upstream
    ("I choose option H because it is the only consistent one.", "H"),
    ("The Answer is (F)", "F"),  # case-sensitive first pattern; the last letter still gives F
    ("Options A and C are wrong; B\n\nfits the data best.", "B"),
    ("A\nB\nC", "C"),
    ("The answer is (K)", None),  # K is outside A-J and nothing else matches
    ("answer: e", None),
    ("I cannot decide between these.", "I"),  # the official fallback takes any lone A-J
    ("no capital letters here", None),
    ("", None),
]


@pytest.mark.parametrize("response,expected", CASES)
def test_extract_answer_table(response: str, expected: str | None) -> None:
    assert extract_answer(response) == expected


def test_format_question_zero_shot_layout() -> None:
    text = format_question("Which gas do plants take in?", ["Oxygen", "Carbon dioxide", "N/A"])
    assert text == ("Question: Which gas do plants take in?\nOptions: A. Oxygen\n"
                    "B. Carbon dioxide\nAnswer: Let's think step by step.\n\n")


def test_format_question_with_worked_answer() -> None:
    cot = "A: Let's think step by step. Two plus two is four. The answer is (B)."
    text = format_question("What is 2 + 2?", ["3", "4"], cot)
    assert text.endswith("B. 4\nAnswer: Let's think step by step. Two plus two is four. "
                         "The answer is (B).\n\n")


def test_format_question_rejects_eleven_options() -> None:
    with pytest.raises(ValueError, match="at most 10"):
        format_question("q", [str(i) for i in range(11)])


SHOT = {"question": "What is 3 * 3?", "options": ["6", "9", "12"],
        "cot_content": "A: Let's think step by step. 3 * 3 = 9. The answer is (B)."}


def test_build_prompt_zero_and_five_shot() -> None:
    zero = build_prompt("What is 1 + 1?", ["1", "2"], "math", [])
    assert len(zero) == 1 and zero[0]["role"] == "user"
    assert zero[0]["content"] == (INITIAL_PROMPT.format(subject="math")
                                  + format_question("What is 1 + 1?", ["1", "2"]))
    assert zero[0]["content"].startswith(
        "The following are multiple choice questions (with answers) about math. Think step by "
        "step and then output the answer in the format of \"The answer is (X)\" at the end.\n\n")
    five = build_prompt("What is 1 + 1?", ["1", "2"], "math", [SHOT] * 5)[0]["content"]
    assert five.count("Question: ") == 6 and five.count("3 * 3 = 9. The answer is (B).") == 5
    assert five.endswith("Options: A. 1\nB. 2\nAnswer: Let's think step by step.\n\n")


def test_grade() -> None:
    good = grade_mmlu_pro("Thus the answer is (J).", "J")
    assert good.passed and good.score == 1.0 and good.metrics == {"unextracted": False}
    wrong = grade_mmlu_pro("The answer is (A).", "J")
    assert not wrong.passed and wrong.message == "expected 'J', got 'A'"
    none = grade_mmlu_pro("no idea", "J")
    assert not none.passed and none.metrics == {"unextracted": True}
    assert "no answer letter" in none.message


@settings(max_examples=200)
@given(st.text())
def test_never_raises_and_in_range(text: str) -> None:
    got = extract_answer(text)
    assert got is None or got in LETTERS
    grade = grade_mmlu_pro(text, "C")
    assert grade.score in (0.0, 1.0) and grade.passed == (grade.score == 1.0)
    assert grade.metrics["unextracted"] == (got is None)


@settings(max_examples=200)
@given(st.text(max_size=200), st.sampled_from(LETTERS))
def test_stated_answer_wins(reasoning: str, letter: str) -> None:
    assume("answer is" not in reasoning.replace("**", ""))
    assert extract_answer(f"{reasoning} The answer is ({letter}).") == letter


def test_official_accuracy_without_gaps_is_plain_accuracy() -> None:
    rows = [("A", "A", 4), ("B", "C", 4), ("J", "J", 10), ("D", "D", 10)]
    assert official_accuracy(rows) == 0.75
    assert official_accuracy([]) == 0.0


def test_official_accuracy_guesses_among_the_options_only() -> None:
    assert official_accuracy([(None, "A", 1)] * 20) == 1.0  # one option: always hit
    assert official_accuracy([(None, "J", 4)] * 50) == 0.0  # J is not among 4 options
    with pytest.raises(ValueError, match="n_options"):
        official_accuracy([(None, "A", 0)])
    with pytest.raises(ValueError, match="n_options"):
        official_accuracy([(None, "A", 11)])


def test_official_accuracy_is_the_upstream_draw() -> None:
    # evaluate_from_api.py: random.seed(12345) at import, then randint(0, len(options) - 1)
    # per unextracted answer, in item order.
    rows = [(None, "ABCDEFGHIJ"[i % 7], 3 + i % 8) for i in range(300)]
    state = random.getstate()
    try:
        random.seed(12345)
        hits = sum(random.randint(0, n - 1) == "ABCDEFGHIJ".index(ref) for _, ref, n in rows)
    finally:
        random.setstate(state)
    assert official_accuracy(rows) == hits / len(rows)
    assert official_accuracy(rows, seed=12345) == official_accuracy(rows)  # deterministic
    assert len({official_accuracy(rows, seed=s) for s in range(20)}) > 1  # the seed matters


@settings(max_examples=200)
@given(st.lists(st.tuples(st.one_of(st.none(), st.sampled_from(LETTERS)),
                          st.sampled_from(LETTERS), st.integers(min_value=1, max_value=10)),
                max_size=60),
       st.integers(min_value=0, max_value=2**32))
def test_official_accuracy_bounds(rows: list[tuple[str | None, str, int]], seed: int) -> None:
    n = len(rows)
    plain = sum(p == a for p, a, _ in rows)
    guessable = sum(p is None and LETTERS.index(a) < k for p, a, k in rows)
    got = official_accuracy(rows, seed) * n if n else 0.0
    assert plain <= round(got) <= plain + guessable


def test_official_accuracy_mean_over_seeds_is_the_guess_rate() -> None:
    rows = [(None, "B", 4)] * 40
    mean = sum(official_accuracy(rows, seed=s) for s in range(500)) / 500
    assert mean == pytest.approx(0.25, abs=0.01)
