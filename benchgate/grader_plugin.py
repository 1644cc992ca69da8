"""``--grader VALUE`` from a plugin: the grader ``pytest_benchgate_make_grader`` returned grades
each response of an extractive benchmark (:mod:`benchgate.newhooks` describes the contract).

The grader runs in the item's run coroutine, like ``--grader cmd:``: whatever it raises, and
any result that is not a :class:`~benchgate.grade.Grade`, is an
:class:`~benchgate.errors.InfraError` of the item (an error, never a failure), in one line.
"""

from __future__ import annotations

import inspect
from typing import Any

from benchgate.errors import InfraError
from benchgate.extractive import Grader
from benchgate.grade import Grade
from benchgate.task import Completion


async def grade_with_plugin(grader: Grader, spec: str, benchmark: str, item: Any,
                            response: Completion, expected: Any) -> Grade:
    """The grade ``grader`` gives ``response`` (awaited when it returns an awaitable)."""
    where = f"--grader {spec}"
    item_id = getattr(item, "id", "?")
    try:
        grade: Any = grader(benchmark, item, response, expected)
        if inspect.isawaitable(grade):
            grade = await grade
    except InfraError:
        raise
    except Exception as exc:  # noqa: BLE001 (a plugin bug is its item's error, not the run's)
        text = str(exc).strip().splitlines()
        raise InfraError(f"{where}: the grader raised {type(exc).__name__} on item {item_id}"
                         + (f": {text[0][:160]}" if text else "")) from None
    if not isinstance(grade, Grade):
        raise InfraError(f"{where}: the grader returned {type(grade).__name__} on item "
                         f"{item_id}, not a benchgate.Grade")
    return grade
