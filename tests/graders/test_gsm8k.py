"""GSM8K extraction: a table of real cases plus hypothesis properties."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders.gsm8k import extract_answer, grade_gsm8k, normalize, reference_answer, to_fraction

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
    # fractions and mixed numbers are numbers (issue #13)
    ("The answer is 3 1/2", "3.5"),  # a mixed number, never 3
    ("She walks 3 1/2 miles.", "3.5"),
    ("The answer is -3 1/2.", "-3.5"),
    ("The answer is 13 1/2 cups", "13.5"),
    ("Thus \\boxed{\\frac{7}{2}}", "3.5"),
    ("The answer is $\\dfrac{146}{2}$.", "73"),
    ("\\boxed{\\frac{-3}{4}}", "-0.75"),
    ("The answer is 7/2.", "3.5"),
    ("The answer is 1/3 of the pie.", "1/3"),
    ("Answer: 2/6", "1/3"),
    ("#### 10/4", "2.5"),
    ("60/2 = 30, so she has 30 left.", "30"),
    ("The speed is 5/hour", "5"),
    ("Divide 1/0 and get nothing", None),
    ("Due 12/25/2024", None),  # a date is not a fraction, and not its parts
    # the LAST stated answer counts
    ("The answer is 5. Wait, recheck: the answer is 7.", "7"),
    ("Answer: 12\nOn reflection, Answer: 15", "15"),
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


def test_grade_compares_exact_rationals() -> None:
    assert grade_gsm8k("The answer is 3 1/2", "3.5").passed
    assert not grade_gsm8k("The answer is 3 1/2", "3").passed
    assert grade_gsm8k(r"\boxed{\frac{14}{4}}", "3.5").passed
    assert grade_gsm8k("The answer is 2/6", "1/3").passed
    assert not grade_gsm8k("The answer is 0.333", "1/3").passed  # exact, no tolerance
    assert to_fraction("$1,234.50") == Fraction(2469, 2)


def test_last_answer_is_wins_over_the_first() -> None:
    grade = grade_gsm8k("The answer is 18.\nLet me double-check... the answer is 20.", "20")
    assert grade.passed and grade.extracted == "20"
    assert not grade_gsm8k("The answer is 18.\nActually, the answer is 20.", "18").passed


@settings(max_examples=200)
@given(numbers, numbers, prose)
def test_last_of_two_answer_is_sentences(first: int, last: int, between: str) -> None:
    text = f"The answer is {first}.{between}\nSo the answer is {last}."
    assert extract_answer(text) == str(last)


@settings(max_examples=200)
@given(st.integers(min_value=-10**6, max_value=10**6), st.integers(min_value=1, max_value=10**4))
def test_fraction_spellings_agree(p: int, q: int) -> None:
    value = Fraction(p, q)
    for spelling in (f"\\frac{{{p}}}{{{q}}}", f"\\dfrac{{{p}}}{{{q}}}", f"{p}/{q}"):
        got = extract_answer(f"The answer is {spelling}.")
        assert got is not None and Fraction(got) == value, spelling
        assert grade_gsm8k(f"The answer is {spelling}.", str(value)).passed


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=1, max_value=99),
       st.integers(min_value=2, max_value=100))
def test_mixed_number_is_never_its_integer_part(whole: int, num: int, den: int) -> None:
    text = f"The answer is {whole} {num}/{den}"
    got = extract_answer(text)
    assert got is not None and Fraction(got) == whole + Fraction(num, den)
    if num % den:
        assert not grade_gsm8k(text, str(whole)).passed


@settings(max_examples=200)
@given(st.fractions(min_value=0, max_denominator=10**6), st.booleans(),
       st.integers(min_value=0, max_value=60))
def test_normalize_is_exact(magnitude: Fraction, negative: bool, places: int) -> None:
    sign = "-" if negative else ""
    value = -magnitude if negative else magnitude
    assert Fraction(normalize(f"{sign}{magnitude.numerator}/{magnitude.denominator}") or 0) == value
    digits = str(magnitude.numerator * 10**places // magnitude.denominator).rjust(places + 1, "0")
    decimal = f"{sign}{digits[:-places]}.{digits[-places:]}" if places else f"{sign}{digits}"
    got = normalize(decimal)
    assert got is not None and Fraction(got) == Fraction(decimal) and normalize(got) == got


@given(st.from_regex(r"\A[0-9]{1,40}\Z"))
def test_plain_integers_normalise_as_their_exact_value(digits: str) -> None:
    # the integer fast path agrees with the Fraction route (leading zeros, long numbers)
    value = to_fraction(digits)
    assert value is not None and value.denominator == 1
    assert normalize(digits) == str(value.numerator)
