"""ARC-Challenge: grade-school science questions that retrieval and word co-occurrence methods
answer wrongly (Clark et al. 2018, "Think you have Solved Question Answering? Try ARC, the AI2
Reasoning Challenge", arXiv:1803.05457).

Data: ``allenai/ai2_arc`` config ``ARC-Challenge``, test split (1,172 questions), fields
``id``, ``question``, ``choices`` (``text``, ``label``) and ``answerKey``; ``--data-dir``:
``DIR/arc_challenge/test.jsonl`` in the same schema. Item ids are ``id``. Some questions label
their options 1-4: options are lettered A, B, ... in their order and the key follows its label.
Zero-shot lettered prompt; the reply's letter is read strictly (:mod:`benchgate.choices`).
"""

from __future__ import annotations

from functools import partial

from benchgate import Task, Verdict
from benchgate.aggregate import mean_with_rates
from benchgate.choices import LETTERS, LetteredQuestion, lettered, lettered_prompt, sim_answer
from benchgate.data import DataSource, Hub
from benchgate.errors import DataError

HUB = Hub(repo="allenai/ai2_arc", name="ARC-Challenge", split="test",
          revision="210d026faf9955653af8916fad021475a3f00453")
INSTRUCTION = ("Answer the following science question. Exactly one option is correct. Reply "
               "with the letter of that option only.")


def load_items(data: DataSource) -> list[LetteredQuestion]:
    """Every test question, ids = ``id``; labels (A-E or 1-5) become letters by position."""
    items = []
    for row in data.rows("test.jsonl", hub=HUB):
        labels = [str(label) for label in row["choices"]["label"]]
        if str(row["answerKey"]) not in labels:
            raise DataError(f"arc_challenge: {row['id']}: answerKey {row['answerKey']!r} is not "
                            f"one of the labels {labels}")
        items.append(LetteredQuestion(id=str(row["id"]), question=row["question"],
                                      options=tuple(row["choices"]["text"]),
                                      answer=LETTERS[labels.index(str(row["answerKey"]))]))
    return items


TASK = Task(name="arc_challenge", load=load_items,
            messages=lambda item: lettered_prompt(INSTRUCTION, item.question, item.options),
            extractive=lettered(), max_tokens=512, metric="accuracy", metrics=("unextracted",),
            aggregate=partial(mean_with_rates, metric="accuracy", flags=("unextracted",)),
            sim_reply=lambda item, correct: sim_answer(item.answer, len(item.options), correct))


@TASK
def test_arc_challenge(item: LetteredQuestion, verdict: Verdict) -> None:
    assert verdict.passed, verdict.message
