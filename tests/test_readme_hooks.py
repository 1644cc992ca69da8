"""The README's "Extending: hooks" conftest.py, run as written in an empty folder outside the
repository, beside the README's capitals benchmark and a copy of the GSM8K benchmark."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.test_readme_benchmark import REPO, first_python_block


def pytest_in(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", *args, "--model", "sim",
                           "-p", "no:cacheprovider", "-q"],
                          cwd=folder, capture_output=True, text=True, timeout=120)


def test_hooks_example_runs_as_written(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(first_python_block("Extending: hooks"))
    (tmp_path / "test_capitals.py").write_text(first_python_block("Writing a benchmark"))
    shutil.copytree(REPO / "benchmarks" / "gsm8k", tmp_path / "gsm8k",
                    ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    run = pytest_in(tmp_path, "test_capitals.py", "--sim-accuracy", "1")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    stream = [json.loads(line) for line in (tmp_path / "stream.jsonl").read_text().splitlines()]
    assert sorted((r["id"], r["passed"]) for r in stream) == [("fr", True), ("jp", True),
                                                             ("ke", True)]
    report = tmp_path / "results" / "sim" / "report.json"
    assert json.loads((tmp_path / "dashboard.json").read_text()) == {
        "report": str(report), "scores": {"capitals": 1.0}}

    # GSM8K's reader takes the number after "The final answer is"; last-word takes "dollars"
    replies = {"0": "The final answer is 12 dollars", "1": "The final answer is 110",
               "2": "The final answer is 6"}
    (tmp_path / "out.jsonl").write_text("".join(json.dumps({"id": k, "response": v}) + "\n"
                                                for k, v in replies.items()))
    graded = pytest_in(tmp_path, "gsm8k", "--data", "sample", "--limit", "3", "--responses",
                       "out.jsonl", "--grader", "last-word")
    assert graded.returncode == 1, graded.stdout[-2000:] + graded.stderr[-2000:]
    section = json.loads(report.read_text())["benchmarks"]["gsm8k"]
    assert (section["run"]["grader"], section["n"], section["passed"]) == ("last-word", 3, 2)
    rows = (tmp_path / "results" / "sim" / "gsm8k.items.jsonl").read_text().splitlines()
    assert {r["id"]: r["extracted"] for r in map(json.loads, rows)} == {
        "0": "dollars", "1": "110", "2": "6"}
