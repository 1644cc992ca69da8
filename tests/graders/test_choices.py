"""The shared lettered multiple-choice helper and the pure parts of ``--grader``: the options
block, both letter readers, the extractor's answer, the judge's JSON and the command's verdict."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchgate.choices import (
    LetteredQuestion,
    bare_letter,
    grade_letter,
    lettered,
    lettered_prompt,
    options_block,
    read_letter,
    read_letter_reference,
    sim_answer,
)
from benchgate.errors import ConfigError, InfraError
from benchgate.extractive import Extracted, parse_grader
from benchgate.grader_cmd import parse_verdict
from benchgate.grader_llm import extraction_prompt, parse_answer
from benchgate.sim_extract import extraction_reply
from benchgate.task import Completion


def test_options_block_and_prompt() -> None:
    assert options_block(["red", "blue"]) == "A. red\nB. blue"
    with pytest.raises(ValueError, match="at most 26"):
        options_block([str(i) for i in range(27)])
    (message,) = lettered_prompt("Pick one.", "Which colour?", ["red", "blue"])
    assert message == {"role": "user",
                       "content": "Pick one.\n\nQuestion: Which colour?\n\nA. red\nB. blue\n\nAnswer:"}


@pytest.mark.parametrize("text,strict,reference", [
    ("The correct option is G", "G", "G"),
    ("Option G", "G", "G"),
    ("I would go with G.", "G", "G"),
    ("so the answer is (G).", "G", "G"),
    ("I think A lot of people get this wrong.", None, "A"),  # upstream takes any lone letter
    ("the answer is (A) or maybe the answer is (B)", "B", "A"),  # last stated vs first match
    ("**Answer: D**", "D", "D"),
    ("no capital letters here", None, None),
])
def test_strict_and_reference_readers(text: str, strict: str | None,
                                      reference: str | None) -> None:
    assert read_letter(text, 10) == strict
    assert read_letter_reference(text) == reference


@pytest.mark.parametrize("answer,n_options,letter", [
    ("C", 4, "C"), ("(c)", 4, "C"), ("C. Paris", 4, "C"), ("Option C", 4, "C"),
    ("E", 4, None), ("Paris", 4, None), ("", 4, None),
])
def test_bare_letter(answer: str, n_options: int, letter: str | None) -> None:
    assert bare_letter(answer, n_options) == letter


def test_grade_letter_and_lettered_extractive() -> None:
    assert grade_letter("B", "B").passed
    none = grade_letter(None, "B")
    assert not none.passed and none.metrics == {"unextracted": True}
    ext = lettered(lambda item: 4, lambda item: "C")
    assert ext.grade(None, Completion(text="I would go with C.")).passed
    assert not ext.grade(None, Completion(text="A lot of people say B, but who knows")).passed
    assert ext.from_answer(None, "(c)", "whatever").passed
    assert ext.from_answer(None, None, "C").metrics == {"unextracted": True}
    assert sim_answer("D", 4, True) == "The answer is D." and sim_answer("D", 4, False).endswith(" A.")


def test_lettered_reads_a_lettered_question_by_default() -> None:
    item = LetteredQuestion(id="q1", question="Which?", options=("x", "y", "z"), answer="B")
    ext = lettered()
    assert ext.grade(item, Completion(text="The answer is B.")).passed
    assert not ext.grade(item, Completion(text="The answer is C.")).passed
    assert ext.grade(item, Completion(text="The answer is D.")).metrics == {"unextracted": True}


@given(st.text(max_size=200), st.integers(min_value=0, max_value=30))
def test_readers_never_raise_and_stay_in_range(text: str, n_options: int) -> None:
    got = read_letter(text, n_options)
    assert got is None or got in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:n_options]
    ref = read_letter_reference(text)
    assert ref is None or ref in "ABCDEFGHIJ"


@pytest.mark.parametrize("text,parsed", [
    ('{"answer": "18"}', ("18",)), ('```json\n{"answer": 3.5}\n```', ("3.5",)),
    ('{"answer": null}', (None,)), ('{"answer": "  "}', (None,)),
    ('{"answer": true}', None), ('{"final": "18"}', None), ("The answer is 18", None),
    ('["18"]', None),
])
def test_parse_judge_answer(text: str, parsed: tuple[str | None] | None) -> None:
    assert parse_answer(text) == parsed


def test_simulator_answers_the_extraction_prompt() -> None:
    def ask(response: str) -> str | None:
        prompt = "\n".join(m["content"] for m in extraction_prompt("What is 2+2?", response))
        reply = extraction_reply(prompt)
        assert reply is not None
        parsed = parse_answer(reply)
        assert parsed is not None
        return parsed[0]

    assert ask("#### 1. Add\nThe final answer is 4.") == "4"
    assert ask("Answer: (C)") == "C" and ask("so \\boxed{73}") == "73" and ask("hmm") is None
    assert extraction_reply("Rate this answer [[rating]]") is None


@pytest.mark.parametrize("stdout,verdict", [
    ('{"passed": true, "extracted": "7"}', (True, "7", 1.0)),
    ('{"passed": false, "extracted": "8", "score": 0.25}', (False, "8", 0.25)),
    ('{"passed": false, "extracted": null}', (False, "", 0.0)),
])
def test_parse_command_verdict(stdout: str, verdict: tuple[bool, str, float]) -> None:
    assert tuple(parse_verdict(stdout, "grade")) == verdict


@pytest.mark.parametrize("stdout,message", [
    ("not json", "stdout is not JSON"), ('{"passed": "yes"}', 'boolean "passed"'),
    ('{"passed": true, "extracted": 7}', '"extracted" must be a string'),
    ('{"passed": true, "extracted": "7", "score": "high"}', '"score" must be a number'),
])
def test_bad_command_verdicts_are_infra_errors(stdout: str, message: str) -> None:
    with pytest.raises(InfraError, match=message):
        parse_verdict(stdout, "grade")


def test_parse_grader() -> None:
    assert parse_grader(None, False).describe() == "regex"
    assert parse_grader("cmd: python g.py ", True).command == "python g.py"
    for bad in ("cmd:", "judge", "LLM"):
        with pytest.raises(ConfigError, match="use regex, llm or cmd:COMMAND"):
            parse_grader(bad, True)
    assert Extracted(turns=(), judgments=(), answer=None).answer is None
