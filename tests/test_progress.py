"""The progress line (issue #12): real sessions against a slow simulator, without a terminal
(one full line per interval, under ``-n 2`` too) and inside a pseudo-terminal rendered by a
terminal emulator (redrawn in place, erased before pytest writes, nothing garbled)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Callable
from pathlib import Path

import pytest

from benchgate.progress import Progress, format_eta, progress_text
from tests.conftest import REPO

SAMPLE_N = 14
LINE = re.compile(r"benchgate: (\d+)/(\d+) items, (\d+) calls in flight, (\d+) from cache, "
                  r"([\d.]+) calls/s, ETA (\S+)")
SLOW = ["--model", "sim", "--data", "sample", "--sim-latency-ms", "400", "--concurrency", "2",
        "--no-cache", "--progress-interval", "1"]
XDIST = [pytest.param([], id="no-xdist"), pytest.param(["-n", "2"], id="xdist-2")]


@pytest.mark.parametrize("xdist", XDIST)
def test_progress_lines_without_a_terminal(run_bench: Callable[..., pytest.RunResult],
                                           pytester: pytest.Pytester, xdist: list[str]) -> None:
    # 14 items, 2 calls at a time, 0.4 s each: about 3 s of calls
    result = run_bench(*SLOW, "--snapshot-dir", str(pytester.path / "snaps"), *xdist)
    found = [LINE.fullmatch(ln) for ln in result.stdout.lines]
    lines = [m for m in found if m]
    assert lines, result.stdout.str()
    for m in lines:
        done, total, in_flight, hits, rate = (int(m[1]), int(m[2]), int(m[3]), int(m[4]),
                                              float(m[5]))
        assert total == SAMPLE_N and 0 < done < SAMPLE_N
        assert 0 <= in_flight <= 2 and hits == 0  # --concurrency 2 is split across workers
        assert 0.5 < rate < 10  # 2 calls / 0.4 s = 5 calls/s at most, a little over with skew
        assert m[6] != "-" and re.fullmatch(r"\d+s|\d+m\d\ds", m[6])
    dones = [int(m[1]) for m in lines]
    assert dones == sorted(dones)
    # pytest's own output stays whole: every item's outcome character is still there
    dots = [re.fullmatch(r"(?:\S+\.py )?([.F]+)(?:\s+\[\s*\d+%\])?", ln) for ln in result.stdout.lines]
    assert sum(len(m[1]) for m in dots if m) == SAMPLE_N, result.stdout.str()


def test_no_progress_line_when_turned_off_or_quiet(run_bench: Callable[..., pytest.RunResult],
                                                   pytester: pytest.Pytester) -> None:
    snaps = ["--snapshot-dir", str(pytester.path / "snaps")]
    off = run_bench(*SLOW[:-1], "0", *snaps)
    quiet = run_bench(*SLOW, *snaps, "-qq")
    for result in (off, quiet):
        assert not [ln for ln in result.stdout.lines if "benchgate: " in ln and "items" in ln]
        assert result.ret == 1  # the session itself still ran: sim failures fail


def _run_in_pty(args: list[str], cwd: Path, cols: int = 100, rows: int = 60) -> str:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = {**os.environ, "COLUMNS": str(cols), "LINES": str(rows), "TERM": "xterm"}
    env.pop("CI", None)
    proc = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=cwd, stdout=slave,
                            stderr=slave, stdin=subprocess.DEVNULL, env=env, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    proc.wait(timeout=120)
    return b"".join(chunks).decode("utf-8", errors="replace")


def test_progress_on_a_terminal_is_redrawn_in_place_and_never_garbles(tmp_path: Path) -> None:
    pyte = pytest.importorskip("pyte")
    raw = _run_in_pty([str(REPO / "benchmarks" / "gsm8k"), "-p", "no:cacheprovider", *SLOW,
                       "--snapshot-dir", str(tmp_path / "snaps")], tmp_path)
    drawn = LINE.findall(raw)
    assert drawn, raw  # the line was shown while the run went on
    assert all(int(done) < SAMPLE_N for done, *_ in drawn)
    screen = pyte.Screen(100, 400)
    stream = pyte.Stream(screen)
    stream.feed(raw.replace("\n", "\r\n"))  # the pty already turned \n into \r\n; harmless
    text = [ln.rstrip() for ln in screen.display]
    assert not [ln for ln in text if LINE.search(ln)], "\n".join(text)  # erased at the end
    # pytest's dot line survived intact: file, every outcome, then the percentage
    dots = [ln for ln in text if "test_gsm8k.py " in ln]
    assert len(dots) == 1 and re.fullmatch(r"\S*test_gsm8k\.py [.F]{14}\s+\[100%\]", dots[0]), text
    assert any("short test summary info" in ln for ln in text)


def test_line_figures_and_eta() -> None:
    now = [100.0]
    figures = {"calls": 0, "hits": 0, "in_flight": 8}

    class Config:
        pass

    line = Progress(Config(), lambda: dict(figures), interval=10, clock=lambda: now[0])
    line.total, line.start = 100, 100.0
    line.samples.append((100.0, 0))
    now[0], line.done, line.first_done = 110.0, 20, 101.0
    figures.update(calls=50, hits=5)
    # 20 items in 10 s: 80 left take 40 s; 50 calls in 10 s
    assert line.line() == "benchgate: 20/100 items, 8 calls in flight, 5 from cache, " \
                          "5.0 calls/s, ETA 40s"
    line.workers = {"gw0": {"worker": "gw0", "calls": 3, "hits": 1, "in_flight": 2},
                    "gw1": {"worker": "gw1", "calls": 4, "hits": 0, "in_flight": 1}}
    assert line.figures() == {"calls": 7, "hits": 1, "in_flight": 3}
    assert [format_eta(s) for s in (None, 0, 59.4, 61, 3725)] == ["-", "0s", "59s", "1m01s",
                                                                    "1h02m"]
    assert progress_text(1, 2, {}, 0.0, None).endswith("0.0 calls/s, ETA -")


def test_runs_without_xdist_loaded(run_bench: Callable[..., pytest.RunResult],
                                   pytester: pytest.Pytester) -> None:
    # the line's xdist hooks are optional: -p no:xdist is no INTERNALERROR
    result = run_bench("--model", "sim", "--data", "sample", "-p", "no:xdist",
                       "--snapshot-dir", str(pytester.path / "snaps"))
    assert result.ret == 1 and "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert result.parseoutcomes()["failed"] > 0
