"""Multi-turn regression cases: deterministic checks on the final reply and the rubric judge.

Our own benchmark (``benchmarks/multiturn``), no upstream paper. The ability taxonomy follows
MT-Bench-101 (Bai et al. 2024, "MT-Bench-101: A Fine-Grained Benchmark for Evaluating Large
Language Models in Multi-Turn Dialogues", arXiv:2402.14762): perceptivity, adaptability,
interactivity. A case passes when every deterministic check on the model's *final* reply holds
and, when it has a rubric, a Prometheus-style judge (Kim et al. 2024, arXiv:2405.01535; prompt
and parser from :mod:`graders.judge`) scores that reply at least :data:`PASS_MARK` on 1-5.

Checks: ``contains`` (every string must occur), ``not_contains`` (none may occur), ``regex``
(every pattern must match somewhere, ``re.search``), ``max_words`` (whitespace-separated words);
``ignore_case`` (default true) applies to all three text checks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from benchgate.grade import Grade
from graders.judge import build_prometheus_prompt, parse_prometheus

PASS_MARK = 4
CHECK_FIELDS = ("contains", "not_contains", "regex", "max_words", "ignore_case")
SHOWN = 160  # characters of the reply kept as the extracted answer
_ROLE_NAMES = {"user": "User", "assistant": "Assistant", "system": "System"}
INSTRUCTION_HEAD = ("A multi-turn conversation between a user and an AI assistant. Evaluate only "
                    "the assistant's reply to the user's last message, in the light of the "
                    "whole conversation.")
FALLBACK_WRONG = "I'm not sure what you mean."

__all__ = ["PASS_MARK", "Checks", "build_rubric_messages", "check_reply", "describe",
           "example_replies", "grade_multiturn", "parse_prometheus"]


@dataclass(frozen=True)
class Checks:
    """Deterministic checks on a final reply (all must hold)."""

    contains: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()
    regex: tuple[str, ...] = ()
    max_words: int | None = None
    ignore_case: bool = True

    def __bool__(self) -> bool:
        return bool(self.contains or self.not_contains or self.regex or self.max_words is not None)


def _fold(text: str, checks: Checks) -> str:
    return text.casefold() if checks.ignore_case else text


def check_reply(reply: str, checks: Checks) -> list[str]:
    """What the reply gets wrong, one short phrase per failed check (empty when all hold)."""
    text = _fold(reply, checks)
    flags = re.IGNORECASE if checks.ignore_case else 0
    problems = [f"missing {s!r}" for s in checks.contains if _fold(s, checks) not in text]
    problems += [f"contains {s!r}" for s in checks.not_contains if _fold(s, checks) in text]
    problems += [f"no match for /{p}/" for p in checks.regex if re.search(p, reply, flags) is None]
    words = len(reply.split())
    if checks.max_words is not None and words > checks.max_words:
        problems.append(f"{words} words > {checks.max_words}")
    return problems


def describe(checks: Checks | None, rubric: bool) -> str:
    """The expectation in words, for the report and the failure message."""
    parts: list[str] = []
    if checks:
        if checks.contains:
            parts.append("contains " + ", ".join(map(repr, checks.contains)))
        if checks.not_contains:
            parts.append("avoids " + ", ".join(map(repr, checks.not_contains)))
        parts += [f"matches /{p}/" for p in checks.regex]
        if checks.max_words is not None:
            parts.append(f"at most {checks.max_words} words")
        if not checks.ignore_case:
            parts.append("case-sensitive")
    if rubric:
        parts.append(f"judge >= {PASS_MARK}/5")
    return "; ".join(parts)


def grade_multiturn(reply: str, checks: Checks | None, judge_score: int | None = None, *,
                    rubric: bool = False, pass_mark: int = PASS_MARK) -> Grade:
    """Grade the final reply: every check holds and (for rubric cases) the judge gives
    ``pass_mark`` or more. ``score`` is 1.0 or 0.0."""
    if rubric and judge_score is None:
        raise ValueError("a rubric case needs the judge's score")
    problems = check_reply(reply, checks) if checks else []
    checks_passed = None if not checks else not problems
    if rubric and judge_score is not None and judge_score < pass_mark:
        problems.append(f"judge {judge_score}/5 < {pass_mark}")
    passed = not problems
    shown = reply if len(reply) <= SHOWN else reply[:SHOWN] + "..."
    return Grade(passed=passed, score=1.0 if passed else 0.0, expected=describe(checks, rubric),
                 extracted=shown, detail="; ".join(problems),
                 metrics={"checks_passed": checks_passed,
                          "judge_score": judge_score})


def transcript(messages: Sequence[Mapping[str, str]]) -> str:
    """The conversation up to the final user message, as the judge's instruction."""
    lines = [INSTRUCTION_HEAD, ""]
    for m in messages:
        lines += [f"[{_ROLE_NAMES.get(m['role'], m['role'])}]", str(m["content"]), ""]
    return "\n".join(lines).rstrip()


def build_rubric_messages(messages: Sequence[Mapping[str, str]], reply: str,
                          rubric: str | Mapping[str, str],
                          reference: str | None = None) -> list[dict[str, str]]:
    """Prometheus absolute-grading prompt for the final ``reply`` to ``messages``."""
    return build_prometheus_prompt(transcript(messages), reply, rubric, reference)


def example_replies(checks: Checks | None, reference: str | None) -> tuple[str, str]:
    """A reply that passes the checks and one that fails them (the simulator's answers).

    The passing one is ``reference`` (or a neutral sentence) with any missing ``contains``
    strings appended; the failing one breaks a check (adds a forbidden string, leaves out a
    required one, or runs over ``max_words``). Either may fail to exist for odd checks: then
    the first candidate is returned and :func:`check_reply` tells.
    """
    good = reference or "Sure, here is my answer."
    if checks:
        missing = [s for s in checks.contains if _fold(s, checks) not in _fold(good, checks)]
        good = " ".join([good, *missing])
    if not checks:
        return good, FALLBACK_WRONG
    bad = [FALLBACK_WRONG]
    if checks.not_contains:
        bad.insert(0, f"{good} {checks.not_contains[0]}")
    if checks.max_words is not None:
        bad.append(" ".join([good] + ["more"] * (checks.max_words + 1)))
    return good, next((b for b in bad if check_reply(b, checks)), bad[0])
