"""The checkout guard itself: a file created under a watched root is named, one that existed
is not, and a changed baseline counts."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.checkout_guard import files_under, written_since


def test_new_files_and_changed_baselines_are_found(tmp_path: Path) -> None:
    (tmp_path / "snapshots").mkdir()
    (tmp_path / "old.txt").write_text("x")
    (tmp_path / "snapshots" / "base.ambr").write_text("a")
    (tmp_path / ".venv").mkdir()
    past = time.time() - 100
    for path in (tmp_path / "old.txt", tmp_path / "snapshots" / "base.ambr"):
        os.utime(path, (past, past))
    started, before = time.time(), files_under(tmp_path)
    assert written_since(tmp_path, started, before) == []
    (tmp_path / "old.txt").write_text("edited by a person")  # not created: not counted
    (tmp_path / ".venv" / "lib.py").write_text("")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "report.json").write_text("{}")
    (tmp_path / "snapshots" / "base.ambr").write_text("b")
    assert written_since(tmp_path, started, before) == [os.path.join("results", "report.json"),
                                                        os.path.join("snapshots", "base.ambr")]
