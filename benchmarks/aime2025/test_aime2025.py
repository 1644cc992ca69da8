"""AIME 2025: the 30 problems of AIME 2025 I and II, integer answers 0-999, as MathArena runs
them (Balunović et al. 2025, "MathArena: Evaluating LLMs on Uncontaminated Math Competitions",
arXiv:2505.23281; reference eth-sri/matharena ``runner.py`` and ``parser.py``).

Data: ``aime2025.jsonl`` assembled from eth-sri/matharena ``data/aime/aime_2025_{I,II}`` (fields
``id`` like ``2025-I-1``, ``contest``, ``problem_idx``, ``problem``, ``answer``); hub source
``MathArena/aime_2025`` (train split, no pinned revision found: ``main``), whose rows carry only
``problem_idx`` 1-30, ``problem`` and ``answer``: problems 1-15 are mapped to AIME 2025 I and
16-30 to AIME 2025 II, so ids stay ``2025-I-1`` ... ``2025-II-15``. Category = contest.

Prompt, extraction and grading: :mod:`graders.aime` (MathArena's instruction; last ``\\boxed``
answer, else the last integer). With ``--repeats K`` each problem scores the mean over its K
samples, so ``accuracy`` is MathArena's avg@K; ``metrics.boxed`` is the rate of boxed answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from benchgate import Grade, Task, Verdict
from benchgate.aggregate import mean_with_rates
from benchgate.data import DataSource, Hub
from benchgate.errors import DataError
from benchgate.extractive import Extractive
from graders.aime import build_prompt, compare_answer, extract_answer, normalise_answer

HUB = Hub(repo="MathArena/aime_2025", split="train", revision="main")


@dataclass(frozen=True)
class Problem:
    """One AIME problem; ``answer`` is an integer 0-999."""

    id: str
    category: str
    problem: str
    answer: int


def from_hub(row: dict[str, Any]) -> dict[str, Any]:
    """A ``MathArena/aime_2025`` row in our schema (contest derived from ``problem_idx``)."""
    idx = int(row["problem_idx"])
    part, number = ("I", idx) if idx <= 15 else ("II", idx - 15)
    return {"id": f"2025-{part}-{number}", "contest": f"AIME 2025 {part}", "problem_idx": number,
            "problem": row["problem"], "answer": row["answer"]}


def load_items(data: DataSource) -> list[Problem]:
    """All problems, ids = ``id`` (``2025-I-1``), category = ``contest``."""
    rows = data.rows("aime2025.jsonl", hub=HUB)
    if data.kind == "hub":
        rows = [from_hub(r) for r in rows]
    try:
        return [Problem(id=str(r["id"]), category=str(r["contest"]), problem=str(r["problem"]),
                        answer=int(r["answer"])) for r in rows]
    except (KeyError, ValueError) as exc:
        raise DataError(f"aime2025: malformed row ({type(exc).__name__}: {exc})") from None


def build_messages(item: Problem) -> list[dict[str, str]]:
    """MathArena's instruction, a blank line, the problem."""
    return build_prompt(item.problem)


def sim_reply(item: Problem, correct: bool) -> str:
    """The right integer boxed, or the next one."""
    value = item.answer if correct else (item.answer + 1) % 1000
    return f"Working through the problem step by step gives the result.\n\n\\boxed{{{value}}}"


def compare(item: Problem, got: int | None, response: str) -> Grade:
    """The final integer (last ``\\boxed{}``) against the answer; repeats reduce by majority."""
    return compare_answer(got, item.answer, response)


ANSWER = Extractive(extract=lambda item, text: extract_answer(text), compare=compare,
                    normalise=lambda item, answer: normalise_answer(answer))


TASK = Task(name="aime2025", load=load_items, messages=build_messages, extractive=ANSWER,
            max_tokens=16384, metric="accuracy", metrics=("boxed",),
            aggregate=partial(mean_with_rates, metric="accuracy", flags=("boxed",)), sim_reply=sim_reply)


@TASK
def test_aime2025(item: Problem, verdict: Verdict) -> None:
    assert verdict.passed, verdict.message
