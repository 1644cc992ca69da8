"""Run the simulator as a child process for ``--model sim`` (keeps its CPU off our GIL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchgate.errors import InfraError

# here, not in sim.py, so resolving options does not import the simulator's aiohttp server
FAULTS = ("429", "500", "drop", "null-content", "error-object", "empty-choices", "not-json",
          "text-choice")
"""Every fault kind ``--faults`` accepts."""
DEFAULT_FAULTS = ("429", "500", "drop")
"""What ``--fail-rate`` injects unless ``--faults`` says otherwise."""


class SimProcess:
    """A ``python -m benchgate.sim`` child on a free port.

    ``faults`` chooses the fault kinds ``fail_rate`` injects (see :data:`FAULTS`;
    ``None``: the simulator's default, 429, 500 and dropped connections)."""

    def __init__(self, accuracy: float, latency_ms: float, fail_rate: float,
                 extra: list[str] | None = None, faults: Sequence[str] | None = None) -> None:
        cmd = [sys.executable, "-m", "benchgate.sim", "--port", "0", "--accuracy", str(accuracy),
               "--latency-ms", str(latency_ms), "--fail-rate", str(fail_rate),
               *(["--faults", ",".join(faults)] if faults is not None else []), *(extra or [])]
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        # stderr goes to a file: an unread pipe would block a chatty server
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr,
                                     text=True, start_new_session=True, env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http"):
            self.proc.wait()
            self._stderr.seek(0)
            err = self._stderr.read()
            raise InfraError(f"simulator failed to start: {(line or err).strip()[-300:]}")
        self.url = line

    def stop(self) -> None:
        """Terminate the child."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()


def post_json(url: str, payload: Any, timeout: float = 30.0) -> Any:
    """POST JSON with the standard library (used for the simulator's admin routes)."""
    req = urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def get_json(url: str, timeout: float = 10.0) -> Any:
    """GET JSON."""
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


def sim_root(base_url: str) -> str:
    """``http://h:p/v1`` -> ``http://h:p``."""
    return base_url[: -len("/v1")] if base_url.endswith("/v1") else base_url
