"""IFEval grading, strict and loose (Zhou et al. 2023, "Instruction-Following Evaluation for
Large Language Models", arXiv:2311.07911).

Follows google-research/google-research ``instruction_following_eval/evaluation_lib.py``
(``test_instruction_following_strict``/``_loose`` and ``print_report``); the checkers live in
:mod:`graders.ifeval_checkers`.

Strict: an instruction is followed when the response is not blank and its checker passes.
Loose: the same on eight variants of the response (as is; first line removed; last line
removed; both removed; and each of those with every ``*`` deleted), skipping blank variants;
followed when any variant passes. A prompt is followed when all its instructions are.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from benchgate.grade import Grade
from graders.ifeval_checkers import BUILDERS
from graders.ifeval_util import Check

__all__ = [
    "aggregate_ifeval",
    "build_checker",
    "follows",
    "grade_ifeval",
    "loose_variants",
]


def build_checker(
    instruction_id: str, kwargs: Mapping[str, Any] | None = None, prompt: str | None = None
) -> Check:
    """The check for one instruction, its kwargs applied.

    None-valued kwargs are dropped first (the Hugging Face copy of IFEval lists every kwarg of
    every instruction, most of them None). As in the reference, ``prompt`` is passed only to a
    builder that takes a ``prompt`` argument; none of the 25 does (repeat-prompt gets its text
    as ``prompt_to_repeat``). Unknown ids, unknown or missing kwargs and out-of-range values
    raise ``ValueError``.
    """
    builder = BUILDERS.get(instruction_id)
    if builder is None:
        raise ValueError(f"unknown IFEval instruction id {instruction_id!r}")
    given = {k: v for k, v in (kwargs or {}).items() if v is not None}
    if prompt is not None and "prompt" in inspect.signature(builder).parameters:
        given["prompt"] = prompt
    try:
        return builder(**given)
    except TypeError as exc:
        raise ValueError(f"{instruction_id}: bad kwargs {sorted(given)}: {exc}") from exc
    except ValueError as exc:
        raise ValueError(f"{instruction_id}: {exc}") from exc


def loose_variants(response: str) -> list[str]:
    """The eight responses the loose mode tries, in the reference's order."""
    lines = response.split("\n")
    no_first = "\n".join(lines[1:]).strip()
    no_last = "\n".join(lines[:-1]).strip()
    no_both = "\n".join(lines[1:-1]).strip()
    return [
        response,
        response.replace("*", ""),
        no_first,
        no_last,
        no_both,
        no_first.replace("*", ""),
        no_last.replace("*", ""),
        no_both.replace("*", ""),
    ]


def follows(check: Check, response: str, *, loose: bool = False) -> bool:
    """Whether ``response`` follows one instruction; blank responses never do."""
    candidates = loose_variants(response) if loose else [response]
    return any(text.strip() and check(text) for text in candidates)


def grade_ifeval(
    response: str,
    instruction_ids: Sequence[str],
    kwargs: Sequence[Mapping[str, Any]],
    prompt: str,
) -> Grade:
    """Grade one IFEval response against its instructions.

    ``kwargs[i]`` parameterises ``instruction_ids[i]`` (None values are ignored). ``prompt``
    is the request sent to the model; as in the reference, a checker receives it only when it
    takes a ``prompt`` argument (repeat-prompt takes ``prompt_to_repeat`` from its kwargs).
    Passed/score follow the strict prompt-level verdict; ``metrics`` carries both modes.
    """
    ids = list(instruction_ids)
    if len(ids) != len(kwargs):
        raise ValueError(f"{len(ids)} instruction ids but {len(kwargs)} kwargs dicts")
    strict: list[bool] = []
    loose: list[bool] = []
    for instruction_id, args in zip(ids, kwargs, strict=True):
        check = build_checker(instruction_id, args, prompt)
        strict.append(follows(check, response))
        loose.append(strict[-1] or follows(check, response, loose=True))
    failed = [i for i, ok in zip(ids, strict, strict=True) if not ok]
    passed = not failed
    loose_failed = [i for i, ok in zip(ids, loose, strict=True) if not ok]
    if passed:
        detail = f"all {len(ids)} instructions followed"
    else:
        detail = f"not followed: {', '.join(failed)}"
        detail += f"; loose: {', '.join(loose_failed) or 'all followed'}"
    return Grade(
        passed=passed,
        score=1.0 if passed else 0.0,
        expected=ids,
        extracted=failed,
        metrics={
            "prompt_level_strict": passed,
            "prompt_level_loose": all(loose),
            "inst_strict": strict,
            "inst_loose": loose,
            "instruction_ids": ids,
        },
        detail=detail,
    )


def aggregate_ifeval(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Accuracies over the ``metrics`` dicts of :func:`grade_ifeval`, as ``print_report`` does.

    Prompt level: share of prompts with every instruction followed. Instruction level: followed
    instructions over all instructions, pooled across prompts. ``by_category`` gives the strict
    instruction-level accuracy per full instruction id. Empty input gives zeros.
    """
    prompts = len(records)
    prompt_strict = sum(1 for r in records if all(r["inst_strict"]))
    prompt_loose = sum(1 for r in records if all(r["inst_loose"]))
    total = sum(len(r["instruction_ids"]) for r in records)
    inst_strict = sum(sum(bool(v) for v in r["inst_strict"]) for r in records)
    inst_loose = sum(sum(bool(v) for v in r["inst_loose"]) for r in records)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for record in records:
        for instruction_id, ok in zip(
            record["instruction_ids"], record["inst_strict"], strict=True
        ):
            counts[instruction_id][0] += bool(ok)
            counts[instruction_id][1] += 1
    return {
        "prompt_level_strict_acc": prompt_strict / prompts if prompts else 0.0,
        "inst_level_strict_acc": inst_strict / total if total else 0.0,
        "prompt_level_loose_acc": prompt_loose / prompts if prompts else 0.0,
        "inst_level_loose_acc": inst_loose / total if total else 0.0,
        "by_category": {
            key: {"inst_level_strict_acc": ok / n, "n": n}
            for key, (ok, n) in sorted(counts.items())
        },
    }
