"""multiturn: our own ability-focused multi-turn regression suite, written as YAML cases.

No upstream dataset: the cases in ``cases/*.yaml`` are ours (schema in :mod:`.cases`). The
ability taxonomy follows MT-Bench-101 (Bai et al. 2024, arXiv:2402.14762; reference
mtbench101/mt-bench-101): *perceptivity* (context memory, anaphora, topic shift),
*adaptability* (self-correction, self-affirmation, rephrasing on request) and *interactivity*
(asking for clarification, refusing unsafe requests without over-refusing).

The model is asked turn by turn with its own earlier replies in context; fixed ``assistant``
turns are inserted verbatim instead of asking. Only the final reply is graded
(:mod:`graders.multiturn`): deterministic checks and/or a Prometheus-style 1-5 rubric judged
with ``graders.judge``'s prompt and parser, pass at >= 4. ``score`` = fraction of cases passed,
``by_category`` per ability (with ``sub_abilities``), and ``metrics`` also per ability and
``<ability>.<sub_ability>``, so both can be gated.

Data: the shipped cases for every source (hub, sample, dir); ``--data-dir DIR`` uses
``DIR/multiturn/*.yaml`` when that folder exists; ``--multiturn-cases DIR`` (or
``BENCHGATE_MULTITURN_CASES``) runs a folder of your own. ``--responses`` rows give one reply
per model turn (fixed assistant turns excluded).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from benchgate import Completion, Grade, Task, Verdict
from benchgate.aggregate import by_item
from benchgate.data import DataSource
from benchgate.judging import ask_judge
from benchgate.task import Context, Message
from benchmarks.multiturn.cases import Case, cases_folder, load_folder
from graders.judge import simulate_judge_formats
from graders.multiturn import build_rubric_messages, example_replies, grade_multiturn, parse_prometheus


@dataclass(frozen=True)
class Conversation:
    """The model's replies (one per asked turn) and the judge's verdict on the final one."""

    turns: list[Completion]
    judgments: list[Completion]
    judge_score: int | None


def load_items(data: DataSource) -> list[Case]:
    """Every case of the cases folder, files in name order; ids are the cases' ``id``."""
    cases, digests = load_folder(cases_folder(data.kind, data.root))
    data.files.update(digests)
    return cases


async def run(case: Case, ctx: Context) -> Conversation:
    """Ask each user turn not followed by a fixed assistant turn; judge the final reply."""
    messages: list[Message] = [{"role": "system", "content": case.system}] if case.system else []
    replies: list[Completion] = []
    for i, (role, text) in enumerate(case.turns):
        messages.append({"role": role, "content": text})
        if role == "user" and (i + 1 == len(case.turns) or case.turns[i + 1][0] == "user"):
            reply = await ctx.chat(list(messages))
            replies.append(reply)
            messages.append({"role": "assistant", "content": reply.text})
    if case.rubric is None:
        return Conversation(turns=replies, judgments=[], judge_score=None)
    prompt = build_rubric_messages(messages[:-1], replies[-1].text, case.rubric, case.reference)
    score, judgment = await ask_judge(ctx, prompt, parse_prometheus, max_tokens=1024)
    return Conversation(turns=replies, judgments=[judgment], judge_score=score)


def sim_key(case: Case) -> dict[str, list[str]]:
    """The simulator's [correct, wrong] reply to the final user turn, built from the checks."""
    return {case.final_user: list(example_replies(case.checks, case.reference))}


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else 0.0


def aggregate(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Fraction passed, per ability and per ``ability.sub_ability``."""
    by_ability: dict[str, list[float]] = defaultdict(list)
    by_sub: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    every = []
    for recs in by_item(records).values():
        value = _mean([r["score"] for r in recs if r["score"] is not None])
        ability, sub = recs[0]["category"], recs[0]["metrics"].get("sub_ability")
        every.append(value)
        by_ability[ability].append(value)
        by_sub[ability][sub].append(value)
    metrics = {"score": _mean(every)}
    by_category = {}
    for ability in sorted(by_ability):
        metrics[ability] = _mean(by_ability[ability])
        subs = {s: {"score": _mean(v), "n": len(v)} for s, v in sorted(by_sub[ability].items())}
        metrics.update({f"{ability}.{s}": v["score"] for s, v in subs.items()})
        by_category[ability] = {"score": metrics[ability], "n": len(by_ability[ability]),
                                "sub_abilities": subs}
    return {"metrics": metrics, "by_category": by_category}


def grade(item: Case, result: Conversation) -> Grade:
    """The final reply's checks (and rubric score, if any); majority over repeats."""
    found = grade_multiturn(result.turns[-1].text, item.checks, result.judge_score,
                            rubric=item.rubric is not None)
    return replace(found, metrics={**found.metrics, "sub_ability": item.sub_ability})


def describe(item: Case, verdict: Verdict) -> str:
    """The failure line names the ability."""
    rep = next((g for g in verdict.grades if not g.passed), verdict.grades[0])
    return f"multiturn {item.id} ({item.ability}/{item.sub_ability}): {rep.message}"


TASK = Task(name="multiturn", load=load_items, run=run, grade=grade, describe=describe,
            max_tokens=512, metric="score", metrics=("*",), aggregate=aggregate,
            sim_key=sim_key, needs_judge=True, sim_judge=simulate_judge_formats)


@TASK
def test_multiturn(item: Case, verdict: Verdict) -> None:
    assert verdict.passed, verdict.message
