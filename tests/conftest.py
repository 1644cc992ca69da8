"""Fixtures for the suite's own tests."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ["pytester", "tests.checkout_guard"]

REPO = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the slow tier (``tests/tiers.py``; ``-m "not slow"`` is the fast one)."""
    from tests.tiers import is_slow

    for item in items:
        if is_slow(item):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def data_dir(request: pytest.FixtureRequest) -> Path:
    """Upstream data (``--data-dir`` or ``BENCHGATE_DATA_DIR``); fidelity tests skip without it."""
    value = None
    try:
        value = request.config.getoption("data_dir")
    except ValueError:
        pass
    value = value or os.environ.get("BENCHGATE_DATA_DIR")
    if not value:
        pytest.skip("fidelity tier: pass --data-dir ../shared/datasets")
    path = Path(value)
    if not path.is_dir():
        pytest.fail(f"--data-dir {path} is not a directory")
    return path


class SimServer:
    """A standalone ``benchgate sim`` process for a test, with its request counters."""

    def __init__(self, *args: str) -> None:
        from benchgate.simproc import SimProcess

        self._proc = SimProcess(accuracy=0.7, latency_ms=0, fail_rate=0, extra=list(args))
        self.url = self._proc.url

    def stats(self) -> dict[str, int]:
        from benchgate.simproc import get_json, sim_root

        result: dict[str, int] = get_json(sim_root(self.url) + "/sim/stats")
        return result

    def reset(self) -> None:
        from benchgate.simproc import post_json, sim_root

        post_json(sim_root(self.url) + "/sim/reset", {})

    def stop(self) -> None:
        self._proc.stop()


@pytest.fixture
def sim_server() -> Iterator[Callable[..., SimServer]]:
    """Factory: ``sim_server("--latency-ms", "50")`` starts a simulator; all stop at teardown."""
    started: list[SimServer] = []

    def start(*args: str) -> SimServer:
        server = SimServer(*args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def run_bench(pytester: pytest.Pytester) -> Callable[..., pytest.RunResult]:
    """Run a real pytest session on the repo's benchmarks from a fresh working directory."""

    def run(*args: str, benchmark: str = "gsm8k") -> pytest.RunResult:
        return pytester.runpytest_subprocess(
            str(REPO / "benchmarks" / benchmark), "-p", "no:cacheprovider", *args, timeout=300)

    return run


def read_report(cwd: Path, model: str = "sim") -> dict[str, Any]:
    """``results/<model>/report.json`` written by a session run in ``cwd``."""
    data: dict[str, Any] = json.loads((cwd / "results" / model / "report.json").read_text())
    return data


def read_section(cwd: Path, benchmark: str, model: str = "sim") -> dict[str, Any]:
    """One benchmark's section of that report."""
    section: dict[str, Any] = read_report(cwd, model)["benchmarks"][benchmark]
    return section


def read_items(cwd: Path, benchmark: str, model: str = "sim") -> list[dict[str, Any]]:
    """The ``<benchmark>.items.jsonl`` rows beside that report."""
    lines = (cwd / "results" / model / f"{benchmark}.items.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line]
