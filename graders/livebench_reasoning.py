"""LiveBench reasoning scorers: web_of_lies_v2, zebra_puzzle and spatial (White et al. 2024,
"LiveBench: A Challenging, Contamination-Free LLM Benchmark", arXiv:2406.19314).

Follows LiveBench/LiveBench ``livebench/process_results/reasoning/web_of_lies_v2/utils.py``,
``reasoning/zebra_puzzle/utils.py`` (old and new evaluators, chosen by release date as
``get_zebra_puzzle_evaluator`` does) and ``reasoning/spatial/utils.py``.
"""

from __future__ import annotations

import itertools
import re

from graders.livebench_math import boxed_content

_SOLUTION = re.compile(r"<solution>(.*?)</solution>")
_SOLUTION_BROKEN = re.compile(r"</solution>(.*?)</solution>")
_BOLD_ANY = re.compile(r"\*\*(.*?)\*\*")
_BOLD_PLAIN = re.compile(r"\*\*([^\*]+)\*\*")
_BOLD_TRIPLE = re.compile(r"\*\*\*(\w+)\*\*\*")
_WORD = re.compile(r"\b\w+\b")

_VERDICTS = ("yes", "no", "unknown")
_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()
_WORD_TO_NUMBER = {word: str(i) for i, word in enumerate(_NUMBER_WORDS)}
_DIGIT_TO_WORD = {str(i): word for i, word in enumerate(_NUMBER_WORDS) if 1 <= i <= 9}
_SHAPES = ("tetrahedra", "tetrahedron", "triangle", "square")

ZEBRA_NEW_FORMAT_DATE = "2024-11-25"


def _solution_tags(response: str) -> list[str]:
    found: list[str] = _SOLUTION.findall(response)
    return found or _SOLUTION_BROKEN.findall(response)


def _bold_verdicts(response: str) -> str | None:
    words = [
        word.lower().strip().replace(",", "").replace(".", "")
        for match in _BOLD_ANY.findall(response)
        for word in match.split()
    ]
    picked: list[str] = []
    for word in reversed(words):
        if len(picked) == 3:
            break
        if word in _VERDICTS:
            picked.insert(0, word)
    return ", ".join(picked) if picked else None


def _last_verdict_triple(response: str) -> str | None:
    lowered = response.lower()
    best, best_index = None, -1
    for combo in itertools.product(_VERDICTS, repeat=3):
        index = lowered.find(", ".join(combo))
        if index > best_index:
            best, best_index = combo, index
    return ", ".join(best) if best is not None else None


def score_web_of_lies(ground_truth: str, response: str) -> tuple[float, str | None]:
    """Three yes/no/unknown verdicts, taken from ``<solution>``, bold words, ``\\boxed`` or
    the last plain ``a, b, c`` triple, in that order; exact match or containment counts."""
    tags = _solution_tags(response)
    parsed = tags[-1] if tags else None
    if parsed is None:
        parsed = _bold_verdicts(response)
    if parsed is None or parsed.strip() == "":
        response = (
            response.replace("\\\\boxed{\\\\textbf{", "\\\\boxed{")
            .replace("\\\\fbox{", "\\\\boxed{")
            .replace("\\textbf{", "\\boxed{")
        )
        content = boxed_content(response)
        if content is not None:
            parsed = content
    if parsed is None:
        parsed = _last_verdict_triple(response)
    truth = ground_truth.lower()
    if not parsed:
        return 0.0, parsed
    if parsed == truth:
        return 1.0, parsed
    # "unknown" also counts as a "no" here, exactly as upstream counts substrings
    total = parsed.count("yes") + parsed.count("no") + parsed.count("unknown")
    return (1.0 if total == 3 and truth in parsed else 0.0), parsed


def score_zebra_old(ground_truth: str, response: str) -> tuple[float, str]:
    """Zebra puzzles before 2024-11-25: one answer, the last ***bold*** word or the last word."""
    bold = _BOLD_TRIPLE.findall(response)
    if bold:
        word = bold[-1]
    else:
        words = _WORD.findall(response)
        word = words[-1] if words else ""
    truth = ground_truth.lower()
    ok = (
        word.lower() == truth
        or (word in _DIGIT_TO_WORD and _DIGIT_TO_WORD[word] == truth)
        or word.lower() + " movies" == truth
    )
    return (1.0 if ok else 0.0), word


def score_zebra(ground_truth: str, response: str) -> tuple[float, list[str] | None]:
    """Zebra puzzles from 2024-11-25: comma-separated answers, half credit for all correct and
    half for the fraction correct (an answer counts when it contains the expected word)."""
    truth = ground_truth.split(",")
    matches = _solution_tags(response)
    if not matches:
        content = boxed_content(response.replace("\\\\fbox{", "\\\\boxed{"))
        if content is not None:
            matches.append(content.replace("\\text{", "").replace("}", "").replace("\\", ""))
    if not matches:
        last_line = response.strip().split("\n")[-1]
        if last_line.count(",") == len(truth) - 1:
            matches.append(last_line)
    if not matches:
        return 0.0, None
    if len(matches) > 1:
        combined = [part for match in matches for part in match.split(",")]
        answers = combined[-len(truth) :]
    else:
        answers = matches[-1].split(",")
    correct = 0
    for expected, given in zip(truth, answers, strict=False):
        want = expected.strip().lower().replace("-", " ")
        got = given.strip().lower().replace("-", " ").replace("position", "")
        if want == got or want in got:
            correct += 1
    return ((correct == len(truth)) + correct / len(truth)) / 2, answers


def score_spatial(ground_truth: str, response: str) -> tuple[float, str | None]:
    """Spatial: the answer among the last three bold phrases (number words and some shape
    phrasings allowed), else the last ``\\boxed`` equal to the ground truth."""
    if response == ground_truth:
        return 1.0, response
    truth = ground_truth.strip().lower()
    bold = _BOLD_PLAIN.findall(response)
    for phrase in reversed(bold[-3:]):
        word = phrase.strip().lower()
        if word == truth or _WORD_TO_NUMBER.get(word) == truth:
            return 1.0, word
        for shape in _SHAPES:
            if truth == shape and shape in word and len(word) < 2 * len(shape) + 5:
                return 1.0, word
    content = boxed_content(response.replace("\\\\fbox{", "\\\\boxed{"))
    if content is None:
        return 0.0, bold[-1].strip().lower() if bold else None
    for markup in ("\\textbf{", "\\mathbf{", "\\text{", "}"):
        content = content.replace(markup, "")
    return (1.0 if content == ground_truth else 0.0), content
