"""README's models.yaml section: the first example loads with no environment variable set
(a local run needs none), and the system prompts it documents reach the requests and the
report's ``run`` block."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from benchgate.config import load_models_file
from tests.conftest import SimServer, read_items, read_section
from tests.serving.helpers import readme_blocks


def test_first_models_example_validates_without_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    first = readme_blocks("models.yaml", "yaml")[0]
    (tmp_path / "models.yaml").write_text(first)
    loaded = load_models_file(tmp_path / "models.yaml")
    spec = loaded.models["qwen-1p5b"]
    assert spec.endpoints == ("http://127.0.0.1:8004/v1",)
    assert spec.system == "You are a careful assistant."
    assert loaded.defaults["judge"] == "prometheus"


@pytest.mark.parametrize("where", ["model", "defaults"])
def test_system_prompt_is_sent_and_recorded_in_the_run_block(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester,
        sim_server: Callable[..., SimServer], where: str) -> None:
    server = sim_server()
    prompt = "Answer with the number only."
    own = f"\n    system: {prompt!r}" if where == "model" else ""
    defaults = f"defaults: {{system: {prompt!r}}}\n" if where == "defaults" else ""
    (pytester.path / "models.yaml").write_text(
        f"models:\n  m:\n    endpoint: {server.url}{own}\n  bare:\n    endpoint: {server.url}\n"
        f"{defaults}")
    args = ["--models-file", "models.yaml", "--data", "sample", "--limit", "2",
            "--snapshot-dir", str(pytester.path / "snaps")]
    run_bench("--model", "m", *args)
    assert read_section(pytester.path, "gsm8k", model="m")["run"]["system"] == prompt
    first = read_items(pytester.path, "gsm8k", model="m")[0]["messages"][0]
    assert first == {"role": "system", "content": prompt}
    run_bench("--model", "bare", *args)
    bare = read_section(pytester.path, "gsm8k", model="bare")["run"]["system"]
    assert bare == (prompt if where == "defaults" else None)
