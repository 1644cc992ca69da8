"""Throughput and cached-rerun figures (a benchmark that prints numbers, not a timed test).

1. Simulator at 200 ms latency, GSM8K-shaped items, concurrency 1/8/32/64: items/s measured
   at the server (first request to last response) and the ratio to the ideal C / 0.2 s.
2. Cached rerun of 10,000 items: wall ms per item for the whole pytest process, peak RSS.

Usage: python bench/throughput.py [--items 500] [--cached-items 10000]
Items are generated here (arithmetic problems in the upstream schema), not upstream data.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKDIR = REPO / "bench" / "workdir" / "throughput"
sys.path.insert(0, str(REPO))

from benchgate.simproc import SimProcess, get_json, post_json, sim_root  # noqa: E402


def write_items(n: int) -> Path:
    """A --data-dir holding ``n`` generated GSM8K-shaped problems."""
    root = WORKDIR / f"data-{n}"
    path = root / "gsm8k" / "test.jsonl"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = (json.dumps({"question": f"Tom has {i} marbles and wins {i % 97 + 1} more. "
                            "How many does he have?",
                            "answer": f"{i}+{i % 97 + 1}={i + i % 97 + 1}\n#### {i + i % 97 + 1}"})
                for i in range(n))
        path.write_text("\n".join(rows) + "\n")
    return root


def run_pytest(args: list[str], cwd: Path) -> tuple[float, int]:
    """Run pytest in a child; return (wall seconds, exit status)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    cmd = [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "gsm8k"), "-q",
           "-p", "no:cacheprovider", "--tb=no", "--no-header", *args]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"pytest failed ({proc.returncode}): {proc.stderr[-500:]}")
    return time.perf_counter() - start, proc.returncode


def throughput(items: int, latency_ms: float, levels: list[int], xdist: bool) -> None:
    print(f"## throughput: simulator at {latency_ms:.0f} ms, GSM8K-shaped items")
    print(f"{'concurrency':>11} {'items':>6} {'workers':>7} {'items/s':>8} {'ideal':>7} "
          f"{'ratio':>6} {'wall s':>7}")
    sim = SimProcess(accuracy=0.7, latency_ms=latency_ms, fail_rate=0)
    try:
        for conc in levels:
            n = items if conc >= 8 else min(items, 50)
            data = write_items(n)
            for workers in ([1, 2] if xdist else [1]):
                post_json(sim_root(sim.url) + "/sim/reset", {})
                extra = ["-n", str(workers)] if workers > 1 else []
                wall, _ = run_pytest(["--endpoint", sim.url, "--model", "sim", "--data-dir",
                                      str(data), "--concurrency", str(conc), "--no-cache",
                                      *extra], WORKDIR)
                stats = get_json(sim_root(sim.url) + "/sim/stats")
                span = stats["last_done"] - stats["first_request"]
                rate = stats["completions"] / span
                ideal = conc / (latency_ms / 1000)
                print(f"{conc:>11} {n:>6} {workers:>7} {rate:>8.1f} {ideal:>7.1f} "
                      f"{rate / ideal:>6.2f} {wall:>7.2f}")
    finally:
        sim.stop()


def cached_rerun(n: int) -> None:
    print(f"## cached rerun: {n} items")
    data = write_items(n)
    cache = WORKDIR / f"cache-{n}"
    sim = SimProcess(accuracy=0.7, latency_ms=0, fail_rate=0)
    try:
        args = ["--endpoint", sim.url, "--model", "sim", "--data-dir", str(data),
                "--concurrency", "64", "--cache-dir", str(cache)]
        cold, _ = run_pytest(args, WORKDIR)
        post_json(sim_root(sim.url) + "/sim/reset", {})
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        warm, _ = run_pytest(args, WORKDIR)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        calls = get_json(sim_root(sim.url) + "/sim/stats")["requests"]
    finally:
        sim.stop()
    print(f"cold run: {cold:.1f} s ({cold / n * 1000:.2f} ms/item, simulator at 0 ms)")
    print(f"warm run: {warm:.1f} s = {warm / n * 1000:.2f} ms/item (target <= 2), model calls "
          f"{calls}, peak RSS {max(peak, before) / 1024:.0f} MB (target <= 400; max over "
          "children so far)")
    print(f"warm/cold speed-up: {cold / warm:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--concurrency", default="1,8,32,64")
    parser.add_argument("--cached-items", type=int, default=10_000)
    parser.add_argument("--xdist", action="store_true", help="also run each level with -n 2")
    args = parser.parse_args()
    WORKDIR.mkdir(parents=True, exist_ok=True)
    throughput(args.items, args.latency_ms, [int(c) for c in args.concurrency.split(",")],
               args.xdist)
    if args.cached_items:
        cached_rerun(args.cached_items)


if __name__ == "__main__":
    main()
