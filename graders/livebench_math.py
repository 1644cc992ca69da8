r"""LiveBench math scorers: competitions (AMC/SMC letters, AIME) and olympiad proof
rearrangement (White et al. 2024, "LiveBench: A Challenging, Contamination-Free LLM Benchmark",
arXiv:2406.19314).

Follows LiveBench/LiveBench ``livebench/process_results/math/math_competitions/utils.py``,
``livebench/process_results/math/olympiad/utils.py`` and the ``\boxed`` helpers of
``livebench/process_results/util.py``. Where the reference would raise on a malformed
``\boxed`` (an ``assert`` in ``remove_boxed``) or on an unparsable digit such as ``²``, this
port treats that step as having extracted nothing instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_SOLUTION = re.compile(r"<solution>(.*?)</solution>")
_CHOICE = re.compile(r"\\textbf{\(([A-E])\)\s?}(.*?)(?:\\qquad|\$)")

NO_ANSWER = "NO ANSWER"


def last_boxed_only_string(text: str) -> str | None:
    r"""The last ``\boxed{...}`` (or ``\fbox{...}``) group of ``text``, braces included.

    As the reference: a ``\boxed `` (with a space) anywhere wins and runs to the next ``$``;
    ``$`` signs are dropped and ``\fbox`` is renamed ``\boxed``. None without a balanced group.
    """
    if "\\boxed " in text:
        return "\\boxed " + text.split("\\boxed ")[-1].split("$")[0]
    start = text.rfind("\\boxed")
    if start < 0:
        start = text.rfind("\\fbox")
        if start < 0:
            return None
    depth = 0
    for pos in range(start, len(text)):
        char = text[pos]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start : pos + 1].replace("$", "").replace("fbox", "boxed")
    return None


def remove_boxed(boxed: str | None) -> str | None:
    r"""Content of a ``\boxed{...}`` group; None where the reference's asserts would fail."""
    if boxed is None:
        return None
    if "\\boxed " in boxed:
        return boxed[len("\\boxed ") :] if boxed.startswith("\\boxed ") else None
    if boxed.startswith("\\boxed{") and boxed.endswith("}"):
        return boxed[len("\\boxed{") : -1]
    return None


def boxed_content(text: str) -> str | None:
    r"""``remove_boxed(last_boxed_only_string(text))``."""
    return remove_boxed(last_boxed_only_string(text))


def choice_text(question_text: str, letter: str) -> str:
    r"""The answer text printed after ``\textbf{(letter)}`` in an AMC problem statement.

    ``"FAILURE"`` when the statement has no such option (upstream: one over-long option).
    """
    answers = {m[0]: m[1].strip() for m in _CHOICE.findall(question_text)}
    answer = answers.get(letter) or "FAILURE"
    return answer.strip().strip("$").strip("~")


def score_mathcontest(
    ground_truth: str, response: str, question_text: str
) -> tuple[float, str | None]:
    """AMC-style multiple choice; the model is asked to write the letter five times.

    Credit for: a ``<solution>`` of one repeated letter; the letter four times in a row; the
    letter as the last ``\\boxed``; or the option's own text within the answer's last
    ``20 + len(text)`` characters.
    """
    if not (len(ground_truth) == 1 and "A" <= ground_truth <= "E"):
        raise ValueError(f"AMC ground truth must be one letter A-E, got {ground_truth!r}")
    solutions = _SOLUTION.findall(response)
    if solutions:
        letters = set(solutions[-1])
        if len(letters) == 1 and next(iter(letters)).lower() == ground_truth.lower():
            return 1.0, solutions[-1]
    if ground_truth * 4 in response:
        return 1.0, ground_truth * 4
    response = response.replace("\\\\fbox{", "\\\\boxed{")  # later steps see this text
    content = boxed_content(response)
    parsed = None
    if content is not None:
        parsed = content.replace("\\text{", "").replace("}", "").replace("\\", "").lower()
        if parsed == ground_truth.lower():
            return 1.0, parsed
    value = choice_text(question_text, ground_truth)
    if value in response[-(20 + len(value)) :]:
        return 1.0, value
    return 0.0, parsed


