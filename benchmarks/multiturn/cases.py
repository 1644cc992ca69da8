"""The multiturn case schema: YAML files of cases, validated when collected.

A case file holds a list of cases (or a mapping with a ``cases`` list). One case::

    - id: memory-locker-code            # unique across the folder; the pytest id
      ability: perceptivity             # perceptivity | adaptability | interactivity
      sub_ability: context_memory       # snake_case tag (context_memory, anaphora, ...)
      system: "..."                     # optional system message
      turns:                            # user turns; {assistant: ...} entries are fixed
        - "The locker code is 4729."    #   history inserted verbatim instead of asking
        - assistant: "Got it."          #   the model; the last turn is a user turn
        - "What was the code?"
      checks:                           # deterministic checks on the final reply
        contains: ["4729"]              #   str or list: all must occur
        not_contains: []                #   none may occur
        regex: '\\b4729\\b'               #   str or list: all must match (re.search)
        max_words: 10
        ignore_case: true               #   default true
      rubric:                           # Prometheus 1-5 rubric (text, or criteria +
        criteria: "..."                 #   score1_description ... score5_description);
        score1_description: "..."       #   the judge must give >= 4
      reference: "The code is 4729."    # optional: the judge's score-5 reference answer

A case needs ``checks`` or ``rubric`` (both: both must pass). Any problem is a
:class:`~benchgate.errors.DataError` naming the file, the case and the field.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from benchgate.errors import DataError
from graders.judge import format_rubric
from graders.multiturn import CHECK_FIELDS, Checks

ABILITIES = ("perceptivity", "adaptability", "interactivity")
FIELDS = ("id", "ability", "sub_ability", "system", "turns", "checks", "rubric", "reference")
ROLES = ("user", "assistant")
ENV_VAR = "BENCHGATE_MULTITURN_CASES"
BUILTIN = Path(__file__).resolve().parent / "cases"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_TAG = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Case:
    """One multi-turn case; ``turns`` are (role, text) pairs; ``rubric`` is the rubric text."""

    id: str
    ability: str
    sub_ability: str
    turns: tuple[tuple[str, str], ...]
    checks: Checks | None = None
    rubric: str | None = None
    reference: str | None = None
    system: str | None = None

    @property
    def category(self) -> str:
        """The ability (the report's ``by_category``)."""
        return self.ability

    @property
    def final_user(self) -> str:
        """The last user message: the one whose reply is graded."""
        return self.turns[-1][1]


class _Bad(Exception):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(field, problem)
        self.field, self.problem = field, problem


def _text(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad(field, f"must be a non-empty string, got {value!r}")
    return value


def _strings(value: Any, field: str) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list):
        raise _Bad(field, f"must be a string or a list of strings, got {value!r}")
    return tuple(_text(v, f"{field}[{i}]") for i, v in enumerate(values))


def _turns(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list) or not value:
        raise _Bad("turns", "must be a non-empty list of user messages")
    turns: list[tuple[str, str]] = []
    for i, entry in enumerate(value):
        field = f"turns[{i}]"
        if isinstance(entry, str):
            turns.append(("user", _text(entry, field)))
        elif isinstance(entry, Mapping) and len(entry) == 1 and next(iter(entry)) in ROLES:
            role, text = next(iter(entry.items()))
            turns.append((role, _text(text, f"{field}.{role}")))
        else:
            raise _Bad(field, f"must be a string (user turn) or one of {{user: ...}}, "
                              f"{{assistant: ...}}, got {entry!r}")
        if turns[-1][0] == "assistant" and (i == 0 or turns[-2][0] == "assistant"):
            raise _Bad(field, "a fixed assistant turn must follow a user turn")
    if turns[-1][0] != "user":
        raise _Bad(f"turns[{len(turns) - 1}]", "the last turn must be a user turn")
    return tuple(turns)


def _checks(value: Any) -> Checks:
    if not isinstance(value, Mapping) or not value:
        raise _Bad("checks", f"must be a mapping with some of {', '.join(CHECK_FIELDS)}")
    unknown = sorted(set(value) - set(CHECK_FIELDS))
    if unknown:
        raise _Bad(f"checks.{unknown[0]}", f"unknown check (valid: {', '.join(CHECK_FIELDS)})")
    ignore_case = value.get("ignore_case", True)
    if not isinstance(ignore_case, bool):
        raise _Bad("checks.ignore_case", f"must be true or false, got {ignore_case!r}")
    regex = _strings(value.get("regex", []), "checks.regex")
    for i, pattern in enumerate(regex):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _Bad(f"checks.regex[{i}]", f"invalid regular expression {pattern!r}: {exc}") from None
    max_words = value.get("max_words")
    if max_words is not None and (isinstance(max_words, bool) or not isinstance(max_words, int)
                                  or max_words < 1):
        raise _Bad("checks.max_words", f"must be a positive integer, got {max_words!r}")
    checks = Checks(contains=_strings(value.get("contains", []), "checks.contains"),
                    not_contains=_strings(value.get("not_contains", []), "checks.not_contains"),
                    regex=regex, max_words=max_words, ignore_case=ignore_case)
    if not checks:
        raise _Bad("checks", "has no check (contains, not_contains, regex or max_words)")
    return checks


def _rubric(value: Any) -> str:
    if isinstance(value, str):
        return _text(value, "rubric")
    if not isinstance(value, Mapping):
        raise _Bad("rubric", "must be text or a mapping of criteria and score1_description "
                             "... score5_description")
    keys = ["criteria"] + [f"score{n}_description" for n in range(1, 6)]
    extra = sorted(set(value) - set(keys))
    if extra:
        raise _Bad(f"rubric.{extra[0]}", f"unknown key (valid: {', '.join(keys)})")
    for key in keys:
        _text(value.get(key), f"rubric.{key}")
    return format_rubric({k: str(v) for k, v in value.items()})


def parse_case(raw: Any) -> Case:
    """One validated case; raises ``_Bad(field, problem)``."""
    if not isinstance(raw, Mapping):
        raise _Bad("-", f"a case must be a mapping, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise _Bad(unknown[0], f"unknown field (valid: {', '.join(FIELDS)})")
    case_id = raw.get("id")
    if isinstance(case_id, int) and not isinstance(case_id, bool):
        case_id = str(case_id)
    if not isinstance(case_id, str) or not _ID.fullmatch(case_id):
        raise _Bad("id", f"must be letters, digits, '_', '.', '-', got {raw.get('id')!r}")
    ability = raw.get("ability")
    if ability not in ABILITIES:
        raise _Bad("ability", f"must be one of {', '.join(ABILITIES)}, got {ability!r}")
    sub = raw.get("sub_ability")
    if not isinstance(sub, str) or not _TAG.fullmatch(sub):
        raise _Bad("sub_ability", f"must be a snake_case tag such as context_memory, got {sub!r}")
    if raw.get("checks") is None and raw.get("rubric") is None:
        raise _Bad("checks", "a case needs checks, a rubric, or both")
    return Case(id=case_id, ability=ability, sub_ability=sub, turns=_turns(raw.get("turns")),
                checks=None if raw.get("checks") is None else _checks(raw["checks"]),
                rubric=None if raw.get("rubric") is None else _rubric(raw["rubric"]),
                reference=None if raw.get("reference") is None else _text(raw["reference"],
                                                                          "reference"),
                system=None if raw.get("system") is None else _text(raw["system"], "system"))


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_file(path: Path) -> list[Case]:
    """The cases of one YAML file."""
    where = f"multiturn: {_shown(path)}"
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{where}: cannot read ({exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise DataError(f"{where}: invalid YAML{at}: {problem}") from None
    raw_cases = doc.get("cases") if isinstance(doc, Mapping) and set(doc) == {"cases"} else doc
    if not isinstance(raw_cases, list):
        raise DataError(f"{where}: expected a list of cases (or a mapping with a 'cases' list)")
    cases = []
    for n, raw in enumerate(raw_cases, 1):
        try:
            cases.append(parse_case(raw))
        except _Bad as bad:
            name = raw.get("id") if isinstance(raw, Mapping) and raw.get("id") is not None else None
            label = f"case {name!r}" if name is not None else f"case #{n}"
            raise DataError(f"{where}: {label}: field {bad.field!r}: {bad.problem}") from None
    return cases


def load_folder(folder: Path) -> tuple[list[Case], dict[str, str]]:
    """All cases of ``folder/*.yaml`` (and ``*.yml``), by file name, and each file's SHA-256."""
    if not folder.is_dir():
        raise DataError(f"multiturn: cases folder {_shown(folder)} is not a directory")
    files = sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if not files:
        raise DataError(f"multiturn: no *.yaml case files in {_shown(folder)}")
    cases: list[Case] = []
    seen: dict[str, str] = {}
    digests = {}
    for path in files:
        digests[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        for case in load_file(path):
            if case.id in seen:
                raise DataError(f"multiturn: {_shown(path)}: case {case.id!r}: field 'id': "
                                f"duplicate (also in {seen[case.id]})")
            seen[case.id] = path.name
            cases.append(case)
    return cases, digests


_user_folder: str | None = None


def set_user_folder(folder: str | None) -> None:
    """``--multiturn-cases DIR`` (set by this benchmark's conftest)."""
    global _user_folder
    _user_folder = folder


def cases_folder(kind: str, root: Path | None) -> Path:
    """Where the cases come from: ``--multiturn-cases``, then ``$BENCHGATE_MULTITURN_CASES``,
    then ``DIR/multiturn/`` for ``--data-dir DIR`` when it exists, else the shipped cases (for
    every data source: hub, sample and dir)."""
    chosen = _user_folder or os.environ.get(ENV_VAR)
    if chosen:
        return Path(chosen)
    if kind == "dir" and root is not None and (root / "multiturn").is_dir():
        return root / "multiturn"
    return BUILTIN
