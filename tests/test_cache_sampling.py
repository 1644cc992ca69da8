"""The cache key is computed from the request as sent: the models file's ``sampling`` merged
in first (issue #10: a key taken before the merge serves temperature-0 answers to a
temperature-0.9 run). Real sessions against a standalone simulator."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conftest import SimServer

SAMPLE_N = 14


def _models(path: str, url: str, sampling: str) -> str:
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"models:\n  m:\n    endpoint: {url}\n    sampling: {sampling}\n")
    return path


def test_changing_the_models_file_sampling_misses_the_cache(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester,
        sim_server: Callable[..., SimServer]) -> None:
    server = sim_server()
    models = str(pytester.path / "models.yaml")
    args = ["--model", "m", "--models-file", models, "--data", "sample",
            "--snapshot-dir", str(pytester.path / "snaps")]
    _models(models, server.url, "{temperature: 0}")
    first = run_bench(*args)
    first.stdout.fnmatch_lines([f"calls: {SAMPLE_N} made, 0 from cache"])
    again = run_bench(*args)
    again.stdout.fnmatch_lines([f"calls: 0 made, {SAMPLE_N} from cache"])
    _models(models, server.url, "{temperature: 0.9, top_p: 0.5}")
    changed = run_bench(*args)
    changed.stdout.fnmatch_lines([f"calls: {SAMPLE_N} made, 0 from cache"])
    assert server.stats()["requests"] == 2 * SAMPLE_N