def score_aime(ground_truth: str, response: str) -> tuple[float, str]:
    """AIME: the three-digit answer must appear in the response's last 50 characters."""
    tail = response[-50:]
    return (1.0 if ground_truth in tail else 0.0), tail


def _digits_core(text: str) -> tuple[str, int]:
    """First run of digits in ``text`` and how many characters lie outside it."""
    start = 0
    while start < len(text) and not text[start].isdigit():
        start += 1
    end = start
    while end < len(text) and text[end].isdigit():
        end += 1
    return text[start:end], len(text) - (end - start)


def _to_int(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:
        return NO_ANSWER


def _usable(numbers: list[int | str]) -> bool:
    return bool(numbers) and set(numbers) != {NO_ANSWER}


def _from_answer_line(generation: str) -> list[int | str] | None:
    lines = generation.lower().strip().split("\n")
    index = max(i for i, line in enumerate(lines) if "answer:" in line)
    answer = lines[index].split("answer:")[1]
    answer = answer.replace("answer:", "").replace("**", "").replace(".", "").strip()
    if answer == "" and index < len(lines) - 1:
        answer = lines[index + 1].replace("answer:", "").replace("**", "").replace(".", "").strip()
    numbers: list[int | str] = []
    for part in answer.split(","):
        token = part.strip().split(" ")[-1]
        for junk in ("$", "{", "}", "\\", "boxed", "<", ">"):
            token = token.replace(junk, "")
        numbers.append(_to_int(token))
    return numbers if _usable(numbers) else None


def _from_boxed(generation: str) -> list[int | str] | None:
    boxed = last_boxed_only_string(generation)
    text = remove_boxed(boxed) if boxed is not None else generation
    if text is None:
        return None
    text = text.replace("\\text{", "").replace("}", "").replace("\\", "")
    numbers = [_to_int(part.strip()) for part in text.strip().split(",")]
    return numbers if _usable(numbers) else None


def _from_last_line(generation: str) -> list[int | str] | None:
    last_line = generation.strip().lower().split("\n")[-1]
    numbers: list[int | str] = []
    for part in last_line.strip().split(","):
        core, _ = _digits_core(part)
        if core.strip():
            numbers.append(_to_int(core.strip()))
    return numbers if _usable(numbers) else None


def _from_tail(generation: str) -> list[int | str]:
    parts = [p.strip() for p in generation.lower().split("answer:")[-1].split(",")]
    numbers: list[int | str] = []
    for i, part in enumerate(parts):
        core, removed = _digits_core(part)
        if core not in ("", "₂"):
            value = _to_int(core)
            if value != NO_ANSWER:
                numbers.append(value)
        if i > 0 and removed > 0:
            break
    return numbers


def extract_expression_ids(generation: str) -> list[int | str]:
    """The comma-separated expression numbers a proof-rearrangement answer gives.

    Tried in order: the last ``Answer:`` line (or the line after it when empty); the last
    ``\\boxed``; the last line; the numbers after the last ``answer:``.
    """
    numbers = _from_answer_line(generation) if "answer:" in generation.lower() else None
    if numbers is None and "\\boxed" in generation:
        numbers = _from_boxed(generation)
    if numbers is None:
        numbers = _from_last_line(generation)
    if numbers is None:
        numbers = _from_tail(generation)
    return numbers


def edit_distance(a: Sequence[object], b: Sequence[object]) -> int:
    """Levenshtein distance between two sequences (unit costs)."""
    previous = list(range(len(b) + 1))
    for i, item in enumerate(a, 1):
        current = [i]
        for j, other in enumerate(b, 1):
            cost = 0 if item == other else 1
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost))
        previous = current
    return previous[-1]


def score_proof_rearrangement(ground_truth: str, response: str) -> tuple[float, list[int | str]]:
    """Olympiad (IMO/USAMO) fill-in: 1 - edit distance / longer length of the two id lists."""
    truth = [int(n) for n in ground_truth.split(",")]
    completions = extract_expression_ids(response)
    distance = edit_distance(completions, truth)
    return 1 - distance / max(len(completions), len(truth)), completions
