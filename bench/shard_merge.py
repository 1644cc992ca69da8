"""Figures for ``--shard I/N`` + ``benchgate merge`` and for ``--smoke``, against the simulator.

    python bench/shard_merge.py [--data-dir DIR] [--shards N] [--benchmarks gsm8k,mmlu_pro]

Runs the benchmarks unsharded and as N shards (each its own report), merges the shards, and
prints each shard's item counts and wall time, the merge's wall time, and whether every
section key (apart from ``run``, latency, tok/s and the items digest), the gates and the items
files (apart from latency and endpoint) equal the unsharded run's. Then times the smoke tier
over every benchmark. Everything is written to a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
VOLATILE_SECTION = {"run", "latency_s", "tokens_per_s", "items"}
VOLATILE_RECORD = {"latency_s", "endpoint"}


def timed(cmd: list[str], cwd: Path) -> tuple[int, float, str]:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return done.returncode, time.perf_counter() - start, done.stdout + done.stderr


def load(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "report.json").read_text())
    return data


def rows(folder: Path, bench: str) -> list[dict[str, Any]]:
    lines = [x for x in (folder / f"{bench}.items.jsonl").read_text().split("\n") if x]
    return [{k: v for k, v in json.loads(x).items() if k not in VOLATILE_RECORD} for x in lines]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.environ.get("BENCHGATE_DATA_DIR"))
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--benchmarks", default="gsm8k,mmlu_pro")
    args = parser.parse_args()
    benches = args.benchmarks.split(",")
    data = ["--data-dir", args.data_dir] if args.data_dir else ["--data", "sample"]
    base = [sys.executable, "-m", "pytest", *(str(REPO / "benchmarks" / b) for b in benches),
            "--model", "sim", *data, "--no-cache", "--sim-accuracy", "0.6", "-q",
            "-p", "no:cacheprovider", "--threshold", f"{benches[0]}.accuracy=0.5"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        code, wall, _ = timed([*base, "--report", "full/report.json"], root)
        full = load(root / "full")
        print(f"data: {'dir ' + args.data_dir if args.data_dir else 'sample'}; benchmarks: "
              + ", ".join(f"{b} {full['benchmarks'][b]['n']} items" for b in benches))
        print(f"unsharded: exit {code}, {wall:.1f} s")
        for i in range(args.shards):
            code, wall, _ = timed([*base, "--shard", f"{i}/{args.shards}", "--report",
                                   f"s{i}/report.json"], root)
            sizes = ", ".join(f"{b} {load(root / f's{i}')['benchmarks'][b]['n']}" for b in benches)
            print(f"shard {i}/{args.shards}: exit {code}, {wall:.1f} s, items: {sizes}")
        merge = [sys.executable, "-m", "benchgate.cli", "merge",
                 *(str(root / f"s{i}") for i in range(args.shards)), "--out", str(root / "m")]
        code, wall, out = timed(merge, REPO)
        print(f"merge: exit {code}, {wall:.2f} s")
        if code == 4:
            print(out.strip())
            return 1
        merged = load(root / "m")
        for b in benches:
            want, got = full["benchmarks"][b], merged["benchmarks"][b]
            same = [k for k in want.keys() - VOLATILE_SECTION if got.get(k) == want[k]]
            differ = sorted(want.keys() - VOLATILE_SECTION - set(same))
            print(f"{b}: score unsharded {want['score']:.4f} merged {got['score']:.4f}; "
                  f"{len(same)} section keys equal, differing: {differ or 'none'}; items "
                  f"files equal: {rows(root / 'full', b) == rows(root / 'm', b)}")
        print(f"gates equal: {merged['gates'] == full['gates']}")
        smoke = [sys.executable, "-m", "pytest", str(REPO / "benchmarks"), "--model", "sim",
                 "--judge", "sim", "--data", "sample", "--smoke", "--no-cache", "-q",
                 "-p", "no:cacheprovider"]
        code, wall, out = timed(smoke, root)
        tail = [line for line in out.splitlines() if " passed" in line or " failed" in line]
        print(f"smoke, every benchmark (sample data): exit {code}, {wall:.1f} s, "
              f"{tail[-1] if tail else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
