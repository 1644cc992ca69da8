r"""MMLU-Pro prompt and answer extraction (Wang et al. 2024, "MMLU-Pro: A More Robust and
Challenging Multi-Task Language Understanding Benchmark", arXiv:2406.01574; reference
TIGER-AI-Lab/MMLU-Pro ``evaluate_from_api.py`` (``format_example``, ``single_request``,
``extract_answer``/``extract_again``/``extract_final``) and ``compute_accuracy.py``).

Prompt: one user message, the API script's initial sentence naming the category, then each
chain-of-thought shot and the question in the API script's layout (``Question: ...``,
``Options: A. ...`` one per line, ``Answer: Let's think step by step.``). Options equal to
``"N/A"`` are dropped, as the reference ``preprocess`` does. Zero-shot CoT is the same prompt
without shots.

Extraction is the reference cascade: ``answer is \(?([A-J])\)?``; else ``.*[aA]nswer:\s*([A-J])``
(no DOTALL, as upstream); else the last standalone letter A-J (DOTALL). Like the current API
script, ``**`` markdown is removed first. Where upstream draws a random letter for a response
with no match, :func:`grade_mmlu_pro` returns None and grades the item wrong (``accuracy``);
:func:`official_accuracy` gives the official figure, in which each unextracted answer is a
random guess among the item's options (``evaluate_from_api.py``/``evaluate_from_local.py``:
``random.randint(0, len(options) - 1)`` after ``random.seed(12345)``; ``compute_accuracy.py``
draws ``random.choice`` over all ten letters), drawn from a seeded generator of its own.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from benchgate.choices import grade_letter, options_block, read_letter_reference
from benchgate.grade import Grade

LETTERS = "ABCDEFGHIJ"
INITIAL_PROMPT = (
    "The following are multiple choice questions (with answers) about {subject}. Think step by"
    " step and then output the answer in the format of \"The answer is (X)\" at the end.\n\n")
DEFAULT_COT = "Let's think step by step."


def format_question(question: str, options: Sequence[str], cot_content: str | None = None) -> str:
    """One question in the reference layout; ``cot_content`` is a shot's worked answer.

    Without ``cot_content`` the block ends with the CoT trigger ``Answer: Let's think step by
    step.``; a shot's ``cot_content`` (which upstream starts with ``A: ``) replaces it.
    """
    cot = cot_content or DEFAULT_COT
    if cot.startswith("A: "):
        cot = cot[3:]
    kept = [opt for opt in options if opt != "N/A"]
    if len(kept) > len(LETTERS):
        raise ValueError(f"MMLU-Pro questions have at most 10 options, got {len(kept)}")
    return f"Question: {question}\nOptions: {options_block(kept)}\nAnswer: {cot}\n\n"


def build_prompt(question: str, options: Sequence[str], category: str,
                 shots: Sequence[Mapping[str, Any]] = ()) -> list[dict[str, str]]:
    """Chat messages for CoT prompting: ``shots`` empty = zero-shot, 5 validation items = 5-shot.

    Each shot needs ``question``, ``options`` and ``cot_content`` (the validation split's
    fields); upstream uses the first 5 validation items of the same category.
    """
    content = INITIAL_PROMPT.format(subject=category)
    for shot in shots:
        content += format_question(str(shot["question"]), list(shot["options"]),
                                   str(shot.get("cot_content") or "") or None)
    content += format_question(question, options)
    return [{"role": "user", "content": content}]


def extract_answer(text: str) -> str | None:
    """The predicted letter A-J by the reference cascade, or None when nothing matches."""
    return read_letter_reference(text)


def grade_mmlu_pro(response: str, answer: str) -> Grade:
    """Exact letter match; an unextracted answer is wrong (``metrics["unextracted"]``)."""
    return grade_letter(extract_answer(response), answer, none_detail="no answer letter found")


def official_accuracy(rows: Sequence[tuple[str | None, str, int]], seed: int = 12345) -> float:
    """Accuracy with the reference's random guess for unextracted answers, seeded.

    ``rows`` are ``(extracted letter or None, reference letter, number of options)`` in item
    order. Each None becomes ``LETTERS[rng.randint(0, n_options - 1)]`` from
    ``random.Random(seed)``, drawn in row order: the draw ``evaluate_from_api.py`` and
    ``evaluate_from_local.py`` (TIGER-AI-Lab/MMLU-Pro) make after their module-level
    ``random.seed(12345)``. Upstream's stream is shared with other draws (and its
    ``update_result`` redraws on every call), so its figure is one sample of this one; the
    seed picks which. Empty ``rows`` give 0.0.
    """
    rng = random.Random(seed)
    correct = 0
    for pred, answer, n_options in rows:
        if pred is None:
            if not 1 <= n_options <= len(LETTERS):
                raise ValueError(f"n_options must be 1 to {len(LETTERS)}, got {n_options!r}")
            pred = LETTERS[rng.randint(0, n_options - 1)]
        correct += pred == answer.strip()
    return correct / len(rows) if rows else 0.0
