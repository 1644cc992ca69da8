"""HumanEval fidelity: grade reference-shaped completions through the plugin (``--responses``).

Upstream samples are ``{"task_id", "completion"}`` rows (openai/human-eval ``data/``); each
becomes ``{"id": task_id, "response": completion}``. Three runs of ``benchmarks/humaneval``
with ``--data-dir``:

* the 164 canonical solutions as completions: pass@1 = 1.0, as upstream;
* the body ``pass`` for every problem: pass@1 = 0.0;
* upstream ``example_samples.jsonl`` (6 samples of ``example_problem.jsonl``'s ``test/0``)
  with upstream's 3 s limit: the reference README prints ``{'pass@1': 0.4999999999999999}``.
  ``--responses`` holds one sample per item, so the problem is copied once per sample
  (``test/0#1`` ... ``test/0#6``) in a scratch data dir: the mean pass@1 over the copies is
  the reference's pass@1 of the one problem with n = 6.

Grading goes through :func:`benchgate.sandbox.run_check` (candidate and checker in separate
bubblewrap + seccomp sandboxes, plain-data results), as in the benchmark.

Usage: python bench/fidelity_humaneval.py --data-dir ../shared/datasets [-n 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WORKDIR = REPO / "bench" / "workdir" / "fidelity_humaneval"
Row = dict[str, Any]


def jsonl(path: Path) -> list[Row]:
    """Rows of a JSONL file."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def write_jsonl(path: Path, rows: list[Row]) -> Path:
    """Write ``rows`` as JSONL; returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def responses(samples: list[Row]) -> list[Row]:
    """Upstream samples (``task_id``, ``completion``) as ``--responses`` rows."""
    return [{"id": str(s["task_id"]), "response": s["completion"]} for s in samples]


def example_case(folder: Path, out: Path) -> tuple[Path, Path]:
    """(data dir, responses file) for ``example_samples.jsonl``: one problem copy per sample."""
    problems = {p["task_id"]: p for p in jsonl(folder / "example_problem.jsonl")}
    copies, answers = [], []
    for j, sample in enumerate(jsonl(folder / "example_samples.jsonl"), 1):
        task_id = f"{sample['task_id']}#{j}"
        copies.append({**problems[sample["task_id"]], "task_id": task_id})
        answers.append({"task_id": task_id, "completion": sample["completion"]})
    write_jsonl(out / "data" / "humaneval" / "HumanEval.jsonl", copies)
    return out / "data", write_jsonl(out / "example.responses.jsonl", responses(answers))


def run(name: str, data_dir: Path, rows: Path, workers: str | None, timeout: str) -> Row:
    """One plugin session on ``rows``; its report section plus the wall time and exit status."""
    report = WORKDIR / name / "report.json"  # its own folder: items files sit beside it
    cmd = [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "humaneval"), "-q",
           "-p", "no:cacheprovider", "--data-dir", str(data_dir), "--model", name,
           "--responses", str(rows), "--no-cache", "--report", str(report)]
    if workers:
        cmd += ["-n", workers]
    env = {**os.environ, "BENCHGATE_HUMANEVAL_TIMEOUT": timeout}
    start = time.perf_counter()
    status = subprocess.run(cmd, cwd=WORKDIR, stdout=subprocess.DEVNULL, env=env,
                            check=False).returncode
    section: Row = json.loads(report.read_text())["benchmarks"]["humaneval"]
    return {**section, "wall_s": time.perf_counter() - start, "status": status}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("-n", dest="workers", help="xdist workers")
    args = parser.parse_args()
    data_dir = Path(args.data_dir).resolve()
    folder = data_dir / "humaneval"
    WORKDIR.mkdir(parents=True, exist_ok=True)
    problems = jsonl(folder / "HumanEval.jsonl")
    make: dict[str, Callable[[Row], str]] = {
        "canonical": lambda p: p["canonical_solution"], "pass-body": lambda p: "    pass\n"}
    cases = [(name, data_dir, write_jsonl(WORKDIR / f"{name}.responses.jsonl", responses(
        [{"task_id": p["task_id"], "completion": fn(p)} for p in problems])), "10", want)
             for (name, fn), want in zip(make.items(), (1.0, 0.0), strict=True)]
    cases.append(("example-samples", *example_case(folder, WORKDIR / "example"), "3", 0.5))
    ok = True
    for name, root, rows, timeout, want in cases:
        sec = run(name, root, rows, args.workers, timeout)
        got = sec["metrics"]["pass@1"]
        ok = ok and abs(got - want) < 1e-9 and not sec["errors"]
        print(f"{name:<16} n={sec['n']:<4} pass@1={got:.4f} (reference {want:.4f}) "
              f"errors={sec['errors']} executions={sec.get('executions')} "
              f"{sec['wall_s']:.1f}s {'ok' if abs(got - want) < 1e-9 else 'DIFF'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
