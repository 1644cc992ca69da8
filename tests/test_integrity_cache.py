"""Issue #9, bullet 1: the cache replays only what the same weights answered, and says when a
run made no calls. Real sessions against an outside server (tests/integrity_server.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integrity_server import OutsideServer, items, section, suite, write_gsm8k

N = 6


def test_swapped_weights_behind_the_same_name_are_called_again(
        pytester: pytest.Pytester, tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", N)
    with OutsideServer(data) as server:
        args = ("--endpoint", server.url, "--model", "outside", "--data-dir", str(data))
        first = suite(pytester, *args)
        first.assert_outcomes(passed=N)
        server.set(weights="b", reset_stats=True)  # same name, same URL, other weights
        swapped = suite(pytester, *args)
        assert server.stats().get("requests", 0) == N
        swapped.assert_outcomes(failed=N)
        swapped.stdout.fnmatch_lines([f"calls: {N} made, 0 from cache*"])
        assert section(pytester.path, "outside")["cache"] == {"hits": 0, "calls": N}


@pytest.mark.slow
def test_a_rerun_from_the_cache_says_so_and_labels_latency_as_recorded(
        pytester: pytest.Pytester, tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", N)
    with OutsideServer(data, "--latency-ms", "30") as server:
        args = ("--endpoint", server.url, "--model", "outside", "--data-dir", str(data))
        suite(pytester, *args).assert_outcomes(passed=N)
        server.set(reset_stats=True)
        rerun = suite(pytester, *args)
        assert server.stats().get("requests", 0) == 0
    rerun.assert_outcomes(passed=N)
    rerun.stdout.fnmatch_lines(["*latency and tok/s recorded when the cached responses were made*",
                                f"calls: 0 made, {N} from cache*"])
    got = section(pytester.path, "outside")
    assert got["cache"] == {"hits": N, "calls": 0} and got["latency_source"] == "recorded"
    assert all(r["cached"] for r in items(pytester.path, "outside"))


def test_another_sim_accuracy_is_not_replayed(pytester: pytest.Pytester, tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", N)
    args = ("--model", "sim", "--data-dir", str(data))
    suite(pytester, *args, "--sim-accuracy", "1")
    assert section(pytester.path, "sim")["passed"] == N
    broken = suite(pytester, *args, "--sim-accuracy", "0")
    got = section(pytester.path, "sim")
    assert (got["n"], got["passed"]) == (N, 0)
    broken.stdout.fnmatch_lines([f"calls: {N} made, 0 from cache*"])


def test_a_partly_cached_run_replays_what_is_cached_and_calls_the_rest(
        pytester: pytest.Pytester, tmp_path: Path) -> None:
    # items 0, 1 and 3 are cached: 0 and 1 are answered before the loop starts, 2 is the first
    # miss, and from there on the loop serves 3 from the cache and calls 2, 4 and 5
    data = write_gsm8k(tmp_path / "data", N)
    lines = (data / "gsm8k" / "test.jsonl").read_text().splitlines(keepends=True)
    (tmp_path / "part" / "gsm8k").mkdir(parents=True)
    (tmp_path / "part" / "gsm8k" / "test.jsonl").write_text(lines[0] + lines[1] + lines[3])
    with OutsideServer(data) as server:
        common = ("--endpoint", server.url, "--model", "outside", "--repeats", "2")
        suite(pytester, *common, "--data-dir", str(tmp_path / "part")).assert_outcomes(passed=3)
        server.set(reset_stats=True)
        full = suite(pytester, *common, "--data-dir", str(data))
        assert server.stats().get("requests", 0) == 2 * 3
    full.assert_outcomes(passed=N)
    full.stdout.fnmatch_lines(["calls: 6 made, 6 from cache*"])
    rows = items(pytester.path, "outside")
    assert sorted((r["id"], r["repeat"], r["cached"], r["passed"]) for r in rows) == [
        (str(i), r, i in (0, 1, 3), True) for i in range(N) for r in (0, 1)]
    assert section(pytester.path, "outside")["cache"] == {"hits": 6, "calls": 6}
