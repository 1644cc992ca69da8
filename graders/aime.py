r"""AIME 2025 prompt and integer-answer grading, following MathArena (Balunović et al. 2025,
"MathArena: Evaluating LLMs on Uncontaminated Math Competitions", arXiv:2505.23281; reference
eth-sri/matharena ``src/matharena/runner.py`` (prompt = instruction, blank line, problem),
the AIME competition configs (``instruction``) and ``src/matharena/parser.py``
(``find_last_boxed_content``, ``normalize_string``, ``extract_last_integer``)).

The answer is the content of the last top-level ``\boxed{...}`` or ``\fbox{...}`` (nested
braces balanced, boxes inside it unwrapped), normalised as MathArena does for integers
(``$``, ``\text{...}``, degree signs, digit-grouping commas, everything before the last ``=``
and a final full stop removed) and read as an integer; leading zeros are allowed (``070``).
Without a box the last integer in the text is used (MathArena's non-strict fallback). AIME
answers are integers 0-999, so anything else extracts as None and is graded wrong.
"""

from __future__ import annotations

import re

from benchgate.grade import Grade

INSTRUCTION = (
    "Please reason step by step, and put your final answer within \\boxed{}.\n"
    "The answer is an integer between 0 and 999 inclusive.")
ANSWER_RANGE = (0, 999)

_BOX_START = re.compile(r"\\(?:boxed|fbox)\s*")
_WRAPPER = re.compile(
    r"\\(?:text|textbf|textrm|textnormal|mathrm|mathbf|mbox|boxed|fbox)\s*\{([^{}]*)\}")
_NOISE = re.compile(
    r"\\[,;:! ]|\\displaystyle|\\left|\\right|\\\$|\$|\\%|%|\^\s*\{?\\circ\}?|°|\\quad")
_INTEGER = re.compile(r"\(?\s*([+-]?[0-9]+)(?:\.0*)?\s*\)?(?:\s+[A-Za-z][A-Za-z ]*)?", re.ASCII)
_GROUPED = re.compile(r"(?<=[0-9])(?:,|\{,\})(?=[0-9]{3}(?![0-9]))")
_LAST_NUMBER = re.compile(r"(?<![\w.])-?[0-9]+(?:,[0-9]{3})*(?:\.[0-9]+)?(?![0-9])")


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


def extract_answer(text: str) -> int | None:
    """The model's final answer as an int in 0-999, or None."""
    boxed = last_boxed(text)
    if boxed is not None:
        return _in_range(parse_integer(boxed))
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


def grade_aime(response: str, answer: int) -> Grade:
    """Numeric match of the extracted integer with the reference ``answer``."""
    got = extract_answer(response)
    ok = got is not None and got == int(answer)
    detail = ""
    if got is None:
        boxed = last_boxed(response)
        detail = ("no integer answer found" if boxed is None
                  else f"boxed answer {boxed[:60]!r} is not an integer in 0-999")
    return Grade(passed=ok, score=1.0 if ok else 0.0, expected=int(answer), extracted=got,
                 metrics={"boxed": last_boxed(response) is not None}, detail=detail)
