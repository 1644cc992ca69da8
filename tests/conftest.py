"""Fixtures for the suite's own tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]


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
