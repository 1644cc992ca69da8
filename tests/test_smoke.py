"""``--smoke``: the response checks as pure functions, and real sessions against a server
whose replies carry template tokens (tests/template_server.py) while the answers are right."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchgate.smoke import TOKENS, identical, text_problems
from tests.conftest import REPO, read_items, read_section

CLEAN = "Let's work it out step by step.\nThe final answer is 18"


@pytest.mark.parametrize(("text", "reasoning", "finish", "expected"), [
    (CLEAN, None, "stop", []),
    ("<|im_start|>assistant\nThe final answer is 18", None, "stop",
     ["template: response contains '<|im_start|>'"]),
    ("The final answer is 18<|eot_id|>", None, "stop", ["template: response contains '<|eot_id|>'"]),
    ("<start_of_turn>model\n18<end_of_turn>", None, "stop",
     ["template: response contains '<start_of_turn>'", "template: response contains '<end_of_turn>'"]),
    ("[INST] 18 [/INST]", None, "stop",
     ["template: response contains '[INST]'", "template: response contains '[/INST]'"]),
    ("18</s>", None, "stop", ["template: response contains '</s>'"]),
    ("18 <|reserved_special_token_3|>", None, "stop",
     ["template: response contains '<|reserved_special_token_3|>'"]),
    ("18<｜end▁of▁sentence｜>", None, "stop", ["template: response contains '<｜end▁of▁sentence｜>'"]),
    ("18", "thinking<|im_end|>", "stop", ["template: reasoning contains '<|im_end|>'"]),
    ("<think>so the answer is 18", None, "stop",
     ["think: unterminated '<think>' (no '</think>' after it)"]),
    ("a <think>b</think> c <think>d", None, "stop",
     ["think: unterminated '<think>' (no '</think>' after it)"]),
    ("so 18.</think>\nThe final answer is 18", None, "stop",
     ["think: '</think>' without '<think>' (reasoning is not separated from the answer)"]),
    ("a <think>b</think> c", None, "stop", []),
    ("", None, "stop", ["empty: response is empty"]),
    (" \n\t", None, "stop", ["empty: response is empty"]),
    (CLEAN, None, "length", ["max_tokens: response stopped at max_tokens (finish_reason 'length')"]),
    ("", None, "length", ["empty: response is empty",
                          "max_tokens: response stopped at max_tokens (finish_reason 'length')"]),
    ("x < y and a | b > c, list[int]", None, "stop", []),
])
def test_text_problems_table(text: str, reasoning: str | None, finish: str,
                             expected: list[str]) -> None:
    assert text_problems(text, reasoning, finish) == expected


SAFE = st.text(st.characters(blacklist_characters="<>[]|｜/", blacklist_categories=("Cs",)),
               min_size=1).filter(str.strip)


@settings(deadline=None)
@given(SAFE, SAFE, st.sampled_from(TOKENS))
def test_any_listed_token_anywhere_is_named(before: str, after: str, token: str) -> None:
    assert text_problems(before + after, None, "stop") == []
    found = text_problems(before + token + after, None, "stop")
    assert f"template: response contains {token!r}" in found
    assert all(p.startswith(("template:", "think:")) for p in found)


@settings(deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=4), st.sampled_from(["a", "b", "", " "]),
                       max_size=8))
def test_identical_means_every_answered_item_got_the_same_text(responses: dict[str, str]) -> None:
    answered = {i: r for i, r in responses.items() if r.strip()}
    expected = sorted(answered) if len(answered) > 1 and len(set(answered.values())) == 1 else []
    assert sorted(identical(responses)) == expected


def test_two_of_three_sharing_a_short_answer_is_not_identical() -> None:
    assert identical({"1": "The answer is (C)", "2": "The answer is (A)",
                      "3": "The answer is (C)"}) == []
    assert identical({"1": "Hi", "2": "Hi", "3": ""}) == ["1", "2"]
    assert identical({"1": ["Hi", "there"], "2": ["Hi", "there"]}) == ["1", "2"]


@pytest.fixture
def template_server() -> Iterator[Callable[..., str]]:
    """Factory: ``template_server("--leak", "<|im_start|>")`` -> base URL; stopped after."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> str:
        proc = subprocess.Popen([sys.executable, "-m", "tests.template_server", *args],
                                cwd=REPO, stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://"), url
        return url

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def smoke_run(pytester: pytest.Pytester, url: str, *extra: str,
              benchmarks: tuple[str, ...] = ("gsm8k",)) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        *(str(REPO / "benchmarks" / b) for b in benchmarks), "-p", "no:cacheprovider",
        "--endpoint", url, "--model", "sim", "--data", "sample", "--smoke", "--no-cache", "-v",
        *extra, timeout=120)


