"""Issue #9, bullets 2 and 3: infrastructure faults are never graded or cached as the model's
answers, and a dead endpoint ends the run in seconds with one line. Real sessions against an
outside server (tests/integrity_server.py)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.fault_server import BAD_200
from tests.integrity_server import REPO, OutsideServer, items, section, suite, write_gsm8k

N = 10


@pytest.mark.slow
def test_faulty_200s_at_30_percent_leave_the_score_alone(pytester: pytest.Pytester,
                                                         tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", 24)
    with OutsideServer(data, "--rate", "0.3", "--faults", ",".join(BAD_200)) as server:
        result = suite(pytester, "--endpoint", server.url, "--model", "outside", "--data-dir",
                       str(data), "--max-retries", "12")
        stats = server.stats()
    assert stats.get("faults", 0) >= 5, stats
    result.assert_outcomes(passed=24)
    got = section(pytester.path, "outside")
    assert (got["passed"], got["failed"], got["errors"]) == (24, 0, 0)


@pytest.mark.slow
def test_faulty_200s_that_persist_are_errors_and_never_cached(pytester: pytest.Pytester,
                                                               tmp_path: Path) -> None:
    """Every kind (the seeded server draws each of them): errors, not wrong answers, and a
    rerun against the healthy server calls every item again."""
    data = write_gsm8k(tmp_path / "data", N)
    with OutsideServer(data, "--rate", "1", "--faults", ",".join(BAD_200)) as server:
        args = ("--endpoint", server.url, "--model", "outside", "--data-dir", str(data))
        broken = suite(pytester, *args, "--max-retries", "1")
        stats = server.stats()
        assert all(stats.get(f"fault:{kind}", 0) > 0 for kind in BAD_200), stats
        broken.assert_outcomes(errors=N)
        got = section(pytester.path, "outside")
        assert (got["n"], got["failed"], got["errors"]) == (0, 0, N)
        assert all(r["outcome"] == "error" and not r["cached"]
                   for r in items(pytester.path, "outside"))
        server.set(rate=0, reset_stats=True)
        healed = suite(pytester, *args)
        assert server.stats().get("requests", 0) == N
    healed.assert_outcomes(passed=N)


def test_an_empty_answer_the_model_chose_is_a_failure_that_says_so(
        pytester: pytest.Pytester, tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", 3)
    with OutsideServer(data, "--mode", "empty-length") as server:
        result = suite(pytester, "--endpoint", server.url, "--model", "outside", "--data-dir",
                       str(data))
    result.assert_outcomes(failed=3)
    rows = items(pytester.path, "outside")
    assert all("empty response, finish_reason=length" in r["message"] for r in rows)


@pytest.mark.slow
def test_a_dead_server_ends_the_run_in_seconds_with_one_line_and_a_rerun_resumes(
        pytester: pytest.Pytester, tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", 100)
    server = OutsideServer(data, "--latency-ms", "200")
    port = server.url.rsplit(":", 1)[1].split("/")[0]
    cmd = [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "gsm8k"), "-p",
           "no:cacheprovider", "--endpoint", server.url, "--model", "outside", "--data-dir",
           str(data), "--concurrency", "8"]
    proc = subprocess.Popen(cmd, cwd=pytester.path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while server.stats().get("answers", 0) < 16 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(server.proc.pid, signal.SIGKILL)
        died = time.monotonic()
        server.stop()
        out, _ = proc.communicate(timeout=60)
        took = time.monotonic() - died
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert took < 30, took
    down = [ln for ln in out.splitlines()
            if re.search(r"down after \d+ connection failures: \d+ item\(s\) not attempted", ln)]
    assert len(down) == 1 and down[0].startswith(f"endpoint {server.url} down"), down
    got = section(pytester.path, "outside")
    assert got["failed"] == 0 and got["errors"] > 0 and got["passed"] + got["errors"] == 100
    with OutsideServer(data, "--latency-ms", "20", "--port", port) as back:
        rerun = subprocess.run(cmd, cwd=pytester.path, capture_output=True, text=True, timeout=120)
        assert back.stats().get("requests", 0) == got["errors"]  # finished ones come from the cache
    assert section(pytester.path, "outside")["passed"] == 100, rerun.stdout[-2000:]
