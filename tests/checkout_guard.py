"""Tests never write into the checkout: files created under the repository while the suite
runs (and baselines changed under ``snapshots/``) fail the session, listed by path.

Only files that did not exist at the start count (people may edit the tree meanwhile); caches
of tools and the virtual environment are left out. Runs on the xdist controller (or the only
process), whose session spans every worker's.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SKIP = {".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", ".mypy_cache",
        ".ruff_cache", "node_modules"}
WATCHED = ("snapshots",)  # changed files here count too: baselines are data the suite ships
STATE = pytest.StashKey[tuple[float, set[str]]]()
WRITTEN = pytest.StashKey[list[str]]()


def files_under(root: Path) -> set[str]:
    """Repository-relative paths of every file, less the skipped folders."""
    found: set[str] = set()
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP and not d.endswith(".egg-info")]
        rel = os.path.relpath(folder, root)
        found.update(os.path.normpath(os.path.join(rel, n)) for n in names)
    return found


def written_since(root: Path, started: float, before: set[str]) -> list[str]:
    """Files created since ``started`` (not in ``before``), and watched files modified."""
    now = files_under(root)
    new = now - before
    for path in now & before:
        if path.startswith(WATCHED) and (root / path).stat().st_mtime >= started:
            new.add(path)
    return sorted(new)


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        session.config.stash[STATE] = (time.time(), files_under(REPO))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE, None)
    if state is None:
        return
    written = written_since(REPO, *state)
    if written:
        session.config.stash[WRITTEN] = written
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter,
                            config: pytest.Config) -> None:
    written = config.stash.get(WRITTEN, [])
    if written:
        more = f" and {len(written) - 10} more" if len(written) > 10 else ""
        terminalreporter.write_sep("=", "tests wrote into the checkout", red=True)
        terminalreporter.write_line(f"{REPO}: {', '.join(written[:10])}{more}", red=True)
