"""LiveBench: contamination-limited questions with objective answers (White et al. 2024,
"LiveBench: A Challenging, Contamination-Limited LLM Benchmark", arXiv:2406.19314).

Reference: LiveBench/LiveBench. ``gen_api_answer.py`` sends ``turns[0]`` as the only user message,
after the question's ``system_prompt`` when it has one, at temperature 0 with max_tokens 4096.
``common.load_questions`` picks the question set of ``--livebench-release-option``. Its default
is the latest release, which leaves the active questions (``livebench_removal_date`` empty), and
that is the default here too. ``--livebench-release DATE|all`` is in this folder's conftest.
Scoring follows ``gen_ground_truth_judgment.py`` in :mod:`graders.livebench`. ``score`` is
``show_livebench_result.py``'s average, on a 0-1 scale: the mean over categories of the mean
over tasks of the item scores. ``by_category`` and ``by_task`` come with it. An item passes
only at full credit.

Data: HF ``livebench/{math,reasoning,data_analysis,instruction_following}``, split test,
revision ``main``. No full commit hash of their 2025 revisions could be found offline. With
``--data-dir``, the files are ``DIR/livebench/<category>/<task>/question.jsonl``, laid out as
upstream's ``data/live_bench``. The 13 tasks graded here are listed in
:data:`graders.livebench.CATEGORIES`. Other tasks, such as coding, language and newer ones,
are skipped. Item ids are ``question_id``. Instruction following needs NLTK's Punkt
(``NLTK_DATA``).
"""

from __future__ import annotations

import ast
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from benchgate import Completion, Grade, Task, Verdict
from benchgate.data import DataSource, Hub
from benchgate.errors import DataError
from benchmarks.ifeval.simulate import follow, violate
from benchmarks.livebench import release
from graders.ifeval_util import PUNKT_HINT, punkt_available
from graders.livebench import CATEGORIES, aggregate_livebench, grade_livebench
from graders.livebench_reasoning import ZEBRA_NEW_FORMAT_DATE

TASKS: dict[str, list[str]] = {}
for _task, _category in CATEGORIES.items():
    TASKS.setdefault(_category, []).append(_task)
HUBS = {c: Hub(repo=f"livebench/{c}", revision="main", split="test") for c in TASKS}
DATES = ("livebench_release_date", "livebench_removal_date", "release_date")


@dataclass(frozen=True)
class Question:
    """One LiveBench question; ``row`` is the upstream row, which the grader reads."""

    id: str
    category: str
    task: str
    prompt: str
    ground_truth: str
    system: str | None = None
    row: Mapping[str, Any] = field(default_factory=dict, repr=False)


def _date(value: Any) -> str:
    if isinstance(value, dt.date):  # the hub copy may hold datetimes, as upstream converts
        return value.strftime("%Y-%m-%d")
    return "" if value is None else str(value)


def in_release(row: Mapping[str, Any], option: str | None) -> bool:
    """Upstream's filter: released by ``option`` and not removed by it (None = latest)."""
    if option == "all":
        return True
    removed = row.get("livebench_removal_date") or ""
    if option is None:
        return removed == ""
    return row["livebench_release_date"] <= option and (removed == "" or removed > option)


def _rows(data: DataSource, category: str) -> list[dict[str, Any]]:
    if data.kind == "hub":
        return data.rows(category, hub=HUBS[category])
    names = [f"{category}/{task}/question.jsonl" for task in TASKS[category]]
    return [row for name in names if data.path(name).exists() for row in data.rows(name)]


def load_items(data: DataSource) -> list[Question]:
    """The question set of the chosen release for the graded tasks; ids = ``question_id``."""
    option, items = release(), []
    for category in TASKS:
        for raw in _rows(data, category):
            if raw.get("task") not in CATEGORIES:
                continue
            row = {**raw, **{k: _date(raw[k]) for k in DATES if k in raw}}
            try:
                if not in_release(row, option):
                    continue
                turns = list(row["turns"])
                items.append(Question(id=str(row["question_id"]), category=row["category"],
                                      task=row["task"], prompt=turns[0],
                                      ground_truth=str(row.get("ground_truth") or ""),
                                      system=row.get("system_prompt") or None, row=row))
            except (KeyError, IndexError, TypeError) as exc:
                raise DataError(f"livebench: malformed row {row.get('question_id')!r} "
                                f"({type(exc).__name__}: {exc})") from None
    if not items and data.kind != "hub":
        raise DataError(f"livebench: no questions under {data.path('')} (expected "
                        "<category>/<task>/question.jsonl)")
    if any(i.category == "instruction_following" for i in items) and not punkt_available():
        raise DataError(f"livebench instruction_following: {PUNKT_HINT}")
    return items


