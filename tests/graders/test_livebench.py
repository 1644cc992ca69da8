"""Hand-written cases and properties for the LiveBench graders."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graders import livebench_data, livebench_math, livebench_reasoning, livebench_table
from graders.livebench import (
    aggregate_livebench,
    grade_livebench,
    instruction_following_score,
    strip_think,
)

HAS_SYMPY = all(importlib.util.find_spec(m) is not None for m in ("sympy", "lark"))
HAS_LXML = importlib.util.find_spec("lxml") is not None
needs_sympy = pytest.mark.skipif(not HAS_SYMPY, reason="AMPS_Hard needs sympy and lark")

AMC_TEXT = (
    "How many sides does a heptagon have? "
    "$\\textbf{(A) }3 \\qquad\\textbf{(B) }5 \\qquad\\textbf{(C) }7 \\qquad"
    "\\textbf{(D) }9 \\qquad\\textbf{(E) }11$ Write the letter five times."
)
TABLE_PROMPT = (
    "Please convert the Input Table from {src} format to {dst} format. Please respond only "
    "with the table. \n Input Table: (omitted)\n \n Output: \n"
)
CSV_TRUTH = "name,age\nann,3\nbob,4\n"
JSONL_TRUTH = '{"name":"ann","age":3}\n{"name":"bob","age":4}\n'
JSON_TRUTH = '{"0":{"name":"ann","age":3},"1":{"name":"bob","age":4}}'
HTML_TRUTH = (
    "<table><thead><tr><th>name</th><th>age</th></tr></thead><tbody>"
    "<tr><td>ann</td><td>3</td></tr><tr><td>bob</td><td>4</td></tr></tbody></table>"
)


# --- boxed helpers and math ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("so \\boxed{x^{2}} then \\boxed{y_{1}+1} end", "\\boxed{y_{1}+1}"),
        ("value \\fbox{42}", "\\boxed{42}"),
        ("$\\boxed{\\frac{1}{2}}$", "\\boxed{\\frac{1}{2}}"),
        ("the answer is \\boxed 7$ done", "\\boxed 7"),
        ("unbalanced \\boxed{3", None),
        ("no box here", None),
    ],
)
def test_last_boxed_only_string(text: str, expected: str | None) -> None:
    assert livebench_math.last_boxed_only_string(text) == expected


@pytest.mark.parametrize(
    ("boxed", "expected"),
    [("\\boxed{abc}", "abc"), ("\\boxed 7", "7"), ("\\boxedx{1}", None), (None, None)],
)
def test_remove_boxed(boxed: str | None, expected: str | None) -> None:
    assert livebench_math.remove_boxed(boxed) == expected


@pytest.mark.parametrize(
    ("truth", "response", "score"),
    [
        ("C", "A heptagon has seven sides.\nCCCCC", 1.0),
        ("C", "I think it is ABCDE", 0.0),
        ("D", "<solution>DDDDD</solution>", 1.0),
        ("D", "<solution>D</solution>", 1.0),
        ("D", "<solution>DE</solution>", 0.0),
        ("B", "The answer is $\\boxed{B}$.", 1.0),
        ("B", "The answer is $\\boxed{\\text{b}}$.", 1.0),
        # upstream keeps the parentheses and does not unwrap \textbf
        ("B", "The answer is $\\boxed{(B)}$.", 0.0),
        ("C", "Counting them, the heptagon has 7", 1.0),
        ("C", "7 is not right, I finally get 9 for it.", 0.0),
        ("E", "", 0.0),
    ],
)
def test_mathcontest(truth: str, response: str, score: float) -> None:
    assert livebench_math.score_mathcontest(truth, response, AMC_TEXT)[0] == score


def test_mathcontest_rejects_bad_truth() -> None:
    with pytest.raises(ValueError):
        livebench_math.score_mathcontest("F", "FFFFF", AMC_TEXT)


@pytest.mark.parametrize(
    ("response", "score"),
    [
        ("Adding the cases gives 25, so the answer is 025", 1.0),
        ("The answer is 025." + " Let me double-check this reasoning carefully." * 3, 0.0),
        ("The answer is 250", 0.0),
    ],
)
def test_aime(response: str, score: float) -> None:
    assert livebench_math.score_aime("025", response)[0] == score


@pytest.mark.parametrize(
    ("response", "score", "ids"),
    [
        ("Reasoning...\nAnswer: 3, 1, 2", 1.0, [3, 1, 2]),
        ("Answer: 3, 2, 1", 1 - 2 / 3, [3, 2, 1]),
        ("**Answer:**\n3, 1", 1 - 1 / 3, [3, 1]),
        ("So the order is \\boxed{3,1,2}", 1.0, [3, 1, 2]),
        ("the order is <expression 3>, <expression 1>, <expression 2>", 1.0, [3, 1, 2]),
        ("I do not know", 0.0, []),
    ],
)
def test_proof_rearrangement(response: str, score: float, ids: list[int]) -> None:
    got, extracted = livebench_math.score_proof_rearrangement("3,1,2", response)
    assert got == pytest.approx(score)
    assert extracted == ids


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [([], [1, 2], 2), ([1, 2, 3], [1, 2, 3], 0), ([1, 3], [1, 2, 3], 1), ("kitten", "sitting", 3)],
)
def test_edit_distance(a: Any, b: Any, distance: int) -> None:
    assert livebench_math.edit_distance(a, b) == distance


# --- AMPS_Hard -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "normalised"),
    [
        ("x = \\frac12", " \\frac{1}{2}"),
        ("\\text{5}", "5"),
        ("100,000", "100000"),
        ("\\sqrt2", "\\sqrt{2}"),
        ("$y$ and $z$", "y"),
    ],
)
def test_normalize_final_answer(answer: str, normalised: str) -> None:
    from graders.livebench_amps import normalize_final_answer

    assert normalize_final_answer(answer) == normalised


@needs_sympy
@pytest.mark.parametrize(
    ("truth", "response", "score"),
    [
        ("\\frac{1}{2}", "So we get $\\boxed{\\frac{2}{4}}$", 1.0),
        ("\\frac{1}{2}", "So we get $\\boxed{0.5}$", 1.0),
        ("(x+1)^2", "Expanding, \\boxed{x^2+2x+1}", 1.0),
        ("x^2", "\\boxed{2x}", 0.0),
        ("\\sin (x)", "Integrating, $\\boxed{\\sin(x) + C}$", 1.0),
        ("3", "Therefore $x = 3$", 1.0),
        ("7", "the answer is 7.", 1.0),
        ("7", "the answer is 8.", 0.0),
    ],
)
def test_amps_hard(truth: str, response: str, score: float) -> None:
    from graders.livebench_amps import score_amps_hard

    assert score_amps_hard(truth, response)[0] == score


# --- reasoning -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("truth", "response", "score"),
    [
        ("yes, no, yes", "<solution>yes, no, yes</solution>", 1.0),
        ("yes, no, yes", "Final: **yes, no, yes**", 1.0),
        ("yes, no, yes", "Alice: **Yes**. Bob: **No**. Carol: **Yes**.", 1.0),
        ("yes, no, yes", "\\boxed{yes, no, yes}", 1.0),
        ("yes, no, yes", "So the answers are yes, no, yes.", 1.0),
        ("yes, no, yes", "<solution>**yes, no, yes**</solution>", 1.0),
        ("yes, no, yes", "**no, no, yes**", 0.0),
        ("yes, no, unknown", "<solution>yes, no, unknown</solution>", 1.0),
        # "unknown" contains "no": upstream's count of verdicts reaches 4 here
        ("yes, no, unknown", "<solution>**yes, no, unknown**</solution>", 0.0),
        ("yes, no, yes", "<solution></solution>", 0.0),
        ("yes, no, yes", "", 0.0),
    ],
)
def test_web_of_lies(truth: str, response: str, score: float) -> None:
    assert livebench_reasoning.score_web_of_lies(truth, response)[0] == score


@pytest.mark.parametrize(
    ("truth", "response", "score"),
    [
        ("blue", "The house is ***blue***", 1.0),
        ("blue", "The last house is painted blue", 1.0),
        ("three", "It is ***3***", 1.0),
        ("comedy movies", "They like ***comedy***", 1.0),
        ("blue", "***red*** ... though blue", 0.0),
    ],
)
def test_zebra_old(truth: str, response: str, score: float) -> None:
    assert livebench_reasoning.score_zebra_old(truth, response)[0] == score


@pytest.mark.parametrize(
    ("response", "score"),
    [
        ("<solution>red, 2, cat</solution>", 1.0),
        ("<solution>red, 3, cat</solution>", (0 + 2 / 3) / 2),
        ("\\boxed{\\text{red}, 2, dog}", (0 + 2 / 3) / 2),
        ("work...\nred, 2, cat", 1.0),
        ("<solution>dark-red, 2, cats</solution>", 1.0),
        ("<solution>red</solution> then <solution>2, cat</solution>", 1.0),
        ("no idea", 0.0),
    ],
)
def test_zebra(response: str, score: float) -> None:
    assert livebench_reasoning.score_zebra("red,2,cat", response)[0] == pytest.approx(score)


@pytest.mark.parametrize(
    ("truth", "response", "score"),
    [
        ("3", "There are **three** pieces.", 1.0),
        ("3", "**3**", 1.0),
        ("3", "**4**", 0.0),
        ("3", "**3** pieces, so **2** left, then **5**, finally **6**", 0.0),
        ("3", "The count is \\boxed{\\textbf{3}}", 1.0),
        ("triangle", "It is an **equilateral triangle**", 1.0),
        ("triangle", "**circle, square, triangle**", 0.0),
        ("3", "3", 1.0),
    ],
)
def test_spatial(truth: str, response: str, score: float) -> None:
    assert livebench_reasoning.score_spatial(truth, response)[0] == score


# --- data analysis ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "score"),
    [
        ("Email", 1.0),
        ("  e-mail ", 1.0),
        ("\\boxed{\\text{email}}", 1.0),
        ("The class is email", 0.0),
        ("\\boxed{email", 0.0),
    ],
)
def test_cta(response: str, score: float) -> None:
    assert livebench_data.score_cta("email", response)[0] == score


@pytest.mark.parametrize(
    ("response", "score"),
    [
        ("```python\n{'a': 'x',\n 'b': 'y'}\n```", 1.0),
        ("{'a': 'x'}", 0.67),
        ("{'a': 'y', 'b': 'y'}", 0.5),
        ("{'a': 'x', 'b': 'y', 'c': 'z'}", 0.8),
        ("\\boxed{\\{'a': \\text{'x'}, 'b': 'y'\\}}", 1.0),
        ("['a', 'x']", 0.0),
        ("no mapping", 0.0),
    ],
)
def test_tablejoin(response: str, score: float) -> None:
    assert livebench_data.score_tablejoin("{'a': 'x', 'b': 'y'}", response)[0] == score


@pytest.mark.parametrize(
    ("dst", "truth", "response", "score"),
    [
        ("CSV", CSV_TRUTH, "```csv\nname,age\nann,3\nbob,4\n```", 1.0),
        ("CSV", CSV_TRUTH, "Sure!\nname,age\nann,3\nbob,4", 1.0),
        ("CSV", CSV_TRUTH, "age,name\n3,ann\n4,bob", 1.0),
        ("CSV", CSV_TRUTH, "name,age\nann,3.0000000001\nbob,4", 1.0),
        ("CSV", CSV_TRUTH, "name,age\nann,3\nbob,5", 0.0),
        ("TSV", "name\tage\nann\t3\nbob\t4\n", "name,age\nann,3\nbob,4", 0.0),
        ("JSONL", JSONL_TRUTH, "Here is the table in JSONL format:\n" + JSONL_TRUTH, 1.0),
        ("JSONL", JSONL_TRUTH, "Result:\n" + JSONL_TRUTH + "Done.", 1.0),
        ("JSONL", JSONL_TRUTH, '{"name":"ann","age":3}', 0.0),
        ("JSON", JSON_TRUTH, "```json\n" + JSON_TRUTH + "\n```", 1.0),
        ("JSON", JSON_TRUTH, '[{"name":"ann","age":3},{"name":"bob","age":4}]', 1.0),
        ("JSON", JSON_TRUTH, "<solution>not json at all</solution>", 0.0),
    ],
)
def test_tablereformat(dst: str, truth: str, response: str, score: float) -> None:
    prompt = TABLE_PROMPT.format(src="TSV" if dst == "CSV" else "CSV", dst=dst)
    assert livebench_table.score_tablereformat(prompt, truth, response)[0] == score


@pytest.mark.skipif(not HAS_LXML, reason="pandas.read_html needs lxml")
@pytest.mark.parametrize(
    ("response", "score"),
    [
        ("```html\n" + HTML_TRUTH + "\n```", 1.0),
        ("<table><tr><th>name</th><th>age</th></tr><tr><td>ann</td><td>3</td></tr></table>", 0.0),
    ],
)
def test_tablereformat_html(response: str, score: float) -> None:
    prompt = TABLE_PROMPT.format(src="CSV", dst="HTML")
    assert livebench_table.score_tablereformat(prompt, HTML_TRUTH, response)[0] == score


def test_table_formats() -> None:
    prompt = TABLE_PROMPT.format(src="JSONL", dst="TSV")
    assert livebench_table.table_formats(prompt, "v1") == ("jsonl", "tsv")
    v2 = "Convert it.\nSource Format: CSV\nTarget Format: Markdown\n"
    assert livebench_table.table_formats(v2, "v2") == ("csv", "markdown")


# --- dispatcher ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "question", "truth", "response", "score", "category"),
    [
        ("math_comp", {"subtask": "smc", "turns": [AMC_TEXT]}, "C", "CCCCC", 1.0, "math"),
        ("math_comp", {"subtask": "aime_ii_2024"}, "123", "so 123", 1.0, "math"),
        ("math_comp", {"subtask": "2023_amc_12b", "turns": [AMC_TEXT]}, "A", "AAAAA", 1.0, "math"),
        ("olympiad", {"subtask": "usamo"}, "2,1", "Answer: 2, 1", 1.0, "math"),
        ("web_of_lies_v2", {}, "no, no, yes", "**no, no, yes**", 1.0, "reasoning"),
        ("spatial", {}, "4", "**four**", 1.0, "reasoning"),
        ("cta", {}, "name", "Name", 1.0, "data_analysis"),
        ("tablejoin", {}, "{'k': 'v'}", "{'k': 'v'}", 1.0, "data_analysis"),
        (
            "zebra_puzzle",
            {"livebench_release_date": "2024-06-24"},
            "cat",
            "***cat***",
            1.0,
            "reasoning",
        ),
        (
            "zebra_puzzle",
            {"livebench_release_date": "2024-11-25"},
            "cat,dog",
            "<solution>cat, fox</solution>",
            0.25,
            "reasoning",
        ),
        (
            "tablereformat",
            {"turns": [TABLE_PROMPT.format(src="TSV", dst="CSV")]},
            CSV_TRUTH,
            CSV_TRUTH,
            1.0,
            "data_analysis",
        ),
    ],
)
def test_grade_livebench_dispatch(
    task: str, question: dict[str, Any], truth: str, response: str, score: float, category: str
) -> None:
    grade = grade_livebench(response, task, truth, question)
    assert grade.score == score
    assert grade.passed is (score == 1.0)
    assert grade.metrics["task"] == task
    assert grade.metrics["category"] == category
    assert grade.expected == truth
    if "subtask" in question:
        assert grade.metrics["subtask"] == question["subtask"]


def test_think_blocks_are_ignored() -> None:
    assert strip_think("<think>AAAA\nmaybe</think>The end") == "The end"
    grade = grade_livebench("<think>CCCCC</think>I pick BBBBB", "math_comp", "C",
                            {"subtask": "smc", "turns": [AMC_TEXT]})
    assert grade.score == 0.0 and not grade.passed


def test_unknown_task_raises() -> None:
    with pytest.raises(ValueError, match="not supported"):
        grade_livebench("x", "connections", "a,b", {})


@pytest.mark.parametrize(
    ("follow_all", "each", "score"),
    [(True, [True, True], 1.0), (False, [True, False], 0.25), (False, [False] * 3, 0.0),
     (False, [True, True, False], (0 + 2 / 3) / 2)],
)
def test_instruction_following_score(follow_all: bool, each: list[bool], score: float) -> None:
    assert instruction_following_score(follow_all, each) == pytest.approx(score)


IF_QUESTION: dict[str, Any] = {
    "category": "instruction_following",
    "turns": ["Rewrite the note below. Give it a title and end with the given phrase."],
    "instruction_id_list": ["detectable_format:title", "startend:end_checker"],
    "kwargs": [
        {"end_phrase": None, "num_words": None},
        {"end_phrase": "Any other questions?", "num_words": None},
    ],
}


@pytest.mark.parametrize(
    ("response", "score", "followed"),
    [
        ("<<Note>>\nThe meeting moved to Friday. Any other questions?", 1.0, [True, True]),
        ("  <<Note>>\nThe meeting moved to Friday. Any other questions?\n\n", 1.0, [True, True]),
        ("<<Note>>\nThe meeting moved to Friday.", 0.25, [True, False]),
        ("<think>draft</think>The meeting moved.", 0.0, [False, False]),
        ("   ", 0.0, [False, False]),
    ],
)
def test_instruction_following(response: str, score: float, followed: list[bool]) -> None:
    pytest.importorskip("graders.ifeval")
    grade = grade_livebench(response, "paraphrase", "", IF_QUESTION)
    assert grade.score == pytest.approx(score)
    assert grade.metrics["inst_strict"] == followed
    assert grade.metrics["category"] == "instruction_following"
    assert grade.passed is (score == 1.0)


# --- aggregation -----------------------------------------------------------------------------


def _record(task: str, category: str, score: float | None, **extra: Any) -> dict[str, Any]:
    return {"score": score, "metrics": {"task": task, "category": category}, **extra}


def test_aggregate_is_mean_of_category_means() -> None:
    records = [
        _record("math_comp", "math", 1.0, id="q1"),
        _record("math_comp", "math", 0.0, id="q2"),
        _record("olympiad", "math", 1.0, id="q3"),
        _record("spatial", "reasoning", 0.0, id="q4"),
    ]
    result = aggregate_livebench(records)
    assert result["by_task"]["math_comp"] == {"score": 0.5, "n": 2, "category": "math"}
    assert result["by_category"]["math"]["score"] == pytest.approx(0.75)
    assert result["by_category"]["reasoning"]["score"] == 0.0
    assert result["score"] == pytest.approx(0.375)  # not the item mean, 0.5
    assert result["metrics"] == {"score": result["score"]}


def test_aggregate_repeats_errors_and_top_level_fields() -> None:
    records = [
        {"task": "cta", "category": "data_analysis", "score": 1.0, "nodeid": "a"},
        {"task": "cta", "category": "data_analysis", "score": 0.0, "nodeid": "a"},
        {"task": "cta", "category": "data_analysis", "score": 1.0, "nodeid": "b"},
        _record("cta", "data_analysis", None, nodeid="c"),
        _record("cta", "data_analysis", 1.0, nodeid="d", outcome="error"),
        _record("cta", "data_analysis", -1, nodeid="e"),
    ]
    result = aggregate_livebench(records)
    assert result["by_task"]["cta"]["n"] == 2
    assert result["score"] == pytest.approx(0.75)
    assert aggregate_livebench([])["score"] == 0.0


# --- properties ------------------------------------------------------------------------------

TOKENS = [
    "\\boxed{", "\\fbox{", "\\boxed ", "}", "{", "$", "$$", "**", "***", "<solution>",
    "</solution>", "<think>", "</think>", ",", ", ", "\n", "yes", "no", "unknown", "Answer:",
    "answer:", "```", "```python\n", "```json\n", "'", '"', ":", "A", "BBBB", "3", "12", "²",
    "₂", "\\text{", "\\textbf{", "\\frac", "x", "=", "{'a': 'x'}", "[", "]", "|", "\t", ".",
]
noisy_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=4)), max_size=40).map("".join),
)

CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("math_comp", "C", {"subtask": "smc", "turns": [AMC_TEXT]}),
    ("math_comp", "025", {"subtask": "aime_i_2024"}),
    ("olympiad", "3,1,2", {"subtask": "imo"}),
    ("web_of_lies_v2", "yes, no, unknown", {}),
    ("zebra_puzzle", "red,2,cat", {"livebench_release_date": "2024-11-25"}),
    ("zebra_puzzle", "blue", {"livebench_release_date": "2024-06-24"}),
    ("spatial", "triangle", {}),
    ("cta", "email", {}),
    ("tablejoin", "{'a': 'x', 'b': 'y'}", {}),
    ("tablereformat", CSV_TRUTH, {"turns": [TABLE_PROMPT.format(src="TSV", dst="CSV")]}),
    ("tablereformat", JSONL_TRUTH, {"turns": [TABLE_PROMPT.format(src="CSV", dst="JSONL")]}),
    ("tablereformat", JSON_TRUTH, {"turns": [TABLE_PROMPT.format(src="CSV", dst="JSON")]}),
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASES), response=noisy_text)
def test_never_raises_and_score_in_range(
    case: tuple[str, str, dict[str, Any]], response: str
) -> None:
    task, truth, question = case
    grade = grade_livebench(response, task, truth, question)
    assert 0.0 <= grade.score <= 1.0
    assert grade.passed is (grade.score == 1.0)
    assert grade.metrics["task"] == task


@needs_sympy
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(response=noisy_text)
def test_amps_never_raises(response: str) -> None:
    grade = grade_livebench(response, "AMPS_Hard", "x^2+1", {"subtask": "amps_hard_derivatives"})
    assert grade.score in (0.0, 1.0)


@settings(max_examples=100, deadline=None)
@given(response=noisy_text)
def test_instruction_following_never_raises(response: str) -> None:
    pytest.importorskip("graders.ifeval")
    grade = grade_livebench(response, "simplify", "", IF_QUESTION)
    assert grade.score in (0.0, 0.25, 0.5, 0.75, 1.0)
    assert len(grade.metrics["inst_strict"]) == 2
