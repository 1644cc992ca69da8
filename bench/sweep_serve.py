"""A checkpoint sweep served one at a time: prints each server's up interval and the gaps.

Makes three checkpoint directories (``checkpoint-100``, ``-200``, ``-1000``) in a temporary
folder, a models file whose ``sft`` sweeps them with ``serve:`` (the tiny OpenAI-compatible
server tests/serving/ckpt_server.py, whose accuracy is the checkpoint's ``skill`` / 10), and
runs ``pytest test_sums.py --model sft`` serially and with ``-n 2``. Each server appends its own
``start``/``stop`` time (after it listens / as it shuts down) to an event log; the table shows
them relative to the first start, and ``gap`` (next start minus this stop) must be positive.

    python bench/sweep_serve.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.serving.helpers import HERE, checkpoint_dirs, intervals, read_events, server_command  # noqa: E402


def run(folder: Path, extra: list[str]) -> None:
    events = folder / "events.log"
    events.unlink(missing_ok=True)
    shutil.rmtree(folder / "results", ignore_errors=True)
    env = {**os.environ, "CKPT_EVENTS": str(events), "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pytest", "test_sums.py", "--model", "sft",
                           "-p", "no:cacheprovider", "--no-cache", "-q", *extra], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=300)
    wall = time.monotonic() - started
    spans = intervals(read_events(events))
    t0 = spans[0][1]
    print(f"\npytest test_sums.py --model sft {' '.join(extra)}: exit {done.returncode}, "
          f"{wall:.2f} s wall")
    print(f"{'checkpoint':<16} {'start s':>8} {'stop s':>8} {'up s':>6} {'gap s':>7} "
          f"{'accuracy':>8} {'n':>3}")
    for i, (name, start, stop) in enumerate(spans):
        gap = spans[i + 1][1] - stop if i + 1 < len(spans) else None
        found = json.loads((folder / "results" / f"sft@{name}" / "report.json").read_text())
        section = found["benchmarks"]["sums"]
        print(f"{name:<16} {start - t0:8.3f} {stop - t0:8.3f} {stop - start:6.3f} "
              f"{'-' if gap is None else f'{gap:.3f}':>7} {section['score']:8.3f} {section['n']:3d}")
    overlap = any(spans[i + 1][1] <= spans[i][2] for i in range(len(spans) - 1))
    print(f"servers overlapping: {'YES' if overlap else 'no'}")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="benchgate-sweep-") as tmp:
        folder = Path(tmp)
        shutil.copy(HERE / "sums_bench.py", folder / "test_sums.py")
        checkpoint_dirs(folder)
        (folder / "models.yaml").write_text(
            "models:\n  sft:\n"
            f"    serve: {{command: {json.dumps(server_command())}, ready_timeout: 60}}\n"
            "    checkpoints: ckpts/checkpoint-*\n")
        run(folder, [])
        run(folder, ["-n", "2"])


if __name__ == "__main__":
    main()
