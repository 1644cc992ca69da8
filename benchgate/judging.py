"""Asking the judge: a reply without a verdict is asked again once, then the item is an error.

Never a default score. The parser is the benchmark's pure verdict parser from ``graders/``; the
judge's completion comes back carrying the parsed ``verdict`` (what the report's score
distribution counts).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from benchgate.errors import InfraError
from benchgate.task import Completion, Context, Message

T = TypeVar("T")
ATTEMPTS = 2


async def ask_judge(ctx: Context, messages: Sequence[Message], parse: Callable[[str], T | None],
                    **params: object) -> tuple[T, Completion]:
    """The parsed verdict and the judge's completion; :class:`InfraError` when unparseable."""
    reply: Completion | None = None
    for attempt in range(ATTEMPTS):
        reply = await ctx.judge(messages, _attempt=attempt, **params)
        verdict = parse(reply.text)
        if verdict is not None:
            return verdict, replace(reply, verdict=verdict)
    text = reply.text if reply else ""
    raise InfraError(f"judge verdict unparseable after {ATTEMPTS} attempts: {text[:160]!r}")
