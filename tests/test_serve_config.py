"""``serve:`` and ``checkpoints:`` in the models file: parsing, placeholders, sweep expansion."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchgate.config import ModelsFile, load_models_file
from benchgate.errors import ConfigError
from benchgate.redact import clear_secrets, redact


def _load(tmp_path: Path, text: str) -> ModelsFile:
    path = tmp_path / "models.yaml"
    path.write_text(text)
    return load_models_file(path)


def _dirs(root: Path, *names: str) -> None:
    for name in names:
        (root / name).mkdir(parents=True)


def test_serve_command_string_is_split_and_filled_and_endpoint_defaults(tmp_path: Path) -> None:
    file = _load(tmp_path, "models:\n  m:\n    serve: {command: \"vllm serve org/m --port {port} "
                           "--served-model-name '{name}' --x {{literal}}\"}\n")
    spec = file.models["m"]
    assert spec.serve is not None
    assert spec.endpoints == () and spec.serve.ready_timeout == 600
    assert spec.serve.argv(8123, None, "m") == ["vllm", "serve", "org/m", "--port", "8123",
                                                "--served-model-name", "m", "--x", "{literal}"]
    assert spec.serve.url(8123) == "http://127.0.0.1:8123/v1"


def test_serve_list_command_and_endpoint_with_port(tmp_path: Path) -> None:
    file = _load(tmp_path, "models:\n  m:\n    endpoint: http://localhost:{port}/v1/\n"
                           "    serve: {command: [llama-server, -m, 'a b.gguf', --port, '{port}'], "
                           "ready_timeout: 5, env: {CUDA_VISIBLE_DEVICES: 1}}\n")
    serve = file.models["m"].serve
    assert serve is not None
    assert serve.argv(9, None, "m") == ["llama-server", "-m", "a b.gguf", "--port", "9"]
    assert serve.url(9) == "http://localhost:9/v1" and serve.env == {"CUDA_VISIBLE_DEVICES": "1"}
    assert serve.ready_timeout == 5


@pytest.mark.parametrize("body,message", [
    ("serve: {command: 'srv --gpu {gpu}'}", "models.m.serve.command: unknown placeholder {gpu}"),
    ("serve: {command: 'srv {port!r}'}", "unknown placeholder {port}"),
    ("serve: {command: 'srv {port'}", "models.m.serve.command: '{port': "),
    ("serve: {command: ''}", "models.m.serve.command: empty command"),
    ("serve: {command: 7}", "models.m.serve.command: expected a string or a list"),
    ("serve: {command: srv, ready_timeout: 0}", "models.m.serve.ready_timeout: expected seconds"),
    ("serve: {command: srv, restart: true}", "models.m.serve: unknown key 'restart' (valid: "
                                             "command, ready_timeout, env)"),
    ("serve: {command: srv, env: [A]}", "models.m.serve.env: expected a mapping"),
    ("serve: {command: srv}\n    endpoints: [http://a/v1]", "models.m: a served model has one"),
    ("serve: {command: srv}\n    endpoint: 'http://h:{port}/{name}'",
     "models.m.endpoint: with serve, only {port}"),
    ("serve: {command: 'srv {path}'}", "models.m.serve.command: {path} is the checkpoint "
                                       "directory: it needs 'checkpoints: GLOB'"),
    ("endpoint: http://a/v1\n    checkpoints: 'c/*'", "models.m.checkpoints: a sweep needs 'serve'"),
    ("serve: {command: 'srv --port {port}'}\n    checkpoints: 'c/*'",
     "models.m.serve.command: a sweep's command must use {path}"),
    ("serve: {command: 'srv {path}'}\n    checkpoints: 5", "models.m.checkpoints: expected a glob"),
])
def test_bad_serve_settings_name_the_key(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, f"models:\n  m:\n    {body}\n")
    assert message in str(err.value) and str(tmp_path / "models.yaml") in str(err.value)
    assert "\n" not in str(err.value)


def test_judges_take_serve_but_not_checkpoints(tmp_path: Path) -> None:
    file = _load(tmp_path, "judges:\n  j: {serve: {command: 'srv {port}'}, format: prometheus}\n")
    assert file.judges["j"].serve is not None
    with pytest.raises(ConfigError, match=r"judges\.j\.checkpoints: only models take checkpoints"):
        _load(tmp_path, "judges:\n  j: {serve: {command: 'srv {path}'}, checkpoints: 'c/*'}\n")


def test_checkpoints_expand_in_natural_order_relative_to_the_models_file(tmp_path: Path) -> None:
    runs = tmp_path / "cfg" / "runs"
    _dirs(runs, "checkpoint-1000", "checkpoint-200", "checkpoint-20", "checkpoint-100", "other")
    (runs / "checkpoint-5").write_text("a file, not a checkpoint")
    (tmp_path / "cfg" / "models.yaml").write_text(
        "models:\n  sft:\n    serve: {command: 'vllm serve {path} --port {port}'}\n"
        "    checkpoints: runs/checkpoint-*\n    revision: r1\n  base: {endpoint: http://a/v1}\n")
    file = load_models_file(tmp_path / "cfg" / "models.yaml")
    members = ["sft@checkpoint-20", "sft@checkpoint-100", "sft@checkpoint-200",
               "sft@checkpoint-1000"]
    assert file.sweeps["sft"].members == tuple(members)
    assert list(file.models) == [*members, "base"]  # the key itself is not a model
    spec = file.models["sft@checkpoint-200"]
    assert spec.checkpoint == str((runs / "checkpoint-200").resolve())
    assert spec.served == "sft@checkpoint-200" and spec.revision == "r1"
    assert spec.public()["checkpoint"] == spec.checkpoint
    assert spec.serve is not None
    assert spec.serve.argv(1, spec.checkpoint, "x")[2] == spec.checkpoint


def test_a_sweep_keeps_an_explicit_served_name(tmp_path: Path) -> None:
    _dirs(tmp_path / "c", "step-2", "step-10")
    file = _load(tmp_path, "models:\n  sft:\n    model: sft\n    serve: {command: 'srv {path}'}\n"
                           f"    checkpoints: {tmp_path}/c/step-*\n")
    assert [file.models[m].served for m in file.sweeps["sft"].members] == ["sft", "sft"]
    assert file.sweeps["sft"].members == ("sft@step-2", "sft@step-10")


def test_duplicate_checkpoint_names_are_refused(tmp_path: Path) -> None:
    _dirs(tmp_path, "a/checkpoint-1", "b/checkpoint-1")
    with pytest.raises(ConfigError, match="two directories are named 'checkpoint-1'"):
        _load(tmp_path, "models:\n  sft:\n    serve: {command: 'srv {path}'}\n"
                        "    checkpoints: '*/checkpoint-*'\n")


def test_serve_env_credentials_are_redacted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BG_TEST_HF", "hf_abcdefgh12345678")
    clear_secrets()
    try:
        _load(tmp_path, "models:\n  m:\n    serve: {command: srv, env: {HF_TOKEN: '${BG_TEST_HF}', "
                        "CUDA_VISIBLE_DEVICES: '0'}}\n")
        assert redact("token hf_abcdefgh12345678 on device 0") == "token *** on device 0"
    finally:
        clear_secrets()
