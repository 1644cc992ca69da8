r"""Lettered multiple choice, shared by the multiple-choice benchmarks (MMLU-Pro, TruthfulQA MC1,
ARC-Challenge): the item, the options block, two letter readers and the grade.

A benchmark whose items are a question, its options and the correct letter loads
:class:`LetteredQuestion` items and needs no dataclass of its own; ``lettered()`` reads them.

:func:`read_letter` is the strict reader for new benchmarks: the last stated choice ("The
answer is (G)", "Answer: G", "The correct option is G", "I would go with G", "my choice is
G"), else a lone letter or "Option G" opening the response, else the only letter marked as an
option; a capital "A" or "I" used as a word ("A lot of people", "I think") is not a letter,
and nothing is guessed. :func:`read_letter_reference` is the cascade of TIGER-AI-Lab/MMLU-Pro's
``evaluate_from_api.py`` (first ``answer is \(?X\)?``, then ``.*[aA]nswer:\s*X``, then the
last standalone letter, "I" included): MMLU-Pro's published figures depend on it, and reading
the jamba-1.5-large outputs strictly first would change two of their 12,032 verdicts.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchgate.extractive import Extractive
from benchgate.grade import Grade

LETTERS = string.ascii_uppercase

# An option letter: case-sensitive, optionally bracketed, not the start of a word ("Apples",
# "I'm"). A bare "A" or "I" followed by a lower-case word is the article or the pronoun ("A lot
# of people", "I think"), unless that word links a reason to a choice ("A because ...").
_LINKS = r"(?:because|since|as|which|given|due|for|and|but|so|is|was|seems|looks|would|fits)"
_LETTER = (r"(?:(?i:option|choice)\s+)?[\(\[]?([A-Z])(?![A-Za-z0-9'’])"
           r"(?!(?<=[AI])\s+(?!" + _LINKS + r"\b)[a-z])")
# A response that starts with a letter standing alone: "B", "B.", "(B)", "B) ...", "**B**",
# or with "Option B" ("Option B is right").
_LEADING = re.compile(r"\s*[\(\[]?([A-Z])(?:[\)\]\.:]|\s*$|\s*\n)")
_LEADING_OPTION = re.compile(r"\s*(?i:option|choice)\s+[\(\[]?([A-Z])(?![A-Za-z0-9'’])")
# Stated choices; the last one in the response counts.
_STATED = [re.compile(pattern) for pattern in (
    # "The answer is B", "Answer: (B)", "answer is option B"
    r"(?i:answer)(?:\s+(?i:is)|\s*[:=])\s*" + _LETTER,
    # "The correct option is G", "the best choice is (G)", "the right one: G"
    r"(?i:correct|right|best|true)\s+(?i:option|choice|one)(?:\s+(?i:is|would\s+be)|\s*[:=])\s*"
    + _LETTER,
    # "I would go with G", "I'll pick option G", "I choose (G)", "selecting G"
    r"(?i:\b(?:go|going|went)\s+with|\bchoos(?:e|ing)|\bchose|\bpick(?:ed|ing)?|"
    r"\bselect(?:ed|ing)?|\bopt(?:ed|ing)?\s+for|\bvote\s+for)\s+" + _LETTER,
    # "My choice is G", "my pick would be G"
    r"(?i:\b(?:choice|pick|selection|guess))(?:\s+(?i:is|would\s+be)|\s*[:=])\s*" + _LETTER,
)]
# Mentions that mark a letter as an option: "(G)", "option G".
_MARKED = re.compile(r"\(([A-Z])\)|(?i:\boption)\s+([A-Z])(?![A-Za-z0-9'’])")

_REF_ANSWER_IS = re.compile(r"answer is \(?([A-J])\)?")
_REF_ANSWER_COLON = re.compile(r".*[aA]nswer:\s*([A-J])")
_REF_LAST_LETTER = re.compile(r"\b[A-J]\b(?!.*\b[A-J]\b)", re.DOTALL)
# A bare answer as a judge or a grading command gives it: "C", "(c)", "C. Paris", "Option C".
_BARE = re.compile(r"\s*(?:(?i:option|choice)\s+)?[\(\[]?([A-Za-z])(?![A-Za-z0-9'’])")


@dataclass(frozen=True)
class LetteredQuestion:
    """A lettered multiple-choice item: ``options`` in the order asked (lettered A, B, ...) and
    ``answer``, the letter of the correct one."""

    id: str
    question: str
    options: tuple[str, ...]
    answer: str


def _n_options(item: LetteredQuestion) -> int:
    return len(item.options)


def _answer(item: LetteredQuestion) -> str:
    return item.answer


def options_block(options: Sequence[str]) -> str:
    """``A. first`` / ``B. second`` ..., one option a line (no trailing newline)."""
    if len(options) > len(LETTERS):
        raise ValueError(f"at most {len(LETTERS)} options can be lettered, got {len(options)}")
    return "\n".join(f"{letter}. {opt}" for letter, opt in zip(LETTERS, options, strict=False))


def lettered_prompt(instruction: str, question: str, options: Sequence[str]
                    ) -> list[dict[str, str]]:
    """One user message: the instruction, ``Question: ...``, the lettered options, ``Answer:``."""
    content = f"{instruction}\n\nQuestion: {question}\n\n{options_block(options)}\n\nAnswer:"
    return [{"role": "user", "content": content}]


def sim_answer(answer: str, n_options: int, correct: bool) -> str:
    """What the simulator replies: the right letter, or the next option's."""
    letter = answer if correct else LETTERS[(LETTERS.index(answer) + 1) % n_options]
    return f"The answer is {letter}."


