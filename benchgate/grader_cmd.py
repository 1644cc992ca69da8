"""``--grader cmd:COMMAND``: a shell command grades each response.

The command runs once per item and repeat, gets one JSON object on stdin (``benchmark``,
``id``, ``response``, ``expected``) and prints one JSON object: ``{"passed": bool,
"extracted": str}`` and optionally ``"score"`` (0-1; default 1 or 0 from ``passed``). A
non-zero exit, a crash, a timeout or stdout that is not such an object is an
:class:`~benchgate.errors.InfraError` (the item is an error, never a failure), in one line.
At most one command per CPU runs at a time.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from typing import Any, NamedTuple

from benchgate.errors import InfraError

TIMEOUT_S = 120.0
_SLOTS: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}


class CommandVerdict(NamedTuple):
    """What the grading command printed."""

    passed: bool
    extracted: str
    score: float


def _slots() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    if loop not in _SLOTS:
        _SLOTS.clear()  # a new session's loop: the old one is closed
        _SLOTS[loop] = asyncio.Semaphore(os.cpu_count() or 1)
    return _SLOTS[loop]


def parse_verdict(stdout: str, command: str) -> CommandVerdict:
    """The verdict the command printed; :class:`InfraError` unless it is well formed."""
    where = f"--grader cmd:{command}"
    try:
        data: Any = json.loads(stdout)
    except json.JSONDecodeError:
        raise InfraError(f"{where}: stdout is not JSON: {stdout.strip()[:120]!r}") from None
    if not isinstance(data, dict) or not isinstance(data.get("passed"), bool):
        raise InfraError(f"{where}: stdout needs a JSON object with a boolean \"passed\", got "
                         f"{stdout.strip()[:120]!r}")
    extracted = data.get("extracted")
    if extracted is not None and not isinstance(extracted, str):
        raise InfraError(f"{where}: \"extracted\" must be a string, got {extracted!r}")
    score = data.get("score", 1.0 if data["passed"] else 0.0)
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise InfraError(f"{where}: \"score\" must be a number, got {score!r}")
    return CommandVerdict(data["passed"], extracted or "", float(score))


async def grade_with_command(command: str, benchmark: str, item_id: str, response: str,
                             expected: Any) -> CommandVerdict:
    """Run ``command`` on one response and read its verdict."""
    payload = json.dumps({"benchmark": benchmark, "id": item_id, "response": response,
                          "expected": expected}, ensure_ascii=False, default=str) + "\n"
    where = f"--grader cmd:{command}"
    async with _slots():
        try:
            proc = await asyncio.create_subprocess_shell(
                command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
        except OSError as exc:
            raise InfraError(f"{where}: cannot start: {exc}") from None
        try:
            out, err = await asyncio.wait_for(proc.communicate(payload.encode()), TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise InfraError(f"{where}: no verdict within {TIMEOUT_S:g} s for item "
                             f"{item_id}") from None
    if proc.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines()
        raise InfraError(f"{where}: exited with status {proc.returncode} on item {item_id}"
                         + (f": {lines[-1][:160]}" if lines else ""))
    return parse_verdict(out.decode(errors="replace"), command)
