"""MT-Bench-101 pipeline fidelity: grade the dataset's golden replies through the benchmark.

Upstream (mtbench101/mt-bench-101, OpenCompass) publishes no per-dialogue model outputs or
judgments, so there is nothing to re-grade against published figures. What can be checked is
everything around the judge: this script writes the golden reply of every judged turn as a
``--responses`` file, runs ``benchmarks/mt_bench_101`` on it (judge: ``sim`` unless told
otherwise), and prints

- dialogues and judged turns graded (OpenCompass builds 3,615 judged turns from 1,388
  dialogues),
- whether each judged turn's model prompt is OpenCompass's ``dialogue`` (the golden ``pre_dia``
  less the judged turn's golden reply),
- the report's ``score`` next to OpenCompass's ``get_final_results`` recomputed from the
  items file (dialogue = min, task = mean, overall = mean over tasks), and the per-task table.

With a real judge (``--judge NAME`` or ``--judge-endpoint URL``) the score is the golden
replies' own MT-Bench-101 score under that judge.

Usage: python bench/fidelity_mt_bench_101.py --data-dir ../shared/datasets [--judge sim]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
WORKDIR = REPO / "bench" / "workdir" / "fidelity_mt_bench_101"
SKIP_FIRST = {"FR", "CR", "AR", "SA", "SC", "CM"}  # OpenCompass skip_first_tasks


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def golden_responses(dialogues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``{"id", "responses"}``: the golden reply of each judged turn, in turn order."""
    rows = []
    for d in dialogues:
        start = 1 if d["task"] in SKIP_FIRST else 0
        rows.append({"id": f"{d['task']}-{d['id']}",
                     "responses": [turn["bot"] for turn in d["history"][start:]]})
    return rows


def opencompass_dialogue(history: list[dict[str, str]], turn: int) -> list[dict[str, str]]:
    """What OpenCompass's ChatInferencer (infer_mode='last') sends for ``turn``."""
    messages: list[dict[str, str]] = []
    for t in history[:turn]:
        messages.append({"role": "user", "content": t["user"]})
        if t["bot"]:
            messages.append({"role": "assistant", "content": t["bot"]})
    return [*messages, {"role": "user", "content": history[turn]["user"]}]


def final_results(items: list[dict[str, Any]]) -> tuple[float, dict[str, float]]:
    """OpenCompass ``get_final_results``: min per dialogue, mean per task, mean of tasks."""
    by_task: dict[str, list[float]] = defaultdict(list)
    for rec in items:
        by_task[rec["category"]].append(min(rec["metrics"]["turn_ratings"]))
    tasks = {t: sum(v) / len(v) for t, v in by_task.items()}
    return sum(tasks.values()) / len(tasks), tasks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--judge", default="sim")
    parser.add_argument("--judge-endpoint")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    dialogues = read_jsonl(Path(args.data_dir) / "mt_bench_101" / "mtbench101.jsonl")
    WORKDIR.mkdir(parents=True, exist_ok=True)
    responses = WORKDIR / "golden.responses.jsonl"
    responses.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                                 for r in golden_responses(dialogues)), encoding="utf-8")
    cmd = [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "mt_bench_101"), "-q",
           "-p", "no:cacheprovider", "--data-dir", args.data_dir, "--model", "golden",
           "--responses", str(responses), "--judge", args.judge, "--report",
           str(WORKDIR / "report.json"), "--cache-dir", str(WORKDIR / "cache")]
    if args.judge_endpoint:
        cmd += ["--judge-endpoint", args.judge_endpoint]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    subprocess.run(cmd, cwd=WORKDIR, stdout=subprocess.DEVNULL, check=False)
    section = json.loads((WORKDIR / "report.json").read_text())["benchmarks"]["mt_bench_101"]
    items = read_jsonl(WORKDIR / "mt_bench_101.items.jsonl")
    by_id = {f"{d['task']}-{d['id']}": d for d in dialogues}
    turns = sum(len(r["metrics"]["turn_ratings"]) for r in items)
    # the items file keeps the last judged turn's prompt; compare it with OpenCompass's
    same = sum(r["messages"] == opencompass_dialogue(by_id[r["id"]]["history"],
                                                     r["metrics"]["turns"][-1] - 1)
               for r in items)
    score, tasks = final_results(items)
    print(f"dialogues graded {section['n']}, errors {section['errors']}, judged turns {turns}")
    print(f"last-turn model prompts equal to OpenCompass's: {same}/{len(items)}")
    print(f"score {section['score']:.4f} (ci95 {section['ci95']}), get_final_results "
          f"{score:.4f}, equal: {abs(score - section['score']) < 1e-9}")
    for task, value in sorted(tasks.items()):
        print(f"  {task}: {value:.3f} (n={section['by_category'][task]['n']})")
    for ability, entry in section["by_ability"].items():
        print(f"  {ability}: {entry['score']:.3f} ({', '.join(entry['tasks'])})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
