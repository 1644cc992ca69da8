r"""GSM8K answer extraction and grading (Cobbe et al. 2021, "Training Verifiers to Solve Math
Word Problems", arXiv:2110.14168; data openai/grade-school-math).

The reference solutions end with ``#### <number>``. A model's final answer is taken, in order,
from: the number after ``####``; ``The (final) answer is N``; ``answer: N``; ``\boxed{N}``;
else the last number in the response (lm-evaluation-harness's "flexible-extract" fallback).
Numbers are normalised (commas, ``$``, units, trailing ``.0`` stripped) and compared
numerically.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation, localcontext

from benchgate.grade import Grade

NUMBER = r"-?\$?\s?\d[\d,]*(?:\.\d+)?|-?\$?\s?\.\d+"
_HASH = re.compile(r"####\s*(" + NUMBER + ")")
_ANSWER_IS = re.compile(r"answer\s+is\s*:?\s*\**\s*\(?(" + NUMBER + ")", re.IGNORECASE)
_ANSWER_COLON = re.compile(r"answer\s*:\s*\**\s*(" + NUMBER + ")", re.IGNORECASE)
_BOXED = re.compile(r"\\boxed\{\s*(?:\\text\{\s*\$?\s*\}\s*)?(" + NUMBER + ")")
_ANY = re.compile(NUMBER)


def normalize(text: str) -> str | None:
    """``"$1,234.50"`` -> ``"1234.5"``; None when ``text`` holds no number."""
    match = _ANY.search(text)
    if match is None:
        return None
    raw = match.group(0).replace(",", "").replace("$", "").replace(" ", "")
    with localcontext() as ctx:
        ctx.prec = max(28, len(raw) + 2)  # exact for any number of digits
        try:
            value = Decimal(raw)
        except InvalidOperation:
            return None
        if value == value.to_integral_value():
            return str(value.quantize(Decimal(1)))
        return format(value.normalize(), "f")


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
        matches = pattern.findall(response)
        if matches:
            return normalize(matches[-1])
    numbers = _ANY.findall(response)
    return normalize(numbers[-1]) if numbers else None


def grade_gsm8k(response: str, answer: str) -> Grade:
    """Exact numeric match of the extracted answer with the reference ``answer``."""
    got = extract_answer(response)
    ok = got is not None and Decimal(got) == Decimal(answer)
    return Grade(passed=ok, score=1.0 if ok else 0.0, expected=answer, extracted=got,
                 detail="" if got is not None else "no number in the response")
