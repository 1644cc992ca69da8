"""GSM8K: grade-school math word problems (Cobbe et al. 2021, arXiv:2110.14168).

Data: ``openai/gsm8k`` (config ``main``, test split, 1,319 items); upstream file
``grade_school_math/data/test.jsonl`` of openai/grade-school-math. Item ids are row indices.

Prompt: zero-shot chain of thought in the chat form Meta published for Llama 3 evaluation and
lm-evaluation-harness ships as ``gsm8k_cot_llama``: reason step by step, end with
"The final answer is N". Extraction and scoring: :mod:`graders.gsm8k` (exact numeric match).
"""

from __future__ import annotations

from dataclasses import dataclass

from benchgate import Grade, Task, Verdict
from benchgate.data import DataSource, Hub
from benchgate.extractive import Extractive
from graders.gsm8k import compare_answer, extract_answer, reference_answer

HUB = Hub(repo="openai/gsm8k", name="main", split="test",
          revision="e53f048856ff4f594e959d75785d2c2d37b678ee")
PROMPT = (
    "Given the following problem, reason and give a final answer to the problem.\n"
    "Problem: {question}\n"
    'Your response should end with "The final answer is [answer]" where [answer] is the '
    "response to the problem."
)


@dataclass(frozen=True)
class Problem:
    """One GSM8K problem; ``answer`` is the normalised final number."""

    id: str
    question: str
    answer: str
    solution: str


def load_items(data: DataSource) -> list[Problem]:
    """All test problems, ids = zero-based row index."""
    rows = data.rows("test.jsonl", hub=HUB)
    return [Problem(id=str(i), question=r["question"], answer=reference_answer(r["answer"]),
                    solution=r["answer"]) for i, r in enumerate(rows)]


def build_messages(item: Problem) -> list[dict[str, str]]:
    """The zero-shot chat prompt."""
    return [{"role": "user", "content": PROMPT.format(question=item.question)}]


def sim_reply(item: Problem, correct: bool) -> str:
    """What the simulator says: the right number, or the right number plus one."""
    value = item.answer if correct else str(int(float(item.answer)) + 1)
    return f"Let's work it out step by step.\nThe final answer is {value}"


def compare(item: Problem, got: str | None, response: str) -> Grade:
    """Exact numeric match of the final answer; repeats reduce by majority."""
    return compare_answer(got, item.answer)


ANSWER = Extractive(extract=lambda item, text: extract_answer(text), compare=compare)
TASK = Task(name="gsm8k", load=load_items, messages=build_messages, extractive=ANSWER,
            max_tokens=1024, metric="accuracy", sim_reply=sim_reply)


@TASK
def test_gsm8k(item: Problem, verdict: Verdict) -> None:
    assert verdict.passed, verdict.message
