"""The README's "Writing a benchmark" example, run as written in an empty folder outside the
repository: the installed plugin (``pytest11`` entry point) must be all it needs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def first_python_block(section: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    body = text.split(f"## {section}", 1)[1]
    match = re.search(r"```python\n(.*?)```", body, re.DOTALL)
    assert match, f"no python block under '## {section}'"
    return match.group(1)


def test_writing_a_benchmark_example_runs_outside_the_repo(tmp_path: Path) -> None:
    (tmp_path / "test_capitals.py").write_text(first_python_block("Writing a benchmark"))
    run = subprocess.run([sys.executable, "-m", "pytest", "test_capitals.py", "--model", "sim",
                          "--sim-accuracy", "1", "-p", "no:cacheprovider", "-q"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    report = json.loads((tmp_path / "results" / "sim" / "report.json").read_text())
    section = report["benchmarks"]["capitals"]
    assert (section["n"], section["passed"], section["metric"]) == (3, 3, "accuracy")
    wrong = subprocess.run([sys.executable, "-m", "pytest", "test_capitals.py", "--model", "sim",
                            "--sim-accuracy", "0", "-p", "no:cacheprovider", "-q"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 1 and "capitals fr: expected 'Paris'" in wrong.stdout
    assert not (REPO / "snapshots" / "capitals").exists()
