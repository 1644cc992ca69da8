"""Extractive benchmarks and ``--grader regex|llm|cmd:COMMAND``.

An extractive benchmark (GSM8K, AIME, MMLU-Pro, TruthfulQA MC1, ARC-Challenge) declares its
grading in two parts, :class:`Extractive`: ``extract`` reads the final answer out of the
response (the benchmark's regex reader), ``compare`` grades an answer with the benchmark's own
normaliser against the reference. ``--grader`` swaps the extraction without the benchmark
knowing: ``regex`` (default) uses ``extract``; ``llm`` asks the judge for the final answer as
JSON (:mod:`benchgate.grader_llm`), then ``normalise`` + ``compare``; ``cmd:COMMAND`` hands
each response to a command that returns the verdict (:mod:`benchgate.grader_cmd`); any other
value goes to the ``pytest_benchgate_make_grader`` hook, whose :data:`Grader` plugs in at the
same point (:mod:`benchgate.grader_plugin`).

Grading stays a pure function of the item and the task's result: the extractor's reply (or the
command's verdict) is part of the result, produced by the item's run coroutine, so an extractor
that fails is an infrastructure error of the item, never a model failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from benchgate.errors import ConfigError
from benchgate.grade import Grade
from benchgate.task import Completion, Context

if TYPE_CHECKING:
    from benchgate.task import Task

SHIPPED = ("aime2025", "arc_challenge", "gsm8k", "mmlu_pro", "truthfulqa")
"""The shipped benchmarks that declare :class:`Extractive` (named in ``--grader`` errors)."""


@dataclass(frozen=True)
class Extractive:
    """An extractive benchmark's grading, split so that ``--grader`` can swap the extraction.

    ``extract(item, text)`` is the answer read from the response (None: none found);
    ``compare(item, answer, text)`` grades it (``compare(item, None, text)`` grades an
    unextracted answer, and its ``expected`` is the reference); ``normalise(item, answer)``
    turns an answer string from an extractor into what ``compare`` takes (default:
    ``extract`` applied to that string).
    """

    extract: Callable[[Any, str], Any]
    compare: Callable[[Any, Any, str], Grade]
    normalise: Callable[[Any, str], Any] | None = None

    def grade(self, item: Any, response: Completion) -> Grade:
        """The ``regex`` grade: ``compare(item, extract(item, text), text)``."""
        return self.compare(item, self.extract(item, response.text), response.text)

    def from_answer(self, item: Any, answer: str | None, text: str) -> Grade:
        """The grade of an answer another extractor read from ``text``."""
        if answer is None:
            return self.compare(item, None, text)
        value = (self.normalise or self.extract)(item, answer)
        return self.compare(item, value, text)


@dataclass(frozen=True)
class Extracted:
    """A response with the answer the judge extracted from it (``judgments``: its replies)."""

    turns: Sequence[Completion]
    judgments: Sequence[Completion]
    answer: str | None


@dataclass(frozen=True)
class CommandGraded:
    """A response with the grading command's verdict."""

    turns: Sequence[Completion]
    passed: bool
    extracted: str
    score: float
    judgments: Sequence[Completion] = field(default_factory=tuple)


Grader = Callable[[str, Any, Completion, Any], Grade | Awaitable[Grade]]
"""A plugin's grader (``pytest_benchgate_make_grader``): ``(benchmark, item, response,
expected)`` to a :class:`Grade`, or an awaitable of one."""


@dataclass(frozen=True)
class PluginGraded:
    """A response with the grade a plugin's grader gave it."""

    turns: Sequence[Completion]
    grade: Grade
    judgments: Sequence[Completion] = field(default_factory=tuple)


@dataclass(frozen=True)
class GraderChoice:
    """The parsed ``--grader``: ``kind`` is ``regex``, ``llm``, ``cmd`` (with ``command``) or
    ``plugin`` (``command`` is the value, ``plugin`` the hook's grader)."""

    kind: str = "regex"
    command: str = ""
    explicit: bool = False
    plugin: Grader | None = field(default=None, compare=False)

    def describe(self) -> str:
        """How the report's ``run`` block names it: ``regex``, ``llm``, ``cmd:COMMAND`` or a
        plugin's value."""
        return {"cmd": f"cmd:{self.command}", "plugin": self.command}.get(self.kind, self.kind)


