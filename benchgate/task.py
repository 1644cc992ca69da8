"""What a benchmark module declares: a :class:`Task` bound to its parametrized test.

A benchmark is a test function decorated with its ``Task``::

    TASK = Task(name="gsm8k", load=load_items, messages=build_messages, grade=grade)

    @TASK
    def test_gsm8k(item: Problem, verdict: Verdict) -> None:
        assert verdict.passed, verdict.message

The plugin parametrizes ``item`` from ``Task.load`` (ids = the items' stable ids), starts every
item's model calls as soon as collection finishes, grades every repeat with ``Task.grade``,
reduces them with ``Task.reduce`` and hands the test the item's :class:`Verdict`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import pytest

from benchgate.grade import Grade

if TYPE_CHECKING:
    from benchgate.data import DataSource
    from benchgate.extractive import Extractive
    from benchgate.simjudge import SimulatedJudge

Message = dict[str, Any]


class Item(Protocol):
    """A benchmark item: a frozen dataclass with a stable ``id``."""

    @property
    def id(self) -> str: ...


@dataclass(frozen=True)
class Completion:
    """One chat completion as the test sees it. ``reasoning`` is never graded."""

    text: str
    reasoning: str | None = None
    latency_s: float = 0.0
    usage: dict[str, int] = field(default_factory=dict)
    cached: bool = False
    endpoint: str | None = None
    finish_reason: str | None = None
    messages: tuple[Message, ...] = ()
    truncated: bool = False  # the body exceeded the response-size cap; text is its prefix
    verdict: Any = None  # a judge's reply: the verdict its parser read (set by ask_judge; not cached)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form, as stored in the cache and the items file."""
        return {"text": self.text, "reasoning": self.reasoning, "latency_s": self.latency_s,
                "usage": self.usage, "cached": self.cached, "endpoint": self.endpoint,
                "finish_reason": self.finish_reason, "messages": list(self.messages),
                "truncated": self.truncated}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Completion:
        """Inverse of :meth:`to_json`."""
        return cls(text=data.get("text") or "", reasoning=data.get("reasoning"),
                   latency_s=float(data.get("latency_s") or 0.0), usage=dict(data.get("usage") or {}),
                   cached=bool(data.get("cached")), endpoint=data.get("endpoint"),
                   finish_reason=data.get("finish_reason"),
                   messages=tuple(data.get("messages") or ()),
                   truncated=bool(data.get("truncated")))


@dataclass(frozen=True)
class Judged:
    """A judged benchmark's result: the model's answers and the judge's verdict on each.

    ``turns[i]`` is the model's completion for the i-th judged turn (both MT-Bench turns, or
    each judged turn of an MT-Bench-101 dialogue), ``judgments[i]`` the judge's reply on it and
    ``ratings[i]`` the rating read from that reply. The records read ``turns`` and
    ``judgments`` by name (:func:`benchgate.records.completions_of`), so a judged benchmark
    whose result holds something else (AlpacaEval's order, TruthfulQA's labels) declares its own
    with those two fields.
    """

    turns: list[Completion]
    judgments: list[Completion]
    ratings: list[float]


class Context(Protocol):
    """What a task's ``run`` coroutine may call: the model and the judge, cached and retried."""

    repeat: int
    item_id: str

    async def chat(self, messages: Sequence[Message], **params: Any) -> Completion:
        """Ask the model under test."""
        ...

    async def judge(self, messages: Sequence[Message], **params: Any) -> Completion:
        """Ask the judge model."""
        ...


Run = Callable[[Any, Context], Awaitable[Any]]
Aggregate = Callable[[list[dict[str, Any]]], dict[str, Any]]
GradeFn = Callable[[Any, Any], "Grade"]
Reduce = Callable[[Sequence["Grade"]], "Grade"]
Describe = Callable[[Any, "Verdict"], str]


@dataclass(frozen=True)
class Verdict:
    """An item's reduced verdict: one :class:`Grade` per repeat, reduced by the task's rule.

    Report, items file, snapshot and McNemar all use this one verdict per item; the test body
    only asserts ``verdict.passed`` with ``verdict.message``.
    """

    passed: bool
    score: float
    grades: tuple[Grade, ...]
    message: str
    expected: Any = None
    extracted: Any = None

    @property
    def repeats(self) -> int:
        """How many repeats were graded."""
        return len(self.grades)

    def __repr__(self) -> str:
        # short: a failing ``assert verdict.passed`` puts this repr in its explanation
        return f"Verdict(passed={self.passed}, score={self.score:g}, repeats={self.repeats})"


