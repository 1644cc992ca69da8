"""GSM8K extraction: a table of real cases plus hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders.gsm8k import extract_answer, grade_gsm8k, normalize, reference_answer

CASES = [
    ("Janet sells 16 - 3 - 4 = 9 eggs.\n#### 18", "18"),
    ("She pays $1,200 in total.\nThe answer is $1,200.", "1200"),
    ("So the final answer is 42.", "42"),
    ("The final answer is 7.0", "7"),
    ("Answer: -3", "-3"),
    ("Thus \\boxed{625} is the result, not 12.", "625"),
    ("It costs 3.50 dollars each, 2 of them: 7.50 dollars", "7.5"),
    ("First 12 then 15 and finally 20 apples.", "20"),
    ("The answer is 0.25", "0.25"),
    ("no digits here", None),
    ("#### 1,000,000", "1000000"),
    ("In 2023 she had 5 cats. #### 5\nI hope 2024 is better.", "5"),
]


@pytest.mark.parametrize("response,expected", CASES)
def test_extract_answer_table(response: str, expected: str | None) -> None:
    assert extract_answer(response) == expected


def test_reference_answer_and_grade() -> None:
    assert reference_answer("3+4=<<3+4=7>>7 apples\n#### 7") == "7"
    assert grade_gsm8k("The final answer is 7 apples.", "7").passed
    wrong = grade_gsm8k("I think 8.", "7")
    assert not wrong.passed and wrong.message == "expected '7', got '8'"
    with pytest.raises(ValueError, match="####"):
        reference_answer("no final line")


@settings(max_examples=200)
@given(st.text())
def test_never_raises_and_scores_in_range(text: str) -> None:
    got = extract_answer(text)
    assert got is None or normalize(got) == got
    grade = grade_gsm8k(text, "12")
    assert grade.score in (0.0, 1.0) and grade.passed == (grade.score == 1.0)


numbers = st.integers(min_value=-10**9, max_value=10**9)
prose = st.text(alphabet=st.characters(blacklist_categories=("Nd",), blacklist_characters="#$"),
                max_size=60)


@settings(max_examples=200)
@given(prose, numbers, prose)
def test_finds_the_number_in_any_answer_is_sentence(before: str, n: int, after: str) -> None:
    assert extract_answer(f"{before}\nThe answer is {n:,}.{after}") == str(n)


@settings(max_examples=200)
@given(st.lists(numbers, max_size=8), numbers, st.lists(numbers, max_size=3))
def test_hash_line_wins_over_numbers_in_reasoning(reasoning: list[int], n: int,
                                                  trailing: list[int]) -> None:
    text = " then ".join(str(x) for x in reasoning) + f"\n#### {n}\n" + \
        " ".join(f"step {x}" for x in trailing)
    assert extract_answer(text) == str(n)
