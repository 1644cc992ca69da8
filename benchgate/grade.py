"""The verdict every grader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Grade:
    """A grader's verdict on one response.

    ``score`` lies in [0, 1] for deterministic graders (1-10 for judge scores);
    ``metrics`` holds per-item values the benchmark aggregates (JSON-safe);
    ``expected``/``extracted`` are what the failure message and report show.
    """

    passed: bool
    score: float
    expected: Any = None
    extracted: Any = None
    metrics: dict[str, Any] = field(default_factory=dict)
    detail: str = ""
    judges: dict[str, Grade] = field(default_factory=dict)  # a judged item: each judge's own grade

    @property
    def message(self) -> str:
        """One-line explanation used in assertion messages."""
        return explain(self.expected, self.extracted, self.detail)


def explain(expected: Any, extracted: Any, detail: str = "") -> str:
    """``expected X, got Y`` (and the detail in parentheses): :attr:`Grade.message`."""
    text = f"expected {expected!r}, got {extracted!r}"
    return f"{text} ({detail})" if detail else text