@dataclass(frozen=True)
class Task:
    """A benchmark's declaration; see the module docstring.

    ``grade(item, result)`` grades one repeat (``result`` is a :class:`Completion` for
    single-turn tasks, or what ``run`` returned) and ``reduce`` folds the repeats' grades into
    the item's verdict (default :func:`benchgate.reduce.majority`: majority vote for pass/fail,
    mean for scores). ``run`` replaces the default single chat call (multi-turn and judged
    benchmarks); ``aggregate`` maps the per-repeat records to ``{"metrics": {...},
    "by_category": {...}}`` (optionally ``"score"`` and extra report keys) beyond the default
    mean of scores; ``metrics`` names every metric the aggregate reports besides ``metric``
    (``fnmatch`` patterns allowed, e.g. ``"pass@*"``), so a threshold on an unknown metric is
    refused before any call; ``pass_mark`` makes ``--pass-mark`` decide ``passed`` from a judge
    score; ``describe(item, verdict)`` writes the failure line; ``sim_reply(item, correct)`` or
    ``sim_key(item)`` let the simulator answer, ``sim_judge`` (a
    :func:`benchgate.simjudge.simulated_judge` beside the judge prompt's builder) lets it
    judge. An extractive benchmark gives ``extractive``
    (:class:`benchgate.extractive.Extractive`: extraction and comparison) instead of ``grade``,
    so that ``--grader`` can swap the extraction.
    """

    name: str
    load: Callable[[DataSource], Sequence[Any]]
    grade: GradeFn | None = None
    messages: Callable[[Any], list[Message]] | None = None
    run: Run | None = None
    reduce: Reduce | None = None
    describe: Describe | None = None
    max_tokens: int = 1024
    metric: str = "accuracy"
    metrics: tuple[str, ...] = ()
    proportion: bool = True
    pass_mark: bool = False
    aggregate: Aggregate | None = None
    sim_reply: Callable[[Any, bool], str] | None = None
    sim_key: Callable[[Any], dict[str, list[str]]] | None = None
    needs_judge: bool = False
    sim_judge: SimulatedJudge | None = None
    extractive: Extractive | None = None
    smoke: tuple[str, ...] = ()  # ids --smoke runs (at most 5; default: benchgate.smoke's rule)

    def __post_init__(self) -> None:
        if self.grade is None and self.extractive is None:
            raise TypeError(f"task {self.name} needs grade= or extractive=")
        if len(self.smoke) > 5:
            raise TypeError(f"task {self.name}: smoke= names {len(self.smoke)} items, at most 5")

    def __call__(self, fn: Callable[..., None]) -> Callable[..., None]:
        """Mark ``fn`` as this task's test."""
        marked: Callable[..., None] = pytest.mark.benchgate(task=self)(fn)
        return marked

    async def execute(self, item: Any, ctx: Context) -> Any:
        """Run one item: the task's own ``run`` or one chat call with ``messages(item)``."""
        if self.run is not None:
            return await self.run(item, ctx)
        if self.messages is None:
            raise TypeError(f"task {self.name} needs either messages= or run=")
        return await ctx.chat(self.messages(item))

    def knows_metric(self, name: str) -> bool:
        """Whether a gate may name ``name`` (``score``, the headline or a declared metric)."""
        return name in ("score", self.metric) or any(
            fnmatch.fnmatchcase(name, pattern) for pattern in self.metrics)

    def sim_answers(self, item: Any) -> dict[str, list[str]]:
        """Last user message -> [correct reply, wrong reply], for the simulator's answer key.

        ``sim_key(item)`` gives the whole mapping (multi-turn tasks: one entry per turn);
        otherwise it is built from ``messages`` and ``sim_reply``."""
        if self.sim_key is not None:
            return self.sim_key(item)
        if self.sim_reply is None or self.messages is None:
            return {}
        user = [m["content"] for m in self.messages(item) if m.get("role") == "user"]
        if not user or not isinstance(user[-1], str):
            return {}
        return {user[-1]: [self.sim_reply(item, True), self.sim_reply(item, False)]}


_TASK = pytest.StashKey["Task | None"]()


def task_of(node: pytest.Item) -> Task | None:
    """The :class:`Task` a collected test belongs to, if any."""
    try:
        return node.stash[_TASK]
    except KeyError:
        pass
    marker = node.get_closest_marker("benchgate")
    task = marker.kwargs.get("task") if marker is not None else None
    found = node.stash[_TASK] = task if isinstance(task, Task) else None
    return found
