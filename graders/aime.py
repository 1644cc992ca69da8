r"""AIME 2025 prompt and integer-answer grading, following MathArena (Balunović et al. 2025,
"MathArena: Evaluating LLMs on Uncontaminated Math Competitions", arXiv:2505.23281; reference
eth-sri/matharena ``src/matharena/runner.py`` (prompt = instruction, blank line, problem),
the AIME competition configs (``instruction``) and ``src/matharena/parser.py``
(``find_last_boxed_content``, ``normalize_string``, ``extract_last_integer``)), with the
answer read by Hugging Face's Math-Verify (huggingface/Math-Verify, ``math_verify.parse``;
what lighteval and open-r1 grade AIME with).

The answer is the content of the last top-level ``\boxed{...}`` or ``\fbox{...}`` whose braces
balance (as MathArena's recursive pattern finds it; an unclosed box, i.e. a response cut off
inside it, is skipped). That content is parsed by Math-Verify's LaTeX parser and evaluated, so
``\frac{146}{2}``, ``\dfrac``, ``\binom{5}{2}``, ``2^{10}-24``, ``36^\circ``, ``1{,}000``,
``\text{...}`` and ``m+n = 293`` (the right-hand side of the last ``=``) read as the integers
they denote; what Math-Verify cannot read is normalised as MathArena does for integers
(``$``, ``\text{...}``, degree signs, digit-grouping commas, a final full stop). The value must
be an integer exactly (``82.0`` is 82, ``7/2`` and ``3\sqrt{2}`` are not integers).

Without any box, the last stated answer counts ("answer is N", "Answer: N", "answer = N",
"final answer is $\frac{146}{2}$"; the number or the ``$...$``/``\(...\)`` span right after
it), so "The answer is 73, since 2+2=4." reads 73; Math-Verify's own whole-text extraction is
not used there, because its "answer" pattern takes the value after the last ``=`` within 100
characters (it reads "The answer is 5, since 0 + 1 = 1." as 1). With no stated answer the
last integer in the text is used (MathArena's non-strict fallback). A response that opens a
box and never closes it has no answer: the fallback does not read a truncated ``\boxed{73``.
AIME answers are integers 0-999, so anything else extracts as None and is graded wrong.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import sympy
from math_verify import LatexExtractionConfig, parse

from benchgate.grade import Grade

INSTRUCTION = (
    "Please reason step by step, and put your final answer within \\boxed{}.\n"
    "The answer is an integer between 0 and 999 inclusive.")
ANSWER_RANGE = (0, 999)

_BOX_START = re.compile(r"\\(?:boxed|fbox)\s*")
_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")
_WRAPPER = re.compile(
    r"\\(?:text|textbf|textrm|textnormal|mathrm|mathbf|mbox|boxed|fbox)\s*\{([^{}]*)\}")
_NOISE = re.compile(
    r"\\[,;:! ]|\\displaystyle|\\left|\\right|\\\$|\$|\\%|%|\^\s*\{?\\circ\}?|°|\\quad")
_INTEGER = re.compile(r"\(?\s*([+-]?[0-9]+)(?:\.0*)?\s*\)?(?:\s+[A-Za-z][A-Za-z ]*)?", re.ASCII)
_GROUPED = re.compile(r"(?<=[0-9])(?:,|\{,\})(?=[0-9]{3}(?![0-9]))")
_LAST_NUMBER = re.compile(r"(?<![\w.])-?[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?(?![0-9])")
_BOX_CONFIG = (LatexExtractionConfig(),)
_STATED = re.compile(
    r"(?i:answer)\s*(?:(?i:is)\s*:?|:|=)[\s*]*"
    r"(?:\$(?P<dollar>[^$\n]{1,200})\$|\\\((?P<paren>.{1,200}?)\\\)"
    r"|(?P<number>-?[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?)(?![0-9]))",
    re.ASCII)
_PARSE_TIMEOUT_S = 5


def build_prompt(problem: str) -> list[dict[str, str]]:
    """One user message: MathArena's AIME instruction, a blank line, then the problem."""
    return [{"role": "user", "content": f"{INSTRUCTION}\n\n{problem}"}]