def test_leaked_template_token_fails_although_every_answer_is_right(
        pytester: pytest.Pytester, template_server: Callable[..., str]) -> None:
    result = smoke_run(pytester, template_server("--leak", "<|im_start|>"))
    assert not (pytester.path / "results" / "sim" / "report.json").exists()
    section = read_section(pytester.path, "gsm8k", "sim/smoke")
    assert section["n"] == 3 and section["score"] == 1.0  # graded right ...
    assert result.ret == 1  # ... and still a failed run
    result.stdout.fnmatch_lines(["*FAILED (template: response contains '<|im_start|>')*",
                                 "smoke gsm8k: FAILED, 3 item(s), 3 with problems*"])
    rows = read_items(pytester.path, "gsm8k", "sim/smoke")
    assert all(r["smoke"] == ["template: response contains '<|im_start|>'"] for r in rows)
    assert all(r["outcome"] == "passed" for r in rows)


@pytest.mark.parametrize(("mode", "line"), [
    ("think", "*FAILED (think: unterminated '<think>'*"),
    ("length", "*FAILED (max_tokens: response stopped at max_tokens*"),
    ("empty", "*FAILED (empty: response is empty)*"),
])
def test_each_broken_reply_is_a_named_failure(pytester: pytest.Pytester,
                                              template_server: Callable[..., str], mode: str,
                                              line: str) -> None:
    result = smoke_run(pytester, template_server("--mode", mode))
    assert result.ret == 1
    result.stdout.fnmatch_lines([line])
    assert result.parseoutcomes().get("failed") == 3


def test_identical_replies_fail_the_run_under_xdist(pytester: pytest.Pytester,
                                                    template_server: Callable[..., str]) -> None:
    result = smoke_run(pytester, template_server("--mode", "same"), "-n", "2")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["smoke gsm8k: identical: items *, *, * got the same response*",
                                 "smoke gsm8k: FAILED, 3 item(s), 0 with problems, all identical"])
    assert "failed" not in result.parseoutcomes()  # no single item is at fault


def test_clean_server_passes_and_the_items_are_listed(pytester: pytest.Pytester,
                                                      template_server: Callable[..., str]) -> None:
    url = template_server()
    listed = pytester.runpytest_subprocess(
        str(REPO / "benchmarks" / "gsm8k"), str(REPO / "benchmarks" / "mmlu_pro"),
        "-p", "no:cacheprovider", "--model", "sim", "--data", "sample", "--smoke",
        "--collect-only", "-q", timeout=120)
    ids = [line for line in listed.stdout.lines if "::test_" in line]
    assert len([i for i in ids if "gsm8k" in i]) == 3 and len(ids) == 6
    result = smoke_run(pytester, url, benchmarks=("gsm8k", "mmlu_pro"))
    assert result.ret == 0, result.stdout.str()[-2000:]
    result.stdout.fnmatch_lines(["smoke gsm8k: ok, 3 item(s), 0 with problems",
                                 "smoke mmlu_pro: ok, 3 item(s)*"])
    listed_ids = sorted(i.rsplit("[", 1)[1].rstrip("]") for i in ids if "test_gsm8k" in i)
    assert sorted(r["id"] for r in read_items(pytester.path, "gsm8k", "sim/smoke")) == listed_ids


@pytest.mark.parametrize(("args", "message"), [
    (["--limit", "2"], "benchgate: --smoke runs its own fixed items; drop --limit"),
    (["--shard", "0/2"], "benchgate: --smoke runs its own fixed items; drop --shard"),
    (["--snapshot-update"], "benchgate: --smoke checks responses, not answers*"),
])
def test_smoke_refuses_contradicting_options(pytester: pytest.Pytester, args: list[str],
                                             message: str) -> None:
    result = pytester.runpytest_subprocess(str(REPO / "benchmarks" / "gsm8k"), "-p",
                                           "no:cacheprovider", "--model", "sim", "--data",
                                           "sample", "--smoke", *args, timeout=60)
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"*{message}"])
    assert "Traceback" not in result.stderr.str()
