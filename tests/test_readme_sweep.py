"""The README's "Sweeping checkpoints" section as written: its models file and its three
commands, with a ``vllm`` stand-in first on PATH (tests/serving/shim.py) serving three
checkpoint directories one at a time under ``-n 2``, then ``benchgate compare`` on the sweep."""

from __future__ import annotations

import csv
import os
import re
import shlex
import subprocess
import sys

import pytest

from tests.conftest import REPO
from tests.serving.helpers import assert_one_at_a_time, checkpoint_dirs, read_events, readme_blocks, report
from tests.serving.shim import install

ORDER = ["checkpoint-100", "checkpoint-200", "checkpoint-1000"]


@pytest.mark.slow
def test_readme_sweep_runs_as_written(pytester: pytest.Pytester,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    (models,), (commands,) = readme_blocks("Sweeping checkpoints", "yaml"), readme_blocks(
        "Sweeping checkpoints", "bash")
    (pytester.path / "models.yaml").write_text(models)
    checkpoint_dirs(pytester.path / "runs" / "sft")
    (pytester.path / "runs" / "sft" / "ckpts").rename(pytester.path / "runs" / "sft" / "x")
    for name in ORDER:
        (pytester.path / "runs" / "sft" / "x" / name).rename(pytester.path / "runs" / "sft" / name)
    install(pytester.path / "bin")
    events = pytester.path / "events.log"
    monkeypatch.setenv("CKPT_EVENTS", str(events))
    monkeypatch.setenv("PATH", f"{pytester.path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("PYTEST_ADDOPTS", "--data sample --limit 4 -p no:cacheprovider")
    lines = [ln.split("#")[0].strip() for ln in commands.splitlines() if ln.strip()]
    sweep, single, compare = (shlex.split(ln) for ln in lines)
    assert sweep[:4] == ["pytest", "benchmarks/gsm8k", "--model", "sft"] and "-n" in sweep
    result = pytester.runpytest_subprocess(str(REPO / sweep[1]), *sweep[2:], timeout=240)
    assert result.ret == 1, result.stdout.str()[-2000:]
    assert_one_at_a_time(read_events(events), ORDER)
    digests = set()
    for name in ORDER:
        found = report(pytester.path, f"sft@{name}")
        assert (found["benchmarks"]["gsm8k"]["n"], found["benchmarks"]["gsm8k"]["errors"]) == (4, 0)
        log = (pytester.path / "results" / f"sft@{name}" / "server.log").read_text()
        assert f"argv: vllm serve {(pytester.path / 'runs/sft' / name).resolve()} --port" in log
        digests.add(found["model"]["fingerprint"]["digest"])
    assert len(digests) == 3
    events.unlink()
    again = pytester.runpytest_subprocess(str(REPO / single[1]), *single[2:], timeout=120)
    assert again.ret == 1 and "calls: 0 made, 4 from cache" in again.stdout.str()
    assert_one_at_a_time(read_events(events), ["checkpoint-200"])
    # the README's line presumes an activated venv: its scripts come first on PATH
    path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    done = subprocess.run(compare[0] + " " + " ".join(compare[1:]), shell=True, cwd=pytester.path,
                          capture_output=True, text=True, timeout=120,  # the shell expands the glob
                          env={**os.environ, "PATH": path})
    assert done.returncode == 0, done.stderr
    table = done.stdout[done.stdout.index("## Across the runs"):]
    rows = re.findall(r"^\| (sft@checkpoint-\d+) \| (\S+) \[", table, flags=re.M)
    assert [r[0] for r in rows] == [f"sft@{n}" for n in ORDER]  # natural, not the shell's order
    with (pytester.path / "sweep" / "sweep.csv").open() as fh:
        csv_rows = list(csv.DictReader(fh))
    accuracy = [r for r in csv_rows if r["metric"] == "accuracy"]
    assert [r["model"] for r in accuracy] == [f"sft@{n}" for n in ORDER]
    assert all(float(r["ci_low"]) <= float(r["value"]) <= float(r["ci_high"]) for r in accuracy)
    page = (pytester.path / "sweep.html").read_text()
    start = page.index("<h2>Across the runs")
    body = page[start:page.index("<h2>", start + 4)]
    metrics = {r["metric"] for r in csv_rows}
    assert body.count("<svg") == len(metrics)  # one line chart per metric
    assert "opacity: 0.18" in body  # the headline's interval band
    assert "<script" not in page and "<link" not in page  # self-contained: loads nothing
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
