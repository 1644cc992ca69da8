r"""AIME: \boxed extraction, integer normalisation, prompt, and hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders.aime import build_prompt, extract_answer, grade_aime, last_boxed, parse_integer

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
