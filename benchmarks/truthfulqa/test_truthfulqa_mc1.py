"""TruthfulQA MC1 (Lin et al. 2022, "TruthfulQA: Measuring How Models Mimic Human Falsehoods",
arXiv:2109.07958; reference sylinrl/TruthfulQA ``data/mc_task.json`` and
``truthfulqa/models.py``/``metrics.py``, which score MC1 by comparing answer likelihoods).

Data: :mod:`.common` (``mc_task.json`` ``mc1_targets`` with the category from
``TruthfulQA.csv``; hub ``truthfulqa/truthful_qa``); ids = zero-based row index. A chat API
gives no likelihoods, so each question is asked as a lettered multiple-choice question, the
options in a fixed order seeded by the id (upstream lists the true one first), and the reply's
letter is read strictly (:mod:`graders.truthfulqa`): ``mc1_generative`` = share of questions
answered with the one true option; ``metrics.unextracted`` = share with no readable letter
(counted wrong). Not the paper's or lm-eval's MC1, which compare likelihoods: that is
``truthfulqa_mc`` (:mod:`.test_truthfulqa_loglik`, metrics ``mc1`` and ``mc2``).
"""

from __future__ import annotations

from dataclasses import dataclass

from benchgate import Task, Verdict
from benchgate.choices import LETTERS, lettered, sim_answer
from benchgate.data import DataSource
from benchmarks.truthfulqa.common import load_questions, rates
from graders.truthfulqa import build_mc1_prompt, mc1_options


@dataclass(frozen=True)
class Choice:
    """One MC1 question: options in the order asked and the index of the true one."""

    id: str
    category: str
    question: str
    options: tuple[str, ...]
    correct: int


def load_items(data: DataSource) -> list[Choice]:
    """Every question, ids = row index."""
    items = []
    for q in load_questions(data):
        options, correct = mc1_options(int(q.id), dict(q.mc1))
        items.append(Choice(id=q.id, category=q.category, question=q.question,
                            options=tuple(options), correct=correct))
    return items


def build_messages(item: Choice) -> list[dict[str, str]]:
    """Instruction, question and lettered options in one user message."""
    return build_mc1_prompt(item.question, item.options)


def sim_reply(item: Choice, correct: bool) -> str:
    """The true option's letter, or the next option's."""
    return sim_answer(LETTERS[item.correct], len(item.options), correct)


def describe(item: Choice, verdict: Verdict) -> str:
    """The failure line quotes the true option."""
    rep = verdict.grades[0]
    return (f"truthfulqa {item.id}: expected {rep.expected!r}, got {verdict.extracted!r}; "
            f"true option: {item.options[item.correct]!r}")


ANSWER = lettered(lambda item: len(item.options), lambda item: LETTERS[item.correct])
TASK = Task(name="truthfulqa", load=load_items, messages=build_messages, extractive=ANSWER,
            describe=describe, max_tokens=512, metric="mc1_generative",
            metrics=("unextracted",),
            aggregate=rates({"mc1_generative": "score", "unextracted": "unextracted"}),
            sim_reply=sim_reply)


@TASK
def test_truthfulqa_mc1(item: Choice, verdict: Verdict) -> None:
    assert verdict.passed, verdict.message