def last_boxed(text: str) -> str | None:
    r"""The content of the last top-level ``\boxed``/``\fbox`` with balanced braces, else None.

    ``\boxed 7`` (a single token without braces) is accepted as LaTeX allows it.
    """
    found: str | None = None
    pos = 0
    while (start := _BOX_START.search(text, pos)) is not None:
        i = start.end()
        if i < len(text) and text[i] == "{":
            depth, j = 0, i
            while j < len(text):
                if text[j] == "{":
                    depth += 1
                elif text[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if depth != 0:  # unbalanced: the response was cut off inside the box
                pos = i
                continue
            found, pos = text[i + 1:j], j + 1
        else:
            token = re.match(r"[0-9]+", text[i:])
            if token is not None:
                found = token.group(0)
            pos = i
    return found


def parse_integer(content: str) -> int | None:
    r"""The integer a box holds: ``\$1{,}000`` -> 1000, ``070^\circ`` -> 70, ``x = 5`` -> 5.

    None when the content is not an integer (a fraction, a radical, two numbers, ...).
    """
    text = content
    for _ in range(5):  # unwrap nested \text{\textbf{...}} and inner boxes
        text = _WRAPPER.sub(r"\1", text)
    text = _NOISE.sub("", text)
    text = text.rsplit("=", 1)[-1].strip().rstrip(".").strip()
    text = _GROUPED.sub("", text)
    match = _INTEGER.fullmatch(text)
    return int(match.group(1)) if match else None


def _in_range(value: int | None) -> int | None:
    low, high = ANSWER_RANGE
    return value if value is not None and low <= value <= high else None


def _math_verify(text: str, configs: tuple[Any, ...]) -> Any:
    """Math-Verify's first parsed expression for ``text`` (a sympy object), or None.

    Math-Verify bounds parsing time with ``signal.alarm``, which works only in the main
    thread; elsewhere it runs without that bound.
    """
    in_main = threading.current_thread() is threading.main_thread()
    try:
        found = parse(text, extraction_config=list(configs),
                      parsing_timeout=_PARSE_TIMEOUT_S if in_main else None,
                      raise_on_error=False)
    except Exception:  # noqa: BLE001 - any parser failure means "no answer read"
        return None
    return found[0] if found and isinstance(found[0], sympy.Basic) else None


def to_integer(value: Any) -> int | None:
    """The integer a parsed answer denotes exactly, else None.

    ``Eq(m + n, 293)`` (and a chain ``a = b = 5``) gives its last right-hand side; unevaluated
    powers, factorials and binomials are evaluated; a float counts only when it is whole.
    Sets, intervals, symbols and non-integer numbers give None.
    """
    if isinstance(value, sympy.And) and value.args and all(
            isinstance(arg, sympy.Eq) for arg in value.args):
        value = value.args[-1]
    if isinstance(value, sympy.Eq):
        value = value.rhs
    if not isinstance(value, sympy.Expr) or not value.is_number:
        return None
    try:
        value = value.doit()
        if value.is_Integer:
            return int(value)
        if value.is_Float and value.is_finite:
            exact = sympy.Rational(value)  # sympy >= 1.13: Float(7.0) != 7, compare exactly
            return int(exact) if exact.is_Integer else None
        return None
    except (TypeError, ValueError, ArithmeticError, RecursionError):
        return None


def _box_integer(content: str) -> int | None:
    parsed = _math_verify(f"\\boxed{{{content}}}", _BOX_CONFIG)
    value = to_integer(parsed) if parsed is not None else None
    return value if value is not None else parse_integer(content)


def _stated_integer(match: re.Match[str]) -> int | None:
    number = match.group("number")
    if number is not None:
        return parse_integer(number)
    tex = match.group("dollar") or match.group("paren") or ""
    return _box_integer(tex)


def extract_answer(text: str) -> int | None:
    """The model's final answer as an int in 0-999, or None."""
    boxed = last_boxed(text)
    if boxed is not None:
        return _in_range(_box_integer(boxed))
    if _BOX_OPEN.search(text):  # a box was opened and never closed: cut off mid-answer
        return None
    stated = list(_STATED.finditer(text))
    if stated:
        return _in_range(_stated_integer(stated[-1]))
    numbers = _LAST_NUMBER.findall(text)
    if not numbers:
        return None
    raw = numbers[-1].replace(",", "")
    if "." in raw:
        whole, frac = raw.split(".")
        if frac.strip("0"):
            return None
        raw = whole
    return _in_range(int(raw))


def normalise_answer(answer: str) -> int | None:
    r"""An answer given on its own (``73``, ``\frac{146}{2}``, ``$1{,}000$``) as an int in 0-999,
    read as the content of a box; None otherwise."""
    return _in_range(_box_integer(answer.strip().strip("$")))


def grade_aime(response: str, answer: int) -> Grade:
    """Numeric match of the extracted integer with the reference ``answer``."""
    return compare_answer(extract_answer(response), answer, response)


def compare_answer(got: int | None, answer: int, response: str) -> Grade:
    """Numeric match of an answer (None: none found) read from ``response`` with ``answer``."""
    ok = got is not None and got == int(answer)
    detail = ""
    if got is None:
        boxed = last_boxed(response)
        if boxed is not None:
            detail = f"boxed answer {boxed[:60]!r} is not an integer in 0-999"
        elif _BOX_OPEN.search(response):
            detail = "the last box is never closed (response cut off?)"
        else:
            detail = "no integer answer found"
    return Grade(passed=ok, score=1.0 if ok else 0.0, expected=int(answer), extracted=got,
                 metrics={"boxed": last_boxed(response) is not None}, detail=detail)
