"""IFEval benchmark: real sessions on the sample data against the shipped sim baseline, the
simulator's reply builder, the one-line stop when NLTK's Punkt is missing, and (fidelity tier)
the plugin on the reference's published GPT-4 responses."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nltk
import pytest

from benchgate.data import DataSource
from benchgate.errors import DataError
from benchmarks.ifeval import test_ifeval as module
from benchmarks.ifeval.simulate import follow, violate
from graders.ifeval import grade_ifeval
from graders.ifeval_util import PUNKT_HINT, punkt_available
from tests.conftest import read_items, read_section

REPO = Path(__file__).resolve().parents[1]
SAMPLE = [json.loads(line) for line in
          (REPO / "benchmarks" / "ifeval" / "sample" / "input_data.jsonl").read_text().splitlines()]
METRICS = {"prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc",
           "inst_level_loose_acc"}
needs_punkt = pytest.mark.skipif(not punkt_available(), reason=PUNKT_HINT)


def section(path: Path, model: str = "sim") -> dict[str, Any]:
    return read_section(path, "ifeval", model)


def items(path: Path, model: str = "sim") -> list[dict[str, Any]]:
    return read_items(path, "ifeval", model)


def baseline() -> dict[str, dict[str, Any]]:
    """The shipped sim snapshot: item id -> verdict."""
    folder = REPO / "snapshots" / "ifeval" / "sim"
    return {p.name.split("[", 1)[1].split("]", 1)[0]: json.loads(p.read_text())
            for p in folder.glob("test_ifeval[[]*].json")}


def check_session(result: pytest.RunResult, path: Path) -> None:
    """Report section and items of a sample session agree with each other and the baseline."""
    sec, rows, base = section(path), items(path), baseline()
    outcomes = result.parseoutcomes()
    assert result.ret == 0 and sec["n"] == len(SAMPLE) == len(base) and sec["errors"] == 0
    assert outcomes.get("passed", 0) == sec["passed"] == sum(v["passed"] for v in base.values())
    assert outcomes.get("xfailed", 0) == sec["failed"] > 0 and "failed" not in outcomes
    assert sec["metric"] == "prompt_level_strict_acc" and set(sec["metrics"]) == METRICS
    assert sec["score"] == sec["metrics"]["prompt_level_strict_acc"] == sec["passed"] / sec["n"]
    total = sum(len(r["instruction_id_list"]) for r in SAMPLE)
    assert sum(c["n"] for c in sec["by_category"].values()) == total
    assert set(sec["by_category"]) == {i for r in SAMPLE for i in r["instruction_id_list"]}
    assert len(sec["by_category"]) == 25  # the sample uses every instruction kind
    followed = sum(sum(r["metrics"]["inst_strict"]) for r in rows)
    assert sec["metrics"]["inst_level_strict_acc"] == pytest.approx(followed / total)
    assert list(sec["run"]["data"]["files"]) == ["input_data.jsonl"]
    prompts = {str(r["key"]): r["prompt"] for r in SAMPLE}
    assert sorted(r["id"] for r in rows) == sorted(prompts)
    for r in rows:
        assert r["messages"] == [{"role": "user", "content": prompts[r["id"]]}]
        assert (r["outcome"] == "passed") == base[r["id"]]["passed"] == (r["extracted"] == [])
        assert r["extracted"] == base[r["id"]]["extracted"]


@needs_punkt
def test_sample_session_report_and_items(run_bench: Callable[..., pytest.RunResult],
                                         pytester: pytest.Pytester) -> None:
    result = run_bench("--model", "sim", "--data", "sample", "--no-cache", benchmark="ifeval")
    check_session(result, pytester.path)
    result.stdout.fnmatch_lines(["*ifeval*14*prompt_level_strict_acc*"])


@needs_punkt
def test_xdist_session_gives_the_baseline_verdicts(run_bench: Callable[..., pytest.RunResult],
                                                   pytester: pytest.Pytester) -> None:
    result = run_bench("--model", "sim", "--data", "sample", "--no-cache", "-n", "2",
                       benchmark="ifeval")
    check_session(result, pytester.path)


@needs_punkt
@pytest.mark.parametrize("row", SAMPLE, ids=[str(r["key"]) for r in SAMPLE])
def test_sim_replies_follow_and_break_the_sample_instructions(row: dict[str, Any]) -> None:
    ids, kwargs, prompt = row["instruction_id_list"], row["kwargs"], row["prompt"]
    right = grade_ifeval(follow(ids, kwargs), ids, kwargs, prompt)
    assert right.passed, right.detail
    wrong = grade_ifeval(violate(ids, kwargs), ids, kwargs, prompt)
    assert not wrong.metrics["inst_strict"][0]


def test_missing_punkt_stops_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "punkt_available", lambda: False)
    with pytest.raises(DataError, match="NLTK_DATA"):
        module.load_items(DataSource("ifeval", "sample"))


def test_malformed_row_stops_loading(tmp_path: Path) -> None:
    if not punkt_available():
        pytest.skip(PUNKT_HINT)
    row = {**SAMPLE[0], "kwargs": [{}, {"num_bullets": "three"}],
           "instruction_id_list": ["punctuation:no_comma", "detectable_format:number_bullet_lists"]}
    (tmp_path / "ifeval").mkdir()
    (tmp_path / "ifeval" / "input_data.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(DataError, match=f"key={row['key']}: detectable_format:number_bullet"):
        module.load_items(DataSource("ifeval", "dir", root=tmp_path))


def test_missing_punkt_is_one_line_and_exit_4(run_bench: Callable[..., pytest.RunResult],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    extra = set(os.environ.get("NLTK_DATA", "").split(os.pathsep)) - {""}
    try:
        nltk.data.find("tokenizers/punkt_tab/english/",
                       paths=[p for p in nltk.data.path if p not in extra])
        pytest.skip("Punkt is installed where NLTK looks by default")
    except LookupError:
        pass
    monkeypatch.delenv("NLTK_DATA", raising=False)
    result = run_bench("--model", "sim", "--data", "sample", benchmark="ifeval")
    assert result.ret == 4
    lines = [line for line in result.stderr.lines if "NLTK_DATA" in line]
    assert lines == [f"ERROR: benchgate: ifeval: {PUNKT_HINT}"]


@pytest.mark.fidelity
def test_published_gpt4_responses_through_the_plugin(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester,
        data_dir: Path) -> None:
    if not punkt_available():
        pytest.skip(PUNKT_HINT)
    folder = data_dir / "ifeval"
    keys = {json.loads(line)["prompt"]: json.loads(line)["key"]
            for line in (folder / "input_data.jsonl").read_text().splitlines() if line}
    published = [json.loads(line) for line in (
        folder / "input_response_data_gpt4_20231107_145030.jsonl").read_text().splitlines() if line]
    path = pytester.path / "responses.jsonl"
    path.write_text("".join(json.dumps({"id": str(keys[r["prompt"]]), "response": r["response"]})
                            + "\n" for r in published))
    run_bench("--data-dir", str(data_dir), "--responses", str(path), "--model", "gpt4",
              "--no-cache", benchmark="ifeval")
    sec = section(pytester.path, "gpt4")
    assert (sec["n"], sec["errors"]) == (541, 0)
    got = tuple(round(100 * sec["metrics"][k], 2) for k in (
        "prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc",
        "inst_level_loose_acc"))
    # current (deterministic) reference revision; see tests/fidelity/test_ifeval_fidelity.py
    assert got == (77.08, 83.69, 79.67, 85.61)
    assert sec["passed"] == 417 and len(sec["by_category"]) == 25
    assert sum(c["n"] for c in sec["by_category"].values()) == 834


def test_simulated_reply_does_not_depend_on_the_hash_seed() -> None:
    # sets of keywords/letters were iterated in hash order: the reply changed per process
    import subprocess
    import sys

    code = ("from benchmarks.ifeval.simulate import follow; print(follow("
            "['keywords:frequency', 'keywords:frequency', 'keywords:letter_frequency', "
            "'keywords:letter_frequency'], [{'keyword': 'alpha', 'frequency': 2, "
            "'relation': 'at least'}, {'keyword': 'omega', 'frequency': 3, 'relation': 'at least'},"
            " {'letter': 'q', 'let_frequency': 3, 'let_relation': 'at least'}, "
            "{'letter': 'z', 'let_frequency': 2, 'let_relation': 'at least'}]))")
    replies = {subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                              text=True, check=True, env={**os.environ, "PYTHONHASHSEED": seed}
                              ).stdout for seed in ("1", "2", "3", "4", "5", "6")}
    assert len(replies) == 1 and "alpha" in next(iter(replies))
