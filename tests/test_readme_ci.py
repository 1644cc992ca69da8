"""The README's CI example runs as written."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.conftest import REPO


def readme_pytest_line() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    ci = text[text.index("## In CI"):]
    line = next(ln.strip() for ln in ci.splitlines() if "run: pytest benchmarks" in ln)
    args = shlex.split(line.split("run:", 1)[1])
    assert args[0] == "pytest"
    return args[1:]


def readme_compare_line() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    ci = text[text.index("## In CI"):]
    line = next(ln.strip() for ln in ci.splitlines() if "run: benchgate compare" in ln)
    args = shlex.split(line.split("run:", 1)[1])
    assert args[:2] == ["benchgate", "compare"]
    return args[2:]


def test_readme_ci_command_runs_and_gates(run_bench: Callable[..., pytest.RunResult],
                                          pytester: pytest.Pytester) -> None:
    args = readme_pytest_line()
    bench = args[0].split("/", 1)[1]
    result = run_bench(*args[1:], benchmark=bench)
    assert result.ret == 0, result.stdout.str()[-2000:]
    result.stdout.fnmatch_lines(["gate gsm8k.accuracy >= 0.5: ok*", "gate gsm8k.regression: ok*"])
    junit = (pytester.path / "junit.xml").read_text()
    assert junit.count("<testcase") == 14 and 'name="score"' in junit
    report = json.loads((pytester.path / "results" / "sim" / "report.json").read_text())
    assert {g["key"] for g in report["gates"]} == {"gsm8k.accuracy", "gsm8k.regression"}
    assert all(g["ok"] for g in report["gates"])

    # the comparison step, as written, against a kept reference report (here: this run's own)
    compare_args = readme_compare_line()
    reference = pytester.path / compare_args[0]
    reference.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(pytester.path / "results" / "sim" / "report.json", reference)
    done = subprocess.run([sys.executable, "-m", "benchgate.cli", "compare", *compare_args],
                          cwd=pytester.path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (pytester.path / "report.html").read_text().lstrip().lower().startswith("<!doctype html")
