"""LiveBench fidelity: grade the published answers of zft-community-8b-bs4 through the plugin.

For every task under ``DIR/livebench/<category>/<task>/``, this writes a ``--data-dir`` copy of
``question.jsonl`` that keeps only the questions answered in
``model_answer/zft-community-8b-bs4.jsonl``, and a ``--responses`` file holding each answer's
last turn. It then runs ``benchmarks/livebench`` on them with ``--livebench-release all``: the
contributor also answered questions that have since been removed, and the default set would
drop them. It prints each task's score and the overall score next to the figures from
upstream's ``model_judgment/ground_truth_judgment.jsonl`` (overall 0.292651), and counts the
items whose score differs from upstream's by more than 1e-6.

AMPS_Hard's symbolic checks take about two minutes; ``--skip-amps`` leaves that task out.
Instruction following needs NLTK's Punkt data (``NLTK_DATA``); ``../shared/nltk_data`` is used
when the variable is unset.

Usage: python bench/fidelity_livebench.py --data-dir ../shared/datasets [--skip-amps]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from graders.livebench import CATEGORIES, aggregate_livebench  # noqa: E402

WORKDIR = REPO / "bench" / "workdir" / "fidelity_livebench"
MODEL = "zft-community-8b-bs4"
PUBLISHED_OVERALL = 0.292651
TOLERANCE = 1e-6


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def prepare(data_dir: Path, out: Path, tasks: list[str]) -> dict[str, dict[str, float]]:
    """Write ``out/data/livebench/...`` (answered questions only) and ``out/responses.jsonl``.

    Returns upstream's scores, task -> question_id -> score.
    """
    responses, upstream = [], {}
    for task in tasks:
        rel = Path(CATEGORIES[task]) / task
        folder = data_dir / "livebench" / rel
        answers = {a["question_id"]: a for a in _jsonl(folder / "model_answer" / f"{MODEL}.jsonl")}
        lines = [line for line in (folder / "question.jsonl").read_text(encoding="utf-8")
                 .splitlines() if line.strip() and json.loads(line)["question_id"] in answers]
        target = out / "data" / "livebench" / rel / "question.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        for qid, answer in answers.items():
            responses.append({"id": qid, "response": answer["choices"][0]["turns"][-1]})
        judged = _jsonl(folder / "model_judgment" / "ground_truth_judgment.jsonl")
        upstream[task] = {j["question_id"]: float(j["score"]) for j in judged}
    (out / "responses.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in responses), encoding="utf-8")
    return upstream


def plugin_args(out: Path) -> list[str]:
    """The benchgate options of the fidelity session (paths under ``out``)."""
    return ["--model", MODEL, "--data-dir", str(out / "data"), "--responses",
            str(out / "responses.jsonl"), "--livebench-release", "all", "--no-cache", "--tb=no"]


def compare(items: list[dict[str, Any]], upstream: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Per task: our mean and upstream's, item counts, and the items that disagree."""
    ours = {r["id"]: r for r in items if r["outcome"] != "error"}
    rows, theirs_records = {}, []
    for task, scores in upstream.items():
        diffs = [(qid[:12], want, ours[qid]["score"] if qid in ours else None)
                 for qid, want in scores.items()
                 if qid not in ours or abs(ours[qid]["score"] - want) > TOLERANCE]
        mine = [ours[qid]["score"] for qid in scores if qid in ours]
        rows[task] = {"n": len(scores), "graded": len(mine), "diffs": diffs,
                      "ours": sum(mine) / len(mine) if mine else 0.0,
                      "theirs": sum(scores.values()) / len(scores)}
        theirs_records += [{"id": qid, "task": task, "category": CATEGORIES[task], "score": s}
                           for qid, s in scores.items()]
    overall = aggregate_livebench(theirs_records)["score"]
    return {"tasks": rows, "upstream_overall": overall, "errors": len(items) - len(ours)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--skip-amps", action="store_true", help="leave AMPS_Hard out")
    args = parser.parse_args()
    tasks = [t for t in CATEGORIES if not (args.skip_amps and t == "AMPS_Hard")]
    WORKDIR.mkdir(parents=True, exist_ok=True)
    upstream = prepare(Path(args.data_dir).resolve(), WORKDIR, tasks)
    env = dict(os.environ)
    shared_nltk = REPO.parent / "shared" / "nltk_data"
    if not env.get("NLTK_DATA") and shared_nltk.is_dir():
        env["NLTK_DATA"] = str(shared_nltk)
    cmd = [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "livebench"), "-q",
           "-p", "no:cacheprovider", *plugin_args(WORKDIR),
           "--report", str(WORKDIR / "report.json")]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=WORKDIR, env=env, stdout=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    report = json.loads((WORKDIR / "report.json").read_text())["benchmarks"]["livebench"]
    items = _jsonl(WORKDIR / "livebench.items.jsonl")
    result = compare(items, upstream)
    print(f"LiveBench fidelity, {MODEL} ({len(items)} answers, pytest exit {proc.returncode}, "
          f"{wall:.0f} s)")
    print(f"{'category':<22} {'task':<17} {'n':>4} {'ours':>9} {'upstream':>9}  disagree")
    for task, row in result["tasks"].items():
        print(f"{CATEGORIES[task]:<22} {task:<17} {row['n']:>4} {row['ours']:>9.6f} "
              f"{row['theirs']:>9.6f}  {len(row['diffs'])}")
    for category, values in report["by_category"].items():
        print(f"  category {category:<22} {values['score']:.6f}")
    published = f" (published {PUBLISHED_OVERALL})" if not args.skip_amps else ""
    print(f"overall: report {report['score']:.6f}  upstream judgments "
          f"{result['upstream_overall']:.6f}{published}; errors {result['errors']}")
    disagree = sum(len(row["diffs"]) for row in result["tasks"].values())
    return 0 if disagree == 0 and abs(report["score"] - result["upstream_overall"]) < 1e-9 else 1


if __name__ == "__main__":
    raise SystemExit(main())