def build_messages(item: Question) -> list[dict[str, str]]:
    """``turns[0]`` as the user message, after the question's system prompt if any."""
    system = [{"role": "system", "content": item.system}] if item.system else []
    return [*system, {"role": "user", "content": item.prompt}]


def _wrong_word(answer: str) -> str:
    return str(int(answer) + 1) if answer.isdigit() else "nobody"


def sim_reply(item: Question, correct: bool) -> str:
    """A reply in the format the task's scorer reads: right, or wrong (partly wrong where the
    task gives partial credit: olympiad order, zebra answers, join mappings, IF instructions)."""
    truth, task, sub = item.ground_truth, item.task, str(item.row.get("subtask") or "")
    head = sub.split("_")
    if item.category == "instruction_following":
        ids = list(item.row["instruction_id_list"])
        kwargs = [{k: v for k, v in (kw or {}).items() if v is not None}
                  for kw in item.row["kwargs"]]
        return follow(ids, kwargs) if correct else violate(ids, kwargs)
    if task == "AMPS_Hard":  # "\\ " (a product in the ground truth) is no product in a reply
        value = truth.replace("\\ ", " \\cdot ")
        return f"Simplifying step by step.\n\n$\\boxed{{{value if correct else value + ' + 1'}}}$"
    if head[0] in ("amc", "smc") or head[1:2] == ["amc"]:
        letter = truth if correct else "ABCDE"[("ABCDE".index(truth) + 1) % 5]
        return f"Checking each option in turn.\n\n{letter * 5}"
    if head[0] == "aime":
        value = truth if correct else f"{(int(truth) + 1) % 1000:03d}"
        return f"Working through it step by step.\n\nThe answer is {value}"
    if task == "olympiad":
        ids = truth.split(",")
        ids = ids if correct else ids[::-1] if len(set(ids)) > 1 else [str(int(ids[0]) + 1)]
        return "Matching each formula to its gap.\n\nAnswer: " + ", ".join(i.strip() for i in ids)
    if task == "web_of_lies_v2":
        words = [w.strip() for w in truth.split(",")]
        if not correct:
            words[0] = {"yes": "no", "no": "yes"}.get(words[0], "yes")
        return f"Following each statement in turn.\n\n**{', '.join(words)}**"
    if task == "zebra_puzzle":
        if item.row["livebench_release_date"] < ZEBRA_NEW_FORMAT_DATE:  # one bold word
            word = truth.removesuffix(" movies") if correct else "nobody"
            return f"Placing everyone in the line.\n\n***{word}***"
        answers = [a.strip() for a in truth.split(",")]
        answers[0] = answers[0] if correct else _wrong_word(answers[0])
        return f"Placing everyone in the line.\n\n<solution>{', '.join(answers)}</solution>"
    if task == "spatial":
        return f"Counting the pieces carefully.\n\n**{truth if correct else _wrong_word(truth)}**"
    if task == "cta":
        classes = re.findall(r"'([^']*)'", item.prompt.split("Classes:")[-1])
        other = [c for c in classes if re.sub(r"[^\w]", "", c.lower()) !=
                 re.sub(r"[^\w]", "", truth.lower())]
        return truth if correct else (other or ["unknown_class"])[0]
    if task == "tablejoin":
        mapping = ast.literal_eval(truth)
        if not correct:
            keys = list(mapping)
            mapping = {k: mapping[k] for k in keys[1:]} if len(keys) > 1 else \
                {k: "wrong_column" for k in keys}
        return f"```python\n{mapping!r}\n```"
    return truth if correct else truth[: len(truth) // 2]  # tablereformat: or a cut-off table


def grade(item: Question, response: Completion) -> Grade:
    """The task's upstream scorer; passed = full credit."""
    return grade_livebench(response.text, item.task, item.ground_truth, item.row)


def _short(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def describe(item: Question, verdict: Verdict) -> str:
    """Category, task, score, expected and extracted, each kept short."""
    return (f"livebench {item.category}/{item.task} {item.id[:12]}: score {verdict.score:.3g}, "
            f"expected {_short(verdict.expected)}, got {_short(verdict.extracted)}")


TASK = Task(name="livebench", load=load_items, messages=build_messages, grade=grade,
            describe=describe, max_tokens=4096, metric="score", metrics=("*",),
            aggregate=aggregate_livebench, sim_reply=sim_reply)


@TASK
def test_livebench(item: Question, verdict: Verdict) -> None:
    assert verdict.passed, verdict.message
