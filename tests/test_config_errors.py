"""Bad input ends in one clear line and exit status 4, never a traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from benchgate.config import load_models_file, parse_threshold
from benchgate.errors import ConfigError
from tests.conftest import REPO, SimServer

BAD_FILES = [
    ("models: {a: {endpoint: http://x/v1, colour: red}}", "models.a: unknown key 'colour' (valid: "),
    ("models: {a: {endpoint: ftp://x}}", "models.a.endpoint: 'ftp://x' is not an http(s) URL"),
    ("models: {a: {endpoint: http://x/v1, api_key: '${BENCHGATE_TEST_UNSET_KEY}'}}",
     "models.a.api_key: environment variable BENCHGATE_TEST_UNSET_KEY is not set"),
    ("models: {a: {endpoint: http://x/v1}\n  b: [", "malformed YAML"),
    ("models: {a: {endpoint: http://x/v1, concurrency: 0}}", "models.a.concurrency: expected a "
     "positive integer"),
    ("judges: {j: {endpoint: http://x/v1, format: stars}}", "judges.j.format: 'stars' is not a "
     "judge format (valid: fastchat, prometheus, pairwise)"),
    ("models: {a: {endpoint: http://x/v1, thresholds: {accuracy: 1}}}",
     "is not of the form <benchmark>.<metric>=<min>"),
    ("defaults: {judge: nobody}", "defaults.judge: unknown judge 'nobody' (valid: sim)"),
    ("models:\n  a: {endpoint: http://x/v1}\n  a: {endpoint: http://y/v1}\n",
     "line 3: duplicate key 'a' in models (first on line 2)"),
    ("models: {a: {endpoint: 'http://[::1'}}", "models.a.endpoint: 'http://[::1' is not a valid URL"),
    ("models: {a: {endpoint: 'http://x:abc/v1'}}", "port 'abc' is not a number 1-65535"),
    ("models: {a: {endpoint: http://x/v1, api_key: '${}'}}",
     "models.a.api_key: malformed variable reference '${}'"),
    ("models: {a: {endpoint: http://x/v1, max_retries: -1}}",
     "models.a.max_retries: expected a non-negative integer, got -1"),
]


@pytest.mark.parametrize("text,message", BAD_FILES)
def test_bad_models_file_is_a_usage_error(run_bench: Callable[..., pytest.RunResult],
                                          pytester: pytest.Pytester, text: str,
                                          message: str) -> None:
    (pytester.path / "models.yaml").write_text(text)
    result = run_bench("--model", "a", "--data", "sample")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert message in err and "models.yaml" in err
    assert "Traceback" not in err + result.stdout.str()


def test_unknown_model_names_the_valid_choices(run_bench: Callable[..., pytest.RunResult],
                                               pytester: pytest.Pytester) -> None:
    (pytester.path / "models.yaml").write_text(
        "models:\n  qwen-1p5b: {endpoint: 'http://127.0.0.1:9/v1'}\n  llama: {endpoint: "
        "'http://127.0.0.1:9/v1'}\n")
    result = run_bench("--model", "qwne", "--data", "sample")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown model 'qwne' in models.yaml (valid: sim, llama, "
                                 "qwen-1p5b)*"])


def test_missing_models_file_says_what_to_pass(run_bench: Callable[..., pytest.RunResult]) -> None:
    result = run_bench("--model", "qwen", "--data", "sample")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*models file models.yaml not found (pass --models-file PATH, "
                                 "--endpoint URL, or --model sim)*"])


def test_missing_data_dir_names_the_option(run_bench: Callable[..., pytest.RunResult],
                                           pytester: pytest.Pytester) -> None:
    result = run_bench("--model", "sim", "--data-dir", str(pytester.path))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*gsm8k: missing data file*test.jsonl (pass --data-dir DIR*"])
    assert "Traceback" not in result.stdout.str()


def test_hub_without_network_says_to_use_data_dir(run_bench: Callable[..., pytest.RunResult],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", "/nonexistent-benchgate-hf-home")
    result = run_bench("--model", "sim")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cannot load openai/gsm8k@* from the HF hub*offline, use "
                                 "--data-dir DIR or --data sample*"])


def test_no_model_given(run_bench: Callable[..., pytest.RunResult]) -> None:
    result = run_bench("--data", "sample")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*benchmarks need a model: pass --model NAME*"])


def test_env_expansion_and_secret_never_reported(tmp_path: Path, run_bench: Callable[..., pytest.RunResult],
                                                 pytester: pytest.Pytester,
                                                 sim_server: Callable[..., SimServer],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    server = sim_server()
    secret = "sk-benchgate-test-secret-0123456789"
    monkeypatch.setenv("BENCHGATE_TEST_KEY", secret)
    (pytester.path / "models.yaml").write_text(
        f"models:\n  local:\n    endpoint: {server.url}\n    model: sim\n"
        "    api_key: ${BENCHGATE_TEST_KEY}\n    revision: r1\n"
        "    thresholds: {gsm8k.accuracy: 0.2}\n")
    spec = load_models_file(pytester.path / "models.yaml").models["local"]
    assert spec.api_key == secret and secret not in repr(spec)
    result = run_bench("--model", "local", "--data", "sample", "--junitxml", "junit.xml")
    result.stdout.fnmatch_lines(["*benchgate: model local (served 'sim', revision r1)*",
                                 "gate gsm8k.accuracy >= 0.2: ok*"])
    written = [p for p in pytester.path.rglob("*") if p.is_file() and p.suffix != ".sqlite"]
    assert written and not any(secret in p.read_text(errors="replace") for p in written)
    assert secret not in result.stdout.str() + result.stderr.str()


def test_parse_threshold() -> None:
    assert parse_threshold("gsm8k.accuracy=0.5") == ("gsm8k.accuracy", 0.5)
    with pytest.raises(ConfigError, match="not of the form"):
        parse_threshold("gsm8k=0.5")


def test_resume_after_kill_repeats_no_finished_call(pytester: pytest.Pytester,
                                                    sim_server: Callable[..., SimServer],
                                                    data_dir_gsm8k: Path) -> None:
    server = sim_server("--latency-ms", "150")
    concurrency = 4
    cmd = [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "gsm8k"), "-p",
           "no:cacheprovider", "--endpoint", server.url, "--model", "sim", "--data-dir",
           str(data_dir_gsm8k), "--limit", "60", "--concurrency", str(concurrency), "-q"]
    proc = subprocess.Popen(cmd, cwd=pytester.path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while server.stats()["completions"] < 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = server.stats()["completions"]
    assert 12 <= before < 60
    rerun = subprocess.run(cmd, cwd=pytester.path, capture_output=True, text=True, timeout=120)
    total = server.stats()["completions"]
    assert total <= 60 + concurrency, (before, total)
    rows = (pytester.path / "results" / "sim" / "gsm8k.items.jsonl").read_text().splitlines()
    assert len(rows) == 60 and sum(json.loads(r)["cached"] for r in rows) >= before - concurrency
    assert "60 " in rerun.stdout.splitlines()[-1] or "passed" in rerun.stdout


@pytest.fixture
def data_dir_gsm8k(tmp_path: Path) -> Path:
    """A --data-dir with 60 GSM8K-shaped problems we generate (not upstream data)."""
    bench = tmp_path / "data" / "gsm8k"
    bench.mkdir(parents=True)
    rows = [{"question": f"Ann has {i} apples and buys {i + 3} more. How many now?",
             "answer": f"{i}+{i + 3}=<<{i}+{i + 3}={2 * i + 3}>>{2 * i + 3}\n#### {2 * i + 3}"}
            for i in range(60)]
    (bench / "test.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return tmp_path / "data"
