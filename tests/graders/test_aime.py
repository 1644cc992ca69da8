r"""AIME: \boxed extraction, Math-Verify reading of the box, integer normalisation, prompt,
a verdict table and hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders.aime import (
    build_prompt,
    extract_answer,
    grade_aime,
    last_boxed,
    parse_integer,
    to_integer,
)

CASES = [
    (r"Summing the two cases gives \boxed{70}.", 70),
    (r"\boxed{ 070 }", 70),
    (r"\boxed {204}", 204),
    (r"\fbox{588}", 588),
    (r"first guess \boxed{5}, corrected: \boxed{16}", 16),
    (r"\boxed{\boxed{117}}", 117),
    (r"$\boxed{\text{279}}$", 279),
    (r"\boxed{\textbf{504}}", 504),
    (r"the angle is \boxed{36^\circ}", 36),
    (r"\boxed{36^{\circ}}", 36),
    (r"\boxed{m+n = 293}", 293),
    (r"\boxed{(735)}", 735),
    (r"\boxed{49.}", 49),
    (r"\boxed{82.0}", 82),
    (r"\boxed{70 \text{ ways}}", 70),
    (r"\boxed 468", 468),
    (r"\boxed{\$\,113}", 113),
    (r"\boxed{0}", 0),
    (r"\boxed{\frac{7}{2}}", None),  # a box that is not an integer is final: no fallback
    (r"\boxed{\frac{146}{2}}", 73),
    (r"we get 12 and \boxed{3\sqrt{2}}", None),
    (r"\boxed{2n}", None),
    (r"\boxed{1000}", None),  # outside 0-999
    (r"\boxed{-5}", None),
    ("Adding 12 and 48 gives 60, so the answer is 60.", 60),
    ("**Answer: 049**", 49),
    ("Final answer: 1,000", None),
    ("The answer is 3.5", None),
    ("the total is -7", None),
    (r"so \boxed{62} is wrong; redo \boxed{63", 62),  # the unclosed box is ignored
    ("no numbers at all", None),
    ("", None),
]


# (response, reference answer, intended verdict): what a grader of AIME answers must decide.
VERDICTS = [
    # plain boxes
    (r"\boxed{73}", 73, True),
    (r"\boxed{073}", 73, True),
    (r"\boxed{74}", 73, False),
    (r"$\boxed{0}$", 0, True),
    (r"\boxed{999}", 999, True),
    (r"\fbox{588}", 588, True),
    # expressions Math-Verify evaluates (the old normaliser rejected all of these)
    (r"\boxed{\frac{146}{2}}", 73, True),
    (r"\boxed{\dfrac{146}{2}}", 73, True),
    (r"\boxed{\tfrac{146}{2}}", 73, True),
    (r"\boxed{146/2}", 73, True),
    (r"\boxed{\binom{5}{2}}", 10, True),
    (r"\boxed{5!}", 120, True),
    (r"\boxed{2^{10}-24}", 1000, False),  # evaluates to 1000: outside 0-999
    (r"\boxed{2^{9}-12}", 500, True),
    (r"\boxed{\sqrt{5329}}", 73, True),
    (r"\boxed{\sqrt{2}\cdot\sqrt{2}}", 2, True),
    (r"\boxed{10^{2}}", 100, True),
    (r"\boxed{3 \times 24 + 1}", 73, True),
    # decorations
    (r"\boxed{36^\circ}", 36, True),
    (r"\boxed{\text{279}}", 279, True),
    (r"\boxed{\textbf{504}}", 504, True),
    (r"\boxed{70 \text{ ways}}", 70, True),
    (r"\boxed{\$1{,}000}", 1000, False),
    (r"\boxed{m+n = 293}", 293, True),
    (r"\boxed{a = b = 5}", 5, True),
    (r"\boxed{(735)}", 735, True),
    (r"\boxed{82.0}", 82, True),
    (r"\boxed{49.}", 49, True),
    (r"\boxed{\boxed{117}}", 117, True),
    # not integers
    (r"\boxed{\frac{7}{2}}", 3, False),
    (r"\boxed{3.5}", 3, False),
    (r"\boxed{3\sqrt{2}}", 3, False),
    (r"\boxed{2n}", 2, False),
    (r"\boxed{12, 13}", 12, False),
    (r"\boxed{\infty}", 0, False),
    (r"\boxed{72.9999}", 73, False),
    (r"\boxed{-5}", 5, False),
    # the last complete box counts
    (r"first \boxed{5}, corrected: \boxed{16}", 16, True),
    (r"first \boxed{5}, corrected: \boxed{16}", 5, False),
    (r"so \boxed{62} is wrong; redo \boxed{63", 62, True),
    # truncated boxes are no answer (the last-integer fallback read them before)
    (r"Therefore the answer is \boxed{73", 73, False),
    (r"\boxed{\frac{146}{2}", 73, False),
    (r"we get 73 so \boxed{", 73, False),
    # no box: a stated answer wins over later arithmetic
    ("The answer is 73, since 2+2=4.", 73, True),
    ("The answer is 73, since 2+2=4.", 4, False),
    ("Final answer: 73. (Check: 5 + 5 = 10.)", 73, True),
    (r"The final answer is $\frac{146}{2}$.", 73, True),
    ("**Answer: 049**", 49, True),
    ("Adding 12 and 48 gives 60.", 60, True),
    ("The answer is 3.5", 3, False),
    ("Final answer: 1,000", 0, False),
    ("the total is -7", 7, False),
    ("I cannot solve this.", 0, False),
    ("", 0, False),
]


@pytest.mark.parametrize("response,answer,passed", VERDICTS)
def test_verdict_table(response: str, answer: int, passed: bool) -> None:
    grade = grade_aime(response, answer)
    assert grade.passed is passed, grade.message
    assert grade.score == (1.0 if passed else 0.0)


def test_verdict_table_is_large_and_two_sided() -> None:
    assert len(VERDICTS) >= 40
    assert {v for *_, v in VERDICTS} == {True, False}


@pytest.mark.parametrize("response,boxed", [
    (r"\boxed{73}", True), (r"\boxed{\frac{7}{2}}", True), (r"\boxed{73", False),
    ("The answer is 73.", False),
])
def test_boxed_metric(response: str, boxed: bool) -> None:
    assert grade_aime(response, 73).metrics == {"boxed": boxed}


def test_truncated_box_detail() -> None:
    grade = grade_aime(r"... so the answer is \boxed{73", 73)
    assert grade.extracted is None and "never closed" in grade.detail


def test_to_integer_rejects_non_numbers() -> None:
    import sympy

    x = sympy.Symbol("x")
    assert to_integer(sympy.Integer(7)) == 7
    assert to_integer(sympy.Float(7.0)) == 7
    assert to_integer(sympy.Eq(x, 7)) == 7
    assert to_integer(sympy.Rational(7, 2)) is None
    assert to_integer(sympy.sqrt(2)) is None
    assert to_integer(x) is None
    assert to_integer(sympy.oo) is None
    assert to_integer(sympy.I) is None
    assert to_integer(sympy.FiniteSet(1, 2)) is None
    assert to_integer("7") is None


@pytest.mark.parametrize("response,expected", CASES)
def test_extract_answer_table(response: str, expected: int | None) -> None:
    assert extract_answer(response) == expected


@pytest.mark.parametrize("content,expected", [
    (r"\$1{,}000", 1000), ("1,234", 1234), (r"x = 5", 5), ("007", 7), (r"\text{12}\%", 12),
    ("12 and 13", None), ("1/2", None), (r"\pi", None), ("", None),
])
def test_parse_integer(content: str, expected: int | None) -> None:
    assert parse_integer(content) == expected


def test_last_boxed_balances_braces() -> None:
    assert last_boxed(r"\boxed{\frac{1}{2}} then \boxed{a{b}c}") == "a{b}c"
    assert last_boxed(r"\boxed{unclosed") is None
    assert last_boxed("plain") is None


def test_build_prompt() -> None:
    messages = build_prompt("Find $x$ if $x + 1 = 3$.")
    assert messages == [{"role": "user", "content": (
        "Please reason step by step, and put your final answer within \\boxed{}.\n"
        "The answer is an integer between 0 and 999 inclusive.\n\nFind $x$ if $x + 1 = 3$.")}]


def test_grade() -> None:
    good = grade_aime(r"... \boxed{070}", 70)
    assert good.passed and good.score == 1.0 and good.extracted == 70
    wrong = grade_aime(r"\boxed{71}", 70)
    assert not wrong.passed and wrong.message == "expected 70, got 71"
    bad = grade_aime(r"\boxed{\frac{7}{2}}", 70)
    assert not bad.passed and "not an integer in 0-999" in bad.message
    assert grade_aime("nothing", 70).detail == "no integer answer found"


@settings(max_examples=200)
@given(st.text())
def test_never_raises_and_in_range(text: str) -> None:
    got = extract_answer(text)
    assert got is None or (isinstance(got, int) and 0 <= got <= 999)
    grade = grade_aime(text, 7)
    assert grade.score in (0.0, 1.0) and grade.passed == (grade.score == 1.0)


@settings(max_examples=200)
@given(st.text(alphabet=st.characters(blacklist_characters="{}\\"), max_size=80),
       st.integers(min_value=0, max_value=999), st.text(max_size=40))
def test_last_box_wins(before: str, n: int, after: str) -> None:
    tail = after.replace("\\", "/")
    assert extract_answer(rf"{before} \boxed{{{n:03d}}} {tail}") == n


@settings(max_examples=200)
@given(st.text(alphabet=st.characters(blacklist_characters="\\0123456789"), max_size=80),
       st.integers(min_value=0, max_value=999))
def test_unboxed_last_integer(prose: str, n: int) -> None:
    assert extract_answer(f"{prose} so the result is {n}") == n


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=999), st.integers(min_value=1, max_value=50))
def test_boxed_fraction_that_is_an_integer(n: int, k: int) -> None:
    assert extract_answer(rf"so \boxed{{\frac{{{n * k}}}{{{k}}}}}") == n


@settings(max_examples=200)
@given(st.text(alphabet=st.characters(blacklist_characters="{}\\"), max_size=80),
       st.integers(min_value=0, max_value=999))
def test_truncated_box_is_no_answer(prose: str, n: int) -> None:
    assert extract_answer(rf"{prose} the answer is {n} \boxed{{{n}") is None


@settings(max_examples=200)
@given(st.integers(min_value=0, max_value=999), st.lists(st.integers(0, 99), min_size=2, max_size=4))
def test_stated_answer_beats_later_arithmetic(n: int, terms: list[int]) -> None:
    check = " + ".join(map(str, terms)) + f" = {sum(terms)}"
    assert extract_answer(f"The answer is {n}, since {check}.") == n
