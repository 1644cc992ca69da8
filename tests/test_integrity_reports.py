"""Issue #9, bullets 5 and 6: reports are transactions (Ctrl-C, stale temp files, subset runs
merged per item id, other settings replace and say so) and every repeat is graded. Real
sessions against an outside server (tests/integrity_server.py)."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integrity_server import REPO, OutsideServer, items, section, suite, write_gsm8k

N = 8


@pytest.mark.slow
def test_subset_runs_merge_per_item_and_other_settings_replace(pytester: pytest.Pytester,
                                                                tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", N)
    folder = pytester.path / "results" / "outside"
    folder.mkdir(parents=True)
    stale = [folder / ".report.json.tmp-killed", folder / ".gsm8k.items.jsonl.tmp-killed"]
    for path in stale:  # what a writer killed mid-commit leaves
        path.write_bytes(b"")
    with OutsideServer(data) as server:
        args = ("--endpoint", server.url, "--model", "outside", "--data-dir", str(data))
        suite(pytester, *args).assert_outcomes(passed=N)
        assert not any(p.exists() for p in stale)
        suite(pytester, *args, "--limit", "3").assert_outcomes(passed=3)
        merged = section(pytester.path, "outside")
        assert (merged["n"], merged["passed"]) == (N, N)
        assert sorted(int(r["id"]) for r in items(pytester.path, "outside")) == list(range(N))
        text = (folder / "gsm8k.items.jsonl").read_bytes()
        assert merged["items"]["sha256"] == hashlib.sha256(text).hexdigest()
        other = suite(pytester, *args, "--limit", "3", "--seed", "5")
    other.stdout.fnmatch_lines(["gsm8k: replaced the previous section (different data*"])
    assert section(pytester.path, "outside")["n"] == 3


@pytest.mark.slow
def _interrupt_a_run(cwd: Path, data: Path) -> tuple[subprocess.Popen[str], str, str]:
    with OutsideServer(data, "--latency-ms", "300") as server:
        cmd = [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "gsm8k"), "-p",
               "no:cacheprovider", "--endpoint", server.url, "--model", "outside",
               "--data-dir", str(data), "--concurrency", "2"]
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while server.stats().get("answers", 0) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    return proc, out, err


def test_ctrl_c_is_one_line_an_interrupted_section_and_exit_2(pytester: pytest.Pytester,
                                                               tmp_path: Path) -> None:
    data = write_gsm8k(tmp_path / "data", 30)
    proc, out, err = _interrupt_a_run(pytester.path, data)
    if proc.returncode == 1 and "interrupted" not in out:
        # seen once in a loaded full-suite run and never reproduced: the session ended after
        # 5 items, exit 1, with no sign of the SIGINT; try once more in a fresh folder
        retry = pytester.path / "retry"
        retry.mkdir()
        print(f"first attempt: exit 1 without the interruption\n{out[-1500:]}\n{err[-1500:]}")
        proc, out, err = _interrupt_a_run(retry, data)
        cwd = retry
    else:
        cwd = pytester.path
    assert proc.returncode == 2, out[-2000:] + err[-1000:]
    done = re.findall(r"^interrupted: (\d+) of 30 items done$", out, re.MULTILINE)
    assert len(done) == 1 and 0 < int(done[0]) < 30, out[-2000:]
    assert "Traceback" not in out + err
    got = section(cwd, "outside")
    assert got["interrupted"] is True and got["passed"] == int(done[0])


def test_every_repeat_is_graded_and_reduced_by_majority(pytester: pytest.Pytester,
                                                        tmp_path: Path) -> None:
    """The server is right only for the first of three repeats (seed 0; 1 and 2 are wrong)."""
    data = write_gsm8k(tmp_path / "data", 4)
    with OutsideServer(data, "--mode", "seed") as server:
        result = suite(pytester, "--endpoint", server.url, "--model", "outside", "--data-dir",
                       str(data), "--repeats", "3")
        assert server.stats().get("requests", 0) == 12
    result.assert_outcomes(failed=4)
    rows = items(pytester.path, "outside")
    assert len(rows) == 12 and sorted(r["repeat"] for r in rows) == [0] * 4 + [1] * 4 + [2] * 4
    assert [r["outcome"] for r in rows if r["repeat"] == 0] == ["passed"] * 4
    assert not any(r["passed"] for r in rows)  # each record carries the item's majority verdict
    got = section(pytester.path, "outside")
    assert (got["passed"], got["failed"]) == (0, 4)
