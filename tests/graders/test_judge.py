"""Generic judge formats: tables of verdict texts plus hypothesis properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders.judge import (
    JudgeVerdict,
    build_prometheus_prompt,
    format_rubric,
    parse_fastchat_rating,
    parse_pairwise,
    parse_prometheus,
    parse_verdict,
)

RATINGS = [
    ("The answer is accurate and well organised.\n\nRating: [[8]]", 8.0),
    ("Rating: [[7.5]]", 7.5),
    ("Some slips in step two, otherwise fine. Rating: [[6.]]", 6.0),
    ("Perfect. [[10]]", 10.0),
    ("Barely relevant. Rating: [1]", 1.0),  # backup pattern, single brackets
    ("I give it [[3]] although [[9]] was tempting.", 3.0),  # first match, as FastChat
    ("Cites [2] once, final verdict [[5]]", 5.0),  # [[N]] is searched before [N]
    ("Rating: [[0]]", None),  # out of scale
    ("Rating: [[11]]", None),
    ("Rating: [[7/10]]", None),
    ("Rating: 7", None),
    ("Rating: [[seven]]", None),
    ("Rating: [[-3]]", None),
    ("", None),
]


@pytest.mark.parametrize("text,expected", RATINGS)
def test_parse_fastchat_rating_table(text: str, expected: float | None) -> None:
    assert parse_fastchat_rating(text) == expected


PAIRS = [
    ("Assistant A follows the instructions; B ignores the word limit.\n\n[[A]]", "A"),
    ("B is more accurate. Final verdict: [[B]]", "B"),
    ("Both are equally good. [[C]]", "tie"),
    ("[[B]] is better.\n[[B]]", "B"),
    ("A is better in style, B in substance: [[A]] or [[B]]", None),  # mixed: not readable
    ("Verdict: A", None),
    ("[A]", None),
    ("[[a]]", None),
    ("", None),
]


@pytest.mark.parametrize("text,expected", PAIRS)
def test_parse_pairwise_table(text: str, expected: str | None) -> None:
    assert parse_pairwise(text) == expected


PROMETHEUS = [
    ("The response covers every point of the rubric with correct facts. [RESULT] 5", 5),
    ("Feedback: It misses the second requirement. [RESULT] 3", 3),
    ("Mostly right but the tone is off. [RESULT] (4)", 4),
    ("Clear and correct. [RESULT] 4/5", 4),
    ("Thorough. [RESULT] 5 out of 5", 5),
    ("Good. [RESULT]: 2.", 2),
    ("Weak answer. [RESULT] 1</s>", 1),
    ("Decent answer. [RESULT] 4\n", 4),
    ("Draft said [RESULT] 2, but on reflection: [RESULT] 3", 3),  # last tag counts
    ("Well done. [Result] 5", 5),
    ("[RESULT] 4 because the rubric says so", None),  # trailing prose is not allowed
    ("It is fine. [RESULT] 6", None),
    ("It is fine. [RESULT] 0", None),
    ("It is fine. [RESULT] 3.5", None),
    ("It is fine. [RESULT] 45", None),
    ("[RESULT] 3 earlier. Final score: 4", None),  # text after the last tag is not a score
    ("Score: 4", None),
    ("", None),
]


@pytest.mark.parametrize("text,expected", PROMETHEUS)
def test_parse_prometheus_table(text: str, expected: int | None) -> None:
    assert parse_prometheus(text) == expected


RUBRIC = {"criteria": "Is the answer factually correct?",
          "score1_description": "Mostly wrong.", "score2_description": "Several errors.",
          "score3_description": "Some errors.", "score4_description": "Minor slips.",
          "score5_description": "Fully correct."}


def test_build_prometheus_prompt_layout() -> None:
    messages = build_prometheus_prompt("Name the capital of Peru.", "Lima.", RUBRIC,
                                       reference="The capital of Peru is Lima.")
    assert [m["role"] for m in messages] == ["system", "user"]
    user = messages[1]["content"]
    order = ["###Task Description:", "###The instruction to evaluate:\nName the capital of Peru.",
             "###Response to evaluate:\nLima.",
             "###Reference Answer (Score 5):\nThe capital of Peru is Lima.",
             "###Score Rubrics:\n[Is the answer factually correct?]\nScore 1: Mostly wrong.",
             "Score 5: Fully correct.", "###Feedback: "]
    positions = [user.index(part) for part in order]
    assert positions == sorted(positions)
    assert user.endswith("###Feedback: ") and "[RESULT]" in user


def test_build_prometheus_prompt_without_reference() -> None:
    rubric = "[Is it polite?]\nScore 1: rude."
    user = build_prometheus_prompt("Say hi.", "Hi!", rubric)[1]["content"]
    assert "Reference Answer" not in user and "reference answer" not in user
    assert "###Score Rubrics:\n[Is it polite?]\nScore 1: rude.\n\n###Feedback: " in user


def test_format_rubric_needs_all_levels() -> None:
    assert format_rubric("as is") == "as is"
    with pytest.raises(ValueError, match="score5_description"):
        format_rubric({k: v for k, v in RUBRIC.items() if k != "score5_description"})


def test_parse_verdict_dispatch() -> None:
    assert parse_verdict("ok [[9]]", "fastchat") == JudgeVerdict(9.0, "ok [[9]]")
    assert parse_verdict("fine [RESULT] 2", "prometheus").score == 2.0
    assert parse_verdict("[[C]]", "pairwise").score == 0.5
    bad = parse_verdict("no verdict", "fastchat")
    assert not bad.ok and bad.raw == "no verdict"
    with pytest.raises(ValueError, match="prometheus"):
        parse_verdict("x", "likert")


@settings(max_examples=200)
@given(st.text())
def test_parsers_never_raise_and_stay_in_range(text: str) -> None:
    rating = parse_fastchat_rating(text)
    assert rating is None or 1.0 <= rating <= 10.0
    result = parse_prometheus(text)
    assert result is None or result in (1, 2, 3, 4, 5)
    assert parse_pairwise(text) in (None, "A", "B", "tie")


@settings(max_examples=200)
@given(st.text(max_size=200), st.integers(min_value=1, max_value=10), st.text(max_size=200))
def test_rating_found_when_only_bracketed_number(before: str, n: int, after: str) -> None:
    before, after = before.replace("[", "("), after.replace("[", "(")
    assert parse_fastchat_rating(f"{before}Rating: [[{n}]]{after}") == float(n)


@settings(max_examples=200)
@given(st.text(max_size=300), st.integers(min_value=1, max_value=5))
def test_prometheus_reads_any_feedback(feedback: str, n: int) -> None:
    assert parse_prometheus(f"{feedback} [RESULT] {n}") == n