def lettered(n_options: Callable[[Any], int] = _n_options,
             answer: Callable[[Any], str] = _answer) -> Extractive:
    """The :class:`~benchgate.extractive.Extractive` of a lettered multiple-choice benchmark:
    :func:`read_letter` among the item's ``n_options``, exact match with its ``answer``
    letter, and :func:`bare_letter` for an answer another extractor read. The defaults read a
    :class:`LetteredQuestion` (``len(item.options)`` and ``item.answer``)."""
    return Extractive(extract=lambda item, text: read_letter(text, n_options(item)),
                      compare=lambda item, got, text: grade_letter(got, answer(item)),
                      normalise=lambda item, given: bare_letter(given, n_options(item)))


def _clean(text: str) -> str:
    return text.replace("**", "").replace("__", "")


def read_letter(text: str, n_options: int) -> str | None:
    """The chosen letter, or None when there is no unambiguous one among the ``n_options``.

    In order: the last stated choice ("answer is X", "Answer: X", "answer is (X)", "the correct
    option is X", "I would go with X", "I pick option X", "my choice is X"); a lone letter or
    "Option X" opening the response ("B", "B.", "(B) ...", "B: ...", "Option B", the latter
    only when no other option is named); the only distinct letter marked as an option ("(X)",
    "option X") in the response. A letter beyond the options (including a lower-case one) is
    not an answer, nor is a capital "A" or "I" used as a word ("A lot of people", "I think");
    nothing is guessed.
    """
    valid = LETTERS[:max(0, min(n_options, len(LETTERS)))]
    text = _clean(text)
    stated = [match for pattern in _STATED for match in pattern.finditer(text)]
    if stated:
        last = max(stated, key=lambda match: match.start(1))
        return last.group(1) if last.group(1) in valid else None
    marked = {paren or option for paren, option in _MARKED.findall(text)}
    leading = _LEADING.match(text)
    if leading is None and (option := _LEADING_OPTION.match(text)) is not None:
        leading = option if marked <= {option.group(1)} else None  # "Option A ..., option C"
    if leading is not None:
        return leading.group(1) if leading.group(1) in valid else None
    if len(marked) == 1:
        (only,) = marked
        return only if only in valid else None
    return None


def read_letter_reference(text: str) -> str | None:
    r"""A letter A-J by MMLU-Pro's reference cascade (``**`` removed first, as the current API
    script does), or None when nothing matches: the first ``answer is \(?X\)?``, else the
    first line matching ``.*[aA]nswer:\s*X`` (no DOTALL), else the last standalone A-J."""
    text = text.replace("**", "")
    match = _REF_ANSWER_IS.search(text) or _REF_ANSWER_COLON.search(text)
    if match is not None:
        return match.group(1)
    last = _REF_LAST_LETTER.search(text)
    return last.group(0) if last is not None else None


def bare_letter(answer: str, n_options: int) -> str | None:
    """The letter of a short answer given by an extractor ("C", "(c)", "C. Paris", "Option
    C"), upper-cased; None when it names no letter among the ``n_options``."""
    match = _BARE.match(_clean(answer))
    letter = match.group(1).upper() if match is not None else None
    return letter if letter is not None and letter in LETTERS[:n_options] else None


def grade_letter(got: str | None, expected: str, *, none_detail: str = "no option letter found"
                 ) -> Grade:
    """Exact letter match; an unextracted answer is wrong (``metrics["unextracted"]``)."""
    ok = got is not None and got == expected.strip()
    return Grade(passed=ok, score=1.0 if ok else 0.0, expected=expected, extracted=got,
                 metrics={"unextracted": got is None},
                 detail="" if got is not None else none_detail)
