r"""GSM8K answer extraction and grading (Cobbe et al. 2021, "Training Verifiers to Solve Math
Word Problems", arXiv:2110.14168; data openai/grade-school-math).

The reference solutions end with ``#### <number>``. A model's final answer is taken, in order,
from: the number after ``####``; the last ``The (final) answer is N``; the last ``answer: N``;
the last ``\boxed{N}``; else the last number in the response (lm-evaluation-harness's
"flexible-extract" fallback). Numbers are normalised (commas, ``$``, units, trailing ``.0``
stripped) and compared exactly as rationals (``fractions.Fraction``): ``\frac{7}{2}``,
``\dfrac{7}{2}``, ``7/2`` and ``3.5`` are the same number, and a mixed number ``3 1/2`` is
7/2 (it is never read as 3). A zero denominator is not a number.
"""

from __future__ import annotations

import re
from fractions import Fraction

from benchgate.grade import Grade

PLAIN = r"\$?\s?\d[\d,]*(?:\.\d+)?|\$?\s?\.\d+"
_PLAIN_GROUPED = r"(?:\d[\d,]*(?:\.\d+)?|\.\d+)"
FRAC = r"\\[dt]?frac\s*\{\s*(-?" + _PLAIN_GROUPED + r")\s*\}\s*\{\s*(" + _PLAIN_GROUPED + r")\s*\}"
MIXED = r"\$?\s?(\d+)\s+(\d+)\s*/\s*(\d+)(?![\d.,]*\d)"
SLASH = r"\$?\s?(" + _PLAIN_GROUPED + r")\s*/\s*(" + _PLAIN_GROUPED + r")"
# Not inside a longer number or a date (``12/25/2024``), and never the head of a fraction or a
# mixed number that did not match as a whole.
NUMBER = (r"(?<![\d.,/])-?(?:" + FRAC + "|" + MIXED + "|" + SLASH + "|" + PLAIN
          + r")(?!\d|\s*/\s*\d)")
_HASH = re.compile(r"####\s*(" + NUMBER + ")")
_ANSWER_IS = re.compile(r"answer\s+is\s*:?\s*\**\s*\(?(" + NUMBER + ")", re.IGNORECASE)
_ANSWER_COLON = re.compile(r"answer\s*:\s*\**\s*(" + NUMBER + ")", re.IGNORECASE)
_BOXED = re.compile(r"\\boxed\{\s*(?:\\text\{\s*\$?\s*\}\s*)?(" + NUMBER + ")")
_ANY = re.compile(NUMBER)


def _rational(text: str) -> Fraction | None:
    cleaned = text.replace(",", "").replace("$", "").strip()
    return Fraction(cleaned) if cleaned and cleaned != "." else None


def to_fraction(text: str) -> Fraction | None:
    r"""The exact value of the first number in ``text``: ``"$1,234.50"`` -> 2469/2,
    ``\frac{3}{4}`` and ``3/4`` -> 3/4, ``3 1/2`` -> 7/2; None when there is no number (or the
    denominator is 0)."""
    match = _ANY.search(text)
    if match is None:
        return None
    raw = match.group(0)
    sign = -1 if raw.lstrip().startswith("-") else 1
    groups = match.groups()  # FRAC (2), MIXED (3), SLASH (2)
    try:
        if groups[0] is not None:
            num, den = _rational(groups[0]), _rational(groups[1])
            value = None if num is None or not den else abs(num / den)
            if value is not None and num is not None and num < 0:
                sign = -sign
        elif groups[2] is not None:
            value = Fraction(int(groups[2])) + Fraction(int(groups[3]), int(groups[4]))
        elif groups[5] is not None:
            num, den = _rational(groups[5]), _rational(groups[6])
            value = None if num is None or not den else num / den
        else:
            value = _rational(raw.lstrip("-").replace(" ", ""))
    except (ValueError, ZeroDivisionError):
        return None
    return None if value is None else sign * value


def _canonical(value: Fraction) -> str:
    """``7`` for an integer, the exact decimal where one exists (``3.5``), else ``p/q``."""
    if value.denominator == 1:
        return str(value.numerator)
    twos = fives = 0
    den = value.denominator
    while den % 2 == 0:
        den, twos = den // 2, twos + 1
    while den % 5 == 0:
        den, fives = den // 5, fives + 1
    if den != 1:
        return f"{value.numerator}/{value.denominator}"
    places = max(twos, fives)  # value * 10**places is an integer: the digits, exactly
    digits = str(abs(value.numerator) * 10**places // value.denominator).rjust(places + 1, "0")
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[:-places]}.{digits[-places:]}".rstrip("0")


def normalize(text: str) -> str | None:
    """``"$1,234.50"`` -> ``"1234.5"``, ``"\\frac{1}{3}"`` -> ``"1/3"``; None when ``text``
    holds no number. Equal numbers normalise to the same string."""
    if text.isascii() and text.isdigit():  # most answers: a plain integer, no Fraction needed
        return str(int(text))
    value = to_fraction(text)
    return None if value is None else _canonical(value)


def reference_answer(solution: str) -> str:
    """The final number of a GSM8K reference solution (after ``####``)."""
    match = _HASH.search(solution)
    value = normalize(match.group(1)) if match else None
    if value is None:
        raise ValueError(f"GSM8K solution has no '#### <number>' line: {solution[-80:]!r}")
    return value


def extract_answer(response: str) -> str | None:
    """The model's final number, or None when the response holds no number."""
    for pattern in (_HASH, _ANSWER_IS, _ANSWER_COLON, _BOXED):
        matches = [m.group(1) for m in pattern.finditer(response)]
        if matches:
            return normalize(matches[-1])
    numbers = [m.group(0) for m in _ANY.finditer(response)]
    return normalize(numbers[-1]) if numbers else None


def grade_gsm8k(response: str, answer: str) -> Grade:
    """Exact rational match (``fractions.Fraction``) of the extracted answer with ``answer``."""
    return compare_answer(extract_answer(response), answer)


def compare_answer(got: str | None, answer: str) -> Grade:
    """Exact rational match of a normalised answer (None: none found) with ``answer``."""
    # normalised answers are canonical, so equal strings are equal numbers
    ok = got is not None and (got == answer or Fraction(got) == Fraction(answer))
    return Grade(passed=ok, score=1.0 if ok else 0.0, expected=answer, extracted=got,
                 detail="" if got is not None else "no number in the response")
