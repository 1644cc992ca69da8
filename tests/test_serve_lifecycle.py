"""Servers the suite starts: start failures, readiness timeouts, the whole process group
stopped (also on Ctrl-C), secrets in ``serve.env`` redacted, judges with ``serve``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.serving.helpers import intervals, read_events, report, server_command, sweep_workspace

TOKEN = "hf_Zq8secret0token42"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_first_server_that_exits_stops_the_run_with_its_last_words(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    sweep_workspace(pytester, monkeypatch, skills={"checkpoint-1": None})
    result = pytester.runpytest_subprocess("test_sums.py", "--model", "sft", "-p",
                                           "no:cacheprovider", timeout=60)
    assert result.ret == 4
    result.stderr.fnmatch_lines([
        "ERROR: benchgate: server for sft@checkpoint-1 exited with status 3 before "
        "http://127.0.0.1:*/v1/models answered (log results/sft@checkpoint-1/server.log: "
        "error: cannot load weights: *checkpoint-1/skill not found*"])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_a_later_checkpoint_that_cannot_start_errors_its_items_and_the_sweep_goes_on(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BG_TEST_HF_TOKEN", TOKEN)
    command = json.dumps(server_command())
    events = sweep_workspace(pytester, monkeypatch,
                             skills={"checkpoint-1": 3, "checkpoint-2": None, "checkpoint-3": 6})
    (pytester.path / "models.yaml").write_text(
        "models:\n  sft:\n"
        f"    serve: {{command: {command}, env: {{HF_TOKEN: '${{BG_TEST_HF_TOKEN}}'}}}}\n"
        "    checkpoints: ckpts/checkpoint-*\n")
    result = pytester.runpytest_subprocess("test_sums.py", "--model", "sft", "-p",
                                           "no:cacheprovider", timeout=120)
    assert result.ret == 1, result.stdout.str()[-2000:]
    assert [n for n, _, _ in intervals(read_events(events))] == ["checkpoint-1", "checkpoint-3"]
    broken = report(pytester.path, "sft@checkpoint-2")["benchmarks"]["sums"]
    assert (broken["errors"], broken["passed"], broken["failed"]) == (10, 0, 0)  # never graded
    assert report(pytester.path, "sft@checkpoint-3")["benchmarks"]["sums"]["score"] == 0.6
    result.stdout.fnmatch_lines(["server for sft@checkpoint-2 exited with status 3 *(HF_TOKEN=***)*"])
    outputs = [result.stdout.str(), result.stderr.str()]
    outputs += [p.read_text() for p in (pytester.path / "results").rglob("*") if p.is_file()]
    assert not [text for text in outputs if TOKEN in text]
    assert "HF_TOKEN=***" in (pytester.path / "results/sft@checkpoint-2/server.log").read_text()


def test_a_server_not_ready_in_time_is_stopped_with_its_children(
        pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pidfile = pytester.path / "sleeper.pid"
    inner = f"{server_command('--slow', '60')} & sleep 300 & echo $! > {pidfile}; wait"
    sweep_workspace(pytester, monkeypatch, skills={"checkpoint-1": 3})
    (pytester.path / "models.yaml").write_text(
        "models:\n  sft:\n"
        f"    serve: {{command: [sh, -c, {json.dumps(inner)}], ready_timeout: 2}}\n"
        "    checkpoints: ckpts/checkpoint-*\n")
    started = time.monotonic()
    result = pytester.runpytest_subprocess("test_sums.py", "--model", "sft", "-p",
                                           "no:cacheprovider", timeout=60)
    assert result.ret == 4
    result.stderr.fnmatch_lines(["ERROR: benchgate: server for sft@checkpoint-1 did not answer "
                                 "http://127.0.0.1:*/v1/models within 2 s (log *server.log*"])
    assert time.monotonic() - started < 40
    sleeper = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(sleeper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(sleeper), "the server's child outlived the suite"


def test_ctrl_c_stops_the_server(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    events = sweep_workspace(pytester, monkeypatch, skills={"checkpoint-1": 3},
                             command=server_command("--delay", "3"))
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "test_sums.py", "--model", "sft",
                             "-p", "no:cacheprovider"], cwd=pytester.path, env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not read_events(events) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert read_events(events), "the server never started"
        time.sleep(0.5)  # calls in flight
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, out[-2000:]
    assert [kind for kind, _, _ in read_events(events)] == ["start", "stop"]


def test_a_served_judge_runs_for_the_session(pytester: pytest.Pytester) -> None:
    from tests.conftest import REPO

    command = json.dumps([sys.executable, "-m", "benchgate.sim", "--port", "{port}"])
    (pytester.path / "models.yaml").write_text(
        f"judges:\n  j: {{serve: {{command: {command}}}, format: fastchat}}\n")
    result = pytester.runpytest_subprocess(str(REPO / "benchmarks" / "mt_bench"), "--model", "sim",
                                           "--judge", "j", "--data", "sample", "--limit", "2",
                                           "-p", "no:cacheprovider", timeout=120)
    assert result.ret in (0, 1), result.stdout.str()[-2000:]
    found = report(pytester.path, "sim")["benchmarks"]["mt_bench"]
    assert (found["n"], found["errors"]) == (2, 0)
    judge = found["run"]["judge"]
    log = (pytester.path / "results" / "j" / "server.log").read_text().splitlines()
    assert judge["name"] == "j" and judge["endpoints"] == [log[0]]  # the URL the simulator printed
    with pytest.raises(OSError):  # stopped with the session
        urllib.request.urlopen(log[0] + "/models", timeout=5)
