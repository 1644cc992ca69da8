"""MMLU-Pro fidelity and scale: grade TIGER-Lab's published jamba-1.5-large 5-shot outputs.

Converts ``DIR/mmlu_pro/jamba-1.5-large_5shot_predictions.jsonl`` (upstream
``eval_results/model_outputs_jamba-1.5-large_5shots``) to a ``--responses`` file
(``{"id": question_id, "response": model_outputs}``), runs ``benchmarks/mmlu_pro`` on all
12,032 items with ``--data-dir`` and prints the report's accuracy next to the published figure
(5,951/12,032 = 0.4946, unextracted answers counted wrong), ``accuracy_official``
(``--mmlu-pro-official-fill``; published 49.53), the collection time (a
``--collect-only`` run), the full run's wall time and the child's peak RSS. ``--tb=no``
because pytest's failure summary scans every report once per failure (quadratic: minutes for
the ~6,000 failures).

Usage: python bench/fidelity_mmlu_pro.py --data-dir ../shared/datasets [-n 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKDIR = REPO / "bench" / "workdir" / "fidelity_mmlu_pro"
PUBLISHED = (5951, 12032)
PUBLISHED_OFFICIAL = 0.4953


def convert(predictions: Path, out: Path) -> int:
    """Write the ``--responses`` JSONL; returns the row count."""
    rows = [json.loads(line) for line in predictions.read_text(encoding="utf-8").splitlines()
            if line.strip()]
    out.write_text("".join(json.dumps({"id": r["question_id"], "response": r["model_outputs"]},
                                      ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return len(rows)


def timed(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and exit status of ``cmd`` (run from the work folder, output discarded)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=WORKDIR, stdout=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("-n", dest="workers", help="xdist workers for the full run")
    args = parser.parse_args()
    data_dir = Path(args.data_dir).resolve()
    WORKDIR.mkdir(parents=True, exist_ok=True)
    responses = WORKDIR / "jamba.responses.jsonl"
    count = convert(data_dir / "mmlu_pro" / "jamba-1.5-large_5shot_predictions.jsonl", responses)
    base = [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "mmlu_pro"), "-q",
            "-p", "no:cacheprovider", "--data-dir", str(data_dir), "--model",
            "jamba-1.5-large", "--responses", str(responses), "--no-cache", "--tb=no",
            "--report", str(WORKDIR / "report.json"), "--mmlu-pro-official-fill"]
    collect_s, _ = timed([*base, "--collect-only"])
    full = [*base, "-n", args.workers] if args.workers else base
    total_s, status = timed(full)
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    section = json.loads((WORKDIR / "report.json").read_text())["benchmarks"]["mmlu_pro"]
    correct = section["passed"]
    print(f"responses converted: {count}; exit status {status}")
    print(f"accuracy {section['score']:.4f} ({correct}/{section['n']}), published "
          f"{PUBLISHED[0] / PUBLISHED[1]:.4f} ({PUBLISHED[0]}/{PUBLISHED[1]}), "
          f"equal: {(correct, section['n']) == PUBLISHED}; errors {section['errors']}; "
          f"unextracted {section['metrics']['unextracted']:.4f}")
    print(f"accuracy_official {section['metrics']['accuracy_official']:.4f} (random guess for "
          f"unextracted answers, seed 12345; published {PUBLISHED_OFFICIAL:.4f})")
    print(f"collection {collect_s:.1f} s, full run {total_s:.1f} s, peak RSS {peak_mib:.0f} MiB")
    for cat, entry in section["by_category"].items():
        print(f"  {cat}: {entry['accuracy']:.4f} (n={entry['n']})")
    return 0 if (correct, section["n"]) == PUBLISHED else 1


if __name__ == "__main__":
    raise SystemExit(main())
