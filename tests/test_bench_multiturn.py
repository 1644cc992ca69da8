"""multiturn: case schema errors, grader checks, and whole pytest sessions on the shipped cases
and on a user's own folder (``--multiturn-cases`` / ``BENCHGATE_MULTITURN_CASES``)."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchgate.errors import DataError
from benchmarks.multiturn.cases import ABILITIES, BUILTIN, load_folder
from graders.multiturn import Checks, check_reply, example_replies, grade_multiturn

Run = Callable[..., pytest.RunResult]
XDIST = [pytest.param([], id="serial"), pytest.param(["-n", "2"], id="xdist")]
GOOD = """\
- id: {id}
  ability: perceptivity
  sub_ability: context_memory
  turns: ["My cat is called Miso.", {{assistant: "Cute name!"}}, "What is my cat called?"]
  checks: {{contains: Miso, max_words: 10}}
"""
USER_CASES = """\
- id: mine-fixed
  ability: perceptivity
  sub_ability: context_memory
  turns: ["My cat is called Miso.", {assistant: "Cute name!"}, "Cat's name? One word."]
  checks: {contains: Miso, max_words: 3}
- id: mine-asked
  ability: adaptability
  sub_ability: rephrasing
  turns: ["Say hello in French.", "Now in Spanish, one word."]
  checks: {regex: '^\\W*hola\\W*$'}
