"""The README's "Starting servers" section as written: its models file, with stand-ins for
``vllm`` and ``llama-server`` first on PATH (tests/serving/shim.py), runs its command line."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

import pytest

from benchgate.config import load_models_file
from tests.conftest import REPO
from tests.serving.helpers import readme_blocks, report
from tests.serving.shim import install


def test_readme_starting_servers_runs_as_written(pytester: pytest.Pytester,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (models,), (command,) = readme_blocks("Starting servers", "yaml"), readme_blocks(
        "Starting servers", "bash")
    (pytester.path / "models.yaml").write_text(models)
    file = load_models_file(pytester.path / "models.yaml")
    py = file.models["qwen-py"].serve
    assert py is not None and py.argv(8011, None, "qwen-py")[:3] == ["python", "-m",
                                                                      "llama_cpp.server"]
    assert py.argv(8011, None, "qwen-py")[-4:] == ["--port", "8011", "--model_alias", "qwen-py"]
    assert file.judges["prometheus"].serve is not None
    install(pytester.path / "bin")
    monkeypatch.setenv("PATH", f"{pytester.path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTEST_ADDOPTS", "--data sample --limit 3 -p no:cacheprovider")
    args = shlex.split(command.strip())
    assert args[:2] == ["pytest", "benchmarks/gsm8k"]
    result = pytester.runpytest_subprocess(str(REPO / args[1]), *args[2:], timeout=180)
    assert result.ret == 1, result.stdout.str()[-2000:]  # the stand-ins answer wrong, no error
    for name, tool in (("qwen-vllm", "vllm serve Qwen/Qwen2.5-1.5B-Instruct"),
                       ("qwen-llama", "llama-server -m qwen2.5-1.5b-instruct-q4_0.gguf")):
        section = report(pytester.path, name)["benchmarks"]["gsm8k"]
        assert (section["n"], section["errors"]) == (3, 0)
        log = (pytester.path / "results" / name / "server.log").read_text()
        argv = re.search(r"argv: (.*)", log)
        assert argv is not None and argv.group(1).startswith(tool)
        port = re.search(r"--port (\d+)", argv.group(1))
        assert port is not None and f"{name}" in argv.group(1)
        assert report(pytester.path, name)["model"]["endpoints"] == [
            f"http://127.0.0.1:{port.group(1)}/v1"]
        assert log.count("POST /v1/chat/completions") == 3
    assert not Path(pytester.path / "results" / "prometheus").exists()  # no judged benchmark
