"""Terminal output at scale: the 12,032-item MMLU-Pro regrade with default options vs ``--tb=no``.

Grades TIGER-Lab's published jamba-1.5-large 5-shot outputs (converted to a ``--responses``
file as in ``bench/fidelity_mmlu_pro.py``) twice, once with pytest's default traceback option
and once with ``--tb=no``, and prints each run's wall time and output line count, then the
ratio (issue #12: default must cost at most 1.3x ``--tb=no``). Runs alternate
(default, tb=no, default, ...) ``--rounds`` times so machine load hits both alike; the figure is
the median. Output goes to a file, not a terminal (what CI sees).

Usage: python bench/output_scale.py --data-dir ../shared/datasets [--rounds 2] [-n 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fidelity_mmlu_pro import convert

REPO = Path(__file__).resolve().parents[1]
WORKDIR = REPO / "bench" / "workdir" / "output_scale"


def run(cmd: list[str], log: Path) -> tuple[float, int, int]:
    """Wall seconds, exit status and output line count of ``cmd`` (stdout+stderr to ``log``)."""
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.run(cmd, cwd=WORKDIR, stdout=out, stderr=subprocess.STDOUT, check=False,
                              env={**os.environ, "COLUMNS": "120"})
    wall = time.perf_counter() - start
    lines = len(log.read_text(encoding="utf-8", errors="replace").splitlines())
    return wall, proc.returncode, lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each variant (median)")
    parser.add_argument("-n", dest="workers", help="xdist workers")
    args = parser.parse_args()
    data_dir = Path(args.data_dir).resolve()
    WORKDIR.mkdir(parents=True, exist_ok=True)
    responses = WORKDIR / "jamba.responses.jsonl"
    count = convert(data_dir / "mmlu_pro" / "jamba-1.5-large_5shot_predictions.jsonl", responses)
    base = [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "mmlu_pro"),
            "-p", "no:cacheprovider", "--data-dir", str(data_dir), "--model", "jamba-1.5-large",
            "--responses", str(responses), "--no-cache", "--report", str(WORKDIR / "report.json"),
            "--snapshot-dir", str(WORKDIR / "snapshots")]
    if args.workers:
        base += ["-n", args.workers]
    variants = {"default": [], "--tb=no": ["--tb=no"]}
    walls: dict[str, list[float]] = {name: [] for name in variants}
    lines: dict[str, int] = {}
    for _ in range(max(1, args.rounds)):
        for name, extra in variants.items():
            log = WORKDIR / f"{name.strip('-').replace('=', '_')}.log"
            wall, status, count_lines = run([*base, *extra], log)
            walls[name].append(wall)
            lines[name] = count_lines
            print(f"  {name}: {wall:.1f} s, exit {status}, {count_lines} lines ({log})",
                  flush=True)
    load = os.getloadavg()[0]
    print(f"responses: {count} items; load average (1 min) at the end {load:.2f}")
    for name in variants:
        print(f"{name}: median {statistics.median(walls[name]):.1f} s over "
              f"{len(walls[name])} run(s), {lines[name]} output lines")
    ratio = statistics.median(walls["default"]) / statistics.median(walls["--tb=no"])
    print(f"ratio default / --tb=no: {ratio:.2f} (target <= 1.30)")
    return 0 if ratio <= 1.3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