def parse_grader(value: str | None, explicit: bool,
                 make: Callable[[str], Any] | None = None) -> GraderChoice:
    """``--grader`` text to a :class:`GraderChoice`; :class:`ConfigError` when malformed.
    ``make(text)`` (the ``pytest_benchgate_make_grader`` hook) is asked for any other value."""
    text = (value or "regex").strip()
    if text in ("regex", "llm"):
        return GraderChoice(text, explicit=explicit)
    if text.startswith("cmd:") and text[4:].strip():
        return GraderChoice("cmd", text[4:].strip(), explicit=explicit)
    grader = make(text) if make is not None and text else None
    if grader is not None and not callable(grader):
        raise ConfigError(f"--grader {text!r}: pytest_benchgate_make_grader returned "
                          f"{type(grader).__name__}, not a callable grader")
    if grader is not None:
        return GraderChoice("plugin", text, explicit=explicit, plugin=grader)
    raise ConfigError(f"--grader {text!r}: use regex, llm or cmd:COMMAND (a shell command that "
                      "reads one JSON object per item on stdin), or a value a plugin's "
                      "pytest_benchgate_make_grader hook accepts (none did)")


def grader_problem(grader: GraderChoice, task: Task, has_judge: bool) -> str | None:
    """Why ``task`` cannot run under ``grader`` (a usage error), or None."""
    if grader.explicit and task.extractive is None:
        return (f"--grader {grader.describe()}: {task.name} is not extractive; --grader works "
                f"with {', '.join(SHIPPED)} (and any benchmark whose Task declares extractive=)")
    if grader.kind == "llm" and task.extractive is not None and not has_judge:
        return ("--grader llm reads answers with the judge: pass --judge NAME (from the models "
                "file), --judge-endpoint URL, or --judge sim")
    return None


async def execute(grader: GraderChoice, task: Task, item: Any, ctx: Context) -> Any:
    """Run one repeat of ``item``: the task's calls, then the grader's extraction if any."""
    result = await task.execute(item, ctx)
    if grader.kind == "regex" or task.extractive is None or not isinstance(result, Completion):
        return result
    if grader.kind == "llm":
        from benchgate.grader_llm import extract_with_judge

        answer, replies = await extract_with_judge(ctx, result)
        return Extracted(turns=(result,), judgments=tuple(replies), answer=answer)
    expected = task.extractive.compare(item, None, result.text).expected
    if grader.plugin is not None:
        from benchgate.grader_plugin import grade_with_plugin

        grade = await grade_with_plugin(grader.plugin, grader.command, task.name, item, result,
                                        expected)
        return PluginGraded(turns=(result,), grade=grade)
    from benchgate.grader_cmd import grade_with_command

    verdict = await grade_with_command(grader.command, task.name, str(item.id), result.text,
                                       expected)
    return CommandGraded(turns=(result,), passed=verdict.passed, extracted=verdict.extracted,
                         score=verdict.score)


def grade_result(task: Task, item: Any, result: Any) -> Grade:
    """One repeat's grade, whichever grader produced ``result`` (a pure function)."""
    ext = task.extractive
    if ext is not None and isinstance(result, Extracted):
        return ext.from_answer(item, result.answer, result.turns[-1].text)
    if ext is not None and isinstance(result, PluginGraded):
        return result.grade
    if ext is not None and isinstance(result, CommandGraded):
        reference = ext.compare(item, None, result.turns[-1].text)
        return Grade(passed=result.passed, score=result.score, expected=reference.expected,
                     extracted=result.extracted, metrics={"unextracted": not result.extracted})
    if task.grade is not None:
        return task.grade(item, result)
    if ext is None:
        raise TypeError(f"task {task.name} declares neither grade= nor extractive=")
    return ext.grade(item, result)