"""


def jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def section(root: Path) -> dict[str, Any]:
    report = json.loads((root / "results" / "sim" / "report.json").read_text())
    result: dict[str, Any] = report["benchmarks"]["multiturn"]
    return result


def write_cases(folder: Path, text: str, name: str = "cases.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


# -- schema ------------------------------------------------------------------------------
BAD = [  # (replacement in GOOD's case, field named in the error, words of the problem)
    ("  ability: perceptivity", "  ability: perception", "ability", "must be one of"),
    ("  ability: perceptivity\n", "", "ability", "must be one of"),
    ("  sub_ability: context_memory", "  sub_ability: Context Memory", "sub_ability", "snake_case"),
    ('  turns: ["My cat is called Miso.", {assistant: "Cute name!"}, "What is my cat called?"]',
     "  turns: []", "turns", "non-empty list"),
    ('{assistant: "Cute name!"}', '{bot: "Cute name!"}', "turns[1]", "{assistant: ...}"),
    ('"My cat is called Miso.", ', '{assistant: "Hi"}, ', "turns[0]", "must follow a user"),
    (', "What is my cat called?"]', "]", "turns[1]", "last turn must be a user"),
    ('"What is my cat called?"', '""', "turns[2]", "non-empty string"),
    ("contains: Miso,", "includes: Miso,", "checks.includes", "unknown check"),
    ("contains: Miso,", "regex: '(unclosed',", "checks.regex[0]", "invalid regular expression"),
    ("max_words: 10", "max_words: -3", "checks.max_words", "positive integer"),
    ("max_words: 10", "max_words: 10, ignore_case: maybe", "checks.ignore_case", "true or false"),
    ("contains: Miso,", "contains: [Miso, 3],", "checks.contains[1]", "non-empty string"),
    ("  checks: {contains: Miso, max_words: 10}", "  checks: {ignore_case: true}", "checks",
     "no check"),
    ("  checks: {contains: Miso, max_words: 10}", "", "checks", "needs checks, a rubric"),
    ("  checks: {contains: Miso, max_words: 10}", "  rubric: {criteria: x, score1_description: y}",
     "rubric.score2_description", "non-empty string"),
    ("  checks: {contains: Miso, max_words: 10}", "  rubric: {criteria: x, hint: y}",
     "rubric.hint", "unknown key"),
    ("  checks: {contains: Miso, max_words: 10}", "  rubric: [a, b]", "rubric", "mapping of criteria"),
    ("  ability: perceptivity", "  ability: perceptivity\n  reference: [x]", "reference",
     "non-empty string"),
    ("  ability: perceptivity", "  ability: perceptivity\n  system: 3", "system", "non-empty string"),
    ("  ability: perceptivity", "  ability: perceptivity\n  weight: 2", "weight", "unknown field"),
]


@pytest.mark.parametrize(("old", "new", "field", "problem"), BAD,
                         ids=[f"{b[2]}-{i}" for i, b in enumerate(BAD)])
def test_schema_error_names_file_case_and_field(tmp_path: Path, old: str, new: str, field: str,
                                                problem: str) -> None:
    good = GOOD.format(id="cat-1")
    assert old in good
    write_cases(tmp_path, good.replace(old, new, 1))
    with pytest.raises(DataError) as err:
        load_folder(tmp_path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("multiturn: ") and "cases.yaml: case 'cat-1': " in message
    assert f"field {field!r}: " in message and problem in message


@pytest.mark.parametrize(("text", "words"), [
    ("- id: 'two words'\n  ability: adaptability\n", ["case 'two words'", "field 'id'"]),
    ("- ability: adaptability\n", ["case #1", "field 'id'"]),
    ("- [not, a, mapping]\n", ["case #1", "must be a mapping"]),
    ("cases: {id: x}\n", ["expected a list of cases"]),
    ("- id: a\n  turns: [\n", ["invalid YAML at line"]),
])
def test_file_level_errors_are_one_line(tmp_path: Path, text: str, words: list[str]) -> None:
    write_cases(tmp_path, text, name="mine.yml")
    with pytest.raises(DataError) as err:
        load_folder(tmp_path)
    assert "\n" not in str(err.value) and "mine.yml" in str(err.value)
    assert all(w in str(err.value) for w in words), str(err.value)


def test_duplicate_ids_and_empty_folders(tmp_path: Path) -> None:
    write_cases(tmp_path, GOOD.format(id="same"), "a.yaml")
    write_cases(tmp_path, GOOD.format(id="same"), "b.yaml")
    with pytest.raises(DataError, match=r"b\.yaml: case 'same': field 'id': duplicate \(also in a"):
        load_folder(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no \*\.yaml case files in .*empty"):
        load_folder(tmp_path / "empty")
    with pytest.raises(DataError, match="not a directory"):
        load_folder(tmp_path / "missing")


# -- shipped cases and grader ------------------------------------------------------------
def test_shipped_cases_cover_every_ability_and_the_simulator_can_answer_them() -> None:
    cases, digests = load_folder(BUILTIN)
    assert 28 <= len(cases) <= 40 and set(digests) == {f"{a}.yaml" for a in ABILITIES}
    subs = Counter(c.sub_ability for c in cases)
    for sub in ("context_memory", "anaphora", "topic_shift", "self_correction", "rephrasing",
                "clarification", "refusal"):
        assert subs[sub] >= 3, sub
    users = Counter(text for c in cases for role, text in c.turns if role == "user")
    assert max(users.values()) == 1  # the simulator keys its answers on the user message
    assert any(c.rubric and c.checks for c in cases) and any(c.rubric and not c.checks for c in cases)
    for case in cases:
        good, bad = example_replies(case.checks, case.reference)
        if case.checks:
            assert check_reply(good, case.checks) == [], case.id
            assert check_reply(bad, case.checks), case.id
        if case.reference and case.checks:
            assert check_reply(case.reference, case.checks) == [], case.id


def test_checks_and_grade() -> None:
    checks = Checks(contains=("Miso",), not_contains=("dog",), regex=(r"\bcat\b",), max_words=5)
    assert check_reply("Your CAT is miso.", checks) == []
    assert check_reply("Your dog, not cat, is Rex and that is final", checks) == [
        "missing 'Miso'", "contains 'dog'", "10 words > 5"]
    strict = Checks(contains=("Miso",), regex=("^[a-z ]+$",), ignore_case=False)
    assert check_reply("miso IS HERE", strict) == ["missing 'Miso'", "no match for /^[a-z ]+$/"]
    grade = grade_multiturn("Miso the cat.", checks, 3, rubric=True)
    assert not grade.passed and grade.score == 0.0 and grade.detail == "judge 3/5 < 4"
    assert grade.metrics == {"checks_passed": True, "judge_score": 3}
    assert "judge >= 4/5" in grade.expected and "at most 5 words" in grade.expected
    assert grade_multiturn("anything", None, 4, rubric=True).passed
    with pytest.raises(ValueError, match="judge's score"):
        grade_multiturn("anything", None, None, rubric=True)


# -- sessions ------------------------------------------------------------------------------
@pytest.mark.parametrize("xdist", XDIST)
def test_sim_session_report_and_items(run_bench: Run, pytester: pytest.Pytester,
                                      xdist: list[str]) -> None:
    result = run_bench("--model", "sim", "--judge", "sim", "--data", "sample", *xdist,
                       benchmark="multiturn")
    cases = {c.id: c for c in load_folder(BUILTIN)[0]}
    sec = section(pytester.path)
    outcomes = result.parseoutcomes()
    assert sec["n"] == len(cases) and sec["errors"] == 0 and sec["metric"] == "score"
    assert outcomes.get("passed", 0) + outcomes.get("xpassed", 0) == sec["passed"] > 0
    assert outcomes.get("xfailed", 0) == sec["failed"] > 0  # the shipped sim baseline
    assert "failed" not in outcomes and result.ret == 0
    assert sec["score"] == pytest.approx(sec["passed"] / sec["n"]) == sec["metrics"]["score"]
    assert sec["ci95"][0] < sec["score"] < sec["ci95"][1]
    assert set(sec["by_category"]) == set(ABILITIES)
    assert sum(v["n"] for v in sec["by_category"].values()) == len(cases)
    memory = sec["by_category"]["perceptivity"]["sub_abilities"]["context_memory"]
    assert memory["score"] == sec["metrics"]["perceptivity.context_memory"] and memory["n"] == 5
    assert sec["run"]["judge"]["name"] == "sim"
    assert set(sec["run"]["data"]["files"]) == {f"{a}.yaml" for a in ABILITIES}
    items = {r["id"]: r for r in jsonl(pytester.path / "results" / "sim" / "multiturn.items.jsonl")}
    assert set(items) == set(cases)
    for case_id, rec in items.items():
        case = cases[case_id]
        assert rec["category"] == case.ability and rec["metrics"]["sub_ability"] == case.sub_ability
        assert rec["messages"][-1] == {"role": "user", "content": case.final_user}
        asked = sum(1 for i, (role, _) in enumerate(case.turns) if role == "user" and (
            i + 1 == len(case.turns) or case.turns[i + 1][0] == "user"))
        replies = rec["response"] if isinstance(rec["response"], list) else [rec["response"]]
        assert len(replies) == asked, case_id
        fixed = [{"role": "assistant", "content": t} for r, t in case.turns if r == "assistant"]
        assert all(m in rec["messages"] for m in fixed)  # fixed turns inserted verbatim
        good = example_replies(case.checks, case.reference)[0]
        if case.rubric is None:
            assert rec["judge"] is None and (rec["outcome"] == "passed") == (replies[-1] == good)
        else:
            score = rec["metrics"]["judge_score"]
            assert 1 <= score <= 5 and "[RESULT]" in rec["judge"]["raw"]
            assert rec["outcome"] == ("passed" if score >= 4 and (
                not case.checks or replies[-1] == good) else "failed")


def test_user_folder_by_option_and_responses(run_bench: Run, pytester: pytest.Pytester) -> None:
    folder = write_cases(pytester.path / "mine", USER_CASES)
    rows = [{"id": "mine-fixed", "responses": ["Miso"]},
            {"id": "mine-asked", "responses": ["Bonjour", "¡Hola!"]}]
    responses = pytester.path / "replies.jsonl"
    responses.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = run_bench("--model", "sim", "--multiturn-cases", "mine", "--responses", str(responses),
                       benchmark="multiturn")
    assert result.ret == 0, result.stdout.str()
    sec = section(pytester.path)
    assert sec["n"] == 2 and sec["passed"] == 2 and sec["score"] == 1.0
    assert set(sec["run"]["data"]["files"]) == {"cases.yaml"} and folder.is_dir()
    items = {r["id"]: r for r in jsonl(pytester.path / "results" / "sim" / "multiturn.items.jsonl")}
    assert items["mine-asked"]["response"] == ["Bonjour", "¡Hola!"]
    assert items["mine-fixed"]["messages"][1] == {"role": "assistant", "content": "Cute name!"}


def test_user_folder_by_env_under_xdist(run_bench: Run, pytester: pytest.Pytester,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    write_cases(pytester.path / "env-cases", USER_CASES)
    monkeypatch.setenv("BENCHGATE_MULTITURN_CASES", str(pytester.path / "env-cases"))
    result = run_bench("--model", "sim", "--data", "sample", "-n", "2", benchmark="multiturn")
    assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    items = jsonl(pytester.path / "results" / "sim" / "multiturn.items.jsonl")
    assert sorted(r["id"] for r in items) == ["mine-asked", "mine-fixed"]
    assert section(pytester.path)["n"] == 2


def test_bad_user_folder_is_a_one_line_usage_error(run_bench: Run,
                                                   pytester: pytest.Pytester) -> None:
    write_cases(pytester.path / "bad", GOOD.format(id="cat-1").replace("perceptivity", "memory"))
    result = run_bench("--model", "sim", "--multiturn-cases", "bad", benchmark="multiturn")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: benchgate: multiturn: bad*cases.yaml: case 'cat-1': "
                                 "field 'ability': must be one of perceptivity, adaptability, "
                                 "interactivity, got 'memory'"])
