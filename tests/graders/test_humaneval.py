"""HumanEval extraction, assembly and pass@k: hand-written cases plus hypothesis properties.

The problems below are written for these tests. Assembled programs are trusted test code, so
they run in-process with ``exec`` here; the sandbox has its own tests.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graders.humaneval import (
    assemble,
    assemble_check,
    build_check,
    build_program,
    extract_code,
    grade_humaneval,
    pass_at_k,
)

SCALE_PROMPT = '''from typing import List


def scale(values: List[int], factor: int) -> List[int]:
    """Multiply every value by factor.
    >>> scale([1, 2], 3)
    [3, 6]
    """
'''
SCALE_TEST = '''

def check(candidate):
    assert candidate([1, 2], 3) == [3, 6]
    assert candidate([], 5) == []
    assert candidate([-1], 0) == [0]
'''
# The entry point relies on a helper that only the prompt defines.
VOWEL_PROMPT = '''def is_vowel(ch: str) -> bool:
    return ch.lower() in "aeiou"


def count_vowels(word: str) -> int:
    """Count the vowels in word.
    >>> count_vowels("Banana")
    3
    """
'''
VOWEL_TEST = '''

def check(candidate):
    assert candidate("Banana") == 3
    assert candidate("xyz") == 0
    assert candidate("AEIOU") == 5
'''
GOOD_SCALE = "return [v * factor for v in values]"
FENCED_SCALE = "```python\ndef scale(values, factor):\n    " + GOOD_SCALE + "\n```"

SCALE_CASES = [
    pytest.param("    " + GOOD_SCALE + "\n", True, id="raw-continuation"),
    pytest.param(GOOD_SCALE, True, id="body-at-column-0"),
    pytest.param(FENCED_SCALE, True, id="fenced-full-function"),
    pytest.param("Sure, here it is:\n\n" + FENCED_SCALE + "\n\nIt is linear time.", True,
                 id="fenced-with-prose"),
    pytest.param("```\n    " + GOOD_SCALE + "\n```", True, id="untagged-fenced-body"),
    pytest.param("```python\n" + GOOD_SCALE + "\n```", True, id="fenced-body-at-column-0"),
    pytest.param("```py\nfrom typing import List\n\ndef scale(values: List[int], factor: int)"
                 " -> List[int]:\n    out = []\n    for v in values:\n        out.append(v * "
                 "factor)\n    return out\n```", True, id="fenced-repeats-signature"),
    pytest.param("Here is my solution.\n\ndef scale(values, factor):\n    " + GOOD_SCALE +
                 "\n\nThis multiplies each element.", True, id="bare-full-with-prose"),
    pytest.param("```python\ndef scale(values, factor):\n    " + GOOD_SCALE +
                 "\n\nprint(scale([1], 2))\nassert scale([1], 2) == [99]\n```", True,
                 id="drops-own-wrong-examples"),
    pytest.param("```python\ndef scale(values, factor):\n    " + GOOD_SCALE +
                 "\n\nif __name__ == '__main__':\n    print(scale([int(input())], 2))\n```",
                 True, id="main-block"),
    pytest.param("```python\ndef _mul(a, b):\n    return a * b\n```\nthen\n```python\n"
                 "def scale(values, factor):\n    return [_mul(v, factor) for v in values]\n```"
                 "\nUsage:\n```python\nprint(scale([2], 2))\n```", True,
                 id="helper-in-separate-block"),
    pytest.param("```python\ndef scale(values, factor):\n    " + GOOD_SCALE, True,
                 id="unterminated-fence"),
    pytest.param("```python\r\ndef scale(values, factor):\r\n    " + GOOD_SCALE + "\r\n```",
                 True, id="crlf"),
    pytest.param("```text\nNot code\n```\n```python\ndef scale(values, factor):\n    "
                 + GOOD_SCALE + "\n```", True, id="skips-non-python-block"),
    pytest.param("    return values\n", False, id="wrong-body"),
    pytest.param("```python\ndef scale(values, factor):\n    return [v + factor for v in "
                 "values]\n```", False, id="wrong-full-function"),
    pytest.param("", False, id="empty-reply"),
    pytest.param("I cannot help with that.", False, id="prose-only"),
    pytest.param("```python\ndef scale(values, factor):\n    return [v * factor for v in\n```",
                 False, id="syntax-error"),
]


def _runs(program: str) -> bool:
    try:
        exec(compile(program, "<assembled>", "exec"), {"__name__": "__test__"})
    except Exception:  # noqa: BLE001 - any failure of the assembled program is a fail
        return False
    return True


@pytest.mark.parametrize("response,passes", SCALE_CASES)
def test_extracted_program_outcome(response: str, passes: bool) -> None:
    program = assemble(response, SCALE_PROMPT, SCALE_TEST, "scale")
    assert _runs(program) is passes, program


@pytest.mark.parametrize("response", [
    "    return sum(1 for ch in word if is_vowel(ch))\n",
    "```python\ndef count_vowels(word):\n    return sum(map(is_vowel, word))\n```",
    "```python\ndef count_vowels(word: str) -> int:\n    n = 0\n    for ch in word:\n"
    "        if is_vowel(ch):\n            n += 1\n    return n\n```",
])
def test_prompt_helpers_stay_available(response: str) -> None:
    assert _runs(assemble(response, VOWEL_PROMPT, VOWEL_TEST, "count_vowels"))


def test_completion_shapes() -> None:
    assert extract_code("    return 1\n", SCALE_PROMPT, "scale") == "    return 1\n"
    assert extract_code("return 1", SCALE_PROMPT, "scale") == "    return 1\n"
    full = extract_code(FENCED_SCALE, SCALE_PROMPT, "scale")
    assert full.startswith("\ndef scale(values, factor):\n")
    assert extract_code("return 1", "def f():\n    'doc'", "f") == "\n    return 1\n"


def test_build_program_matches_reference_layout() -> None:
    program = build_program("P\n", "    C\n", "T", "f")
    assert program == "P\n" + "    C\n" + "\n" + "T" + "\n" + "check(f)"


def test_build_check_splits_the_program_at_the_trust_boundary() -> None:
    check = build_check("P\n", "    C\n", "T", "f")
    assert (check.candidate, check.test, check.entry_point, check.prelude) == \
        ("P\n    C\n\n", "T", "f", "P\n")
    # the reference program is the candidate, then the test, then the call of check
    assert build_program("P\n", "    C\n", "T", "f") == check.candidate + "T\ncheck(f)"


def test_assemble_check_uses_the_extracted_completion() -> None:
    check = assemble_check(FENCED_SCALE, SCALE_PROMPT, SCALE_TEST, "scale")
    assert check.candidate == SCALE_PROMPT + extract_code(FENCED_SCALE, SCALE_PROMPT,
                                                          "scale") + "\n"
    assert check.prelude == SCALE_PROMPT and check.test == SCALE_TEST
    assert _runs(check.candidate + check.test + "\ncheck(scale)")


@pytest.mark.parametrize("n,c,k,expected", [
    (10, 1, 1, 0.1),
    (10, 0, 5, 0.0),
    (10, 10, 1, 1.0),
    (5, 2, 2, 0.7),          # 1 - C(3,2)/C(5,2) = 1 - 3/10
    (4, 1, 4, 1.0),          # n - c < k
    (200, 13, 10, 1 - math.comb(187, 10) / math.comb(200, 10)),
])
def test_pass_at_k_known_values(n: int, c: int, k: int, expected: float) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("n,c,k", [(0, 0, 1), (5, 6, 1), (5, -1, 1), (5, 2, 0), (5, 2, 6)])
def test_pass_at_k_rejects_bad_arguments(n: int, c: int, k: int) -> None:
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_grade_humaneval_metrics() -> None:
    grade = grade_humaneval([True, False, False, False, True, False, False, False, False, False],
                            k_values=(1, 5, 10, 100), details=["", "AssertionError"] + [""] * 8)
    assert grade.metrics == {"pass@1": pytest.approx(0.2), "pass@5": pytest.approx(
        1 - math.comb(8, 5) / math.comb(10, 5)), "pass@10": 1.0, "n": 10, "c": 2}
    assert grade.score == pytest.approx(0.2) and not grade.passed
    assert grade.message == "expected 'pass', got '2/10 samples passed' (AssertionError)"
    single = grade_humaneval([True])
    assert single.passed and single.score == 1.0 and single.metrics == {
        "pass@1": 1.0, "n": 1, "c": 1}
    assert not grade_humaneval([False]).passed
    assert grade_humaneval([True, True, False]).passed
    empty = grade_humaneval([])
    assert not empty.passed and empty.metrics == {"n": 0, "c": 0}


IDENT = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
FENCY = st.lists(st.sampled_from(["```", "```python\n", "def ", "f(", "):", "\n", "    ",
                                  "return ", "x", "'''", '"""', "\t", "\r\n", "#", "\\"]),
                 max_size=30).map("".join)


@settings(max_examples=150, deadline=None)
@given(response=st.one_of(st.text(max_size=400), FENCY), entry_point=IDENT,
       prompt=st.sampled_from([SCALE_PROMPT, VOWEL_PROMPT, "", "def f(:\n"]))
def test_extract_code_never_raises(response: str, entry_point: str, prompt: str) -> None:
    assert isinstance(extract_code(response, prompt, entry_point), str)


@settings(max_examples=200, deadline=None)
@given(n=st.integers(1, 300), data=st.data())
def test_pass_at_k_properties(n: int, data: st.DataObject) -> None:
    c = data.draw(st.integers(0, n))
    k = data.draw(st.integers(1, n))
    value = pass_at_k(n, c, k)
    assert 0.0 <= value <= 1.0
    exact = 1 - math.comb(n - c, k) / math.comb(n, k)
    assert value == pytest.approx(exact, abs=1e-9)
    if c < n:
        assert pass_at_k(n, c + 1, k) >= value - 1e-12
    if k < n:
        assert pass_at_k(n, c, k + 1) >= value - 1e-12
    assert pass_at_k(n, c, 1) == pytest.approx(c / n, abs=1e-12)
