"""AlpacaEval 2 end to end on published outputs: Mistral-7B-Instruct-v0.2 vs gpt4_1106_preview.

Converts the published ``Mistral-7B-Instruct-v0.2_model_outputs.json`` to a ``--responses``
file (ids = row index, rows checked against the eval set), runs the plugin on it with
``--judge sim`` and prints the report's figures. The verdicts are the simulator's, so these are
no fidelity figures: the sim judge sees only length (model preferred with probability
``logistic((len model - len baseline) / 100 chars)``), which makes two checks possible:

* the raw win rate against its expectation under that judge, and every item with a length gap
  of 1,000+ characters won exactly when the model's answer is the longer (order randomisation
  and verdict mapping end to end);
* the length-controlled win rate, which should sit near 50 for a judge that follows length only.

The grader's agreement with the published annotations (raw win rate 15.53 = leaderboard) is
checked by tests/fidelity/test_alpaca_eval_fidelity.py and printed here for context.

Usage: python bench/fidelity_alpaca_eval.py [--data-dir ../shared/datasets] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKDIR = REPO / "bench" / "workdir" / "alpaca_eval"
MODEL = "Mistral-7B-Instruct-v0.2"
sys.path.insert(0, str(REPO))

from graders.alpaca_eval import aggregate_alpaca_eval  # noqa: E402


def write_responses(folder: Path, limit: int | None) -> tuple[Path, list[tuple[int, int]]]:
    """The --responses file and each item's (model length, baseline length)."""
    outputs = json.loads((folder / f"{MODEL}_model_outputs.json").read_text())
    baseline = json.loads((folder / "gpt4_1106_preview_model_outputs.json").read_text())
    assert [r["instruction"] for r in outputs] == [r["instruction"] for r in baseline]
    rows = list(zip(outputs, baseline, strict=True))[:limit]
    WORKDIR.mkdir(parents=True, exist_ok=True)
    path = WORKDIR / "responses.jsonl"
    path.write_text("".join(json.dumps({"id": str(i), "response": m["output"]}) + "\n"
                            for i, (m, _) in enumerate(rows)))
    return path, [(len(m["output"]), len(b["output"])) for m, b in rows]


def run_plugin(data_dir: Path, responses: Path, limit: int | None) -> tuple[float, int]:
    cmd = [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "alpaca_eval"), "-q",
           "-p", "no:cacheprovider", "--tb=no", "--no-header", "--data-dir", str(data_dir),
           "--responses", str(responses), "--model", MODEL, "--judge", "sim", "--no-cache",
           "--report", str(WORKDIR / "report.json"), *(["--limit", str(limit)] if limit else [])]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=WORKDIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"pytest failed ({proc.returncode}): {proc.stderr[-800:]}")
    return time.perf_counter() - start, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(
        os.environ.get("BENCHGATE_DATA_DIR") or REPO.parent / "shared" / "datasets"))
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    folder = args.data_dir / "alpaca_eval"
    responses, lengths = write_responses(folder, args.limit)
    wall, _ = run_plugin(args.data_dir, responses, args.limit)
    section = json.loads((WORKDIR / "report.json").read_text())["benchmarks"]["alpaca_eval"]
    m = section["metrics"]
    print(f"## AlpacaEval 2: {MODEL} (published outputs) vs gpt4_1106_preview, judge = sim")
    print(f"items {section['n']}  errors {section['errors']}  wall {wall:.1f} s")
    print(f"win_rate {m['win_rate']:.2f} +/- {m['win_rate_se']:.2f} (SE)  "
          f"lc_win_rate {m['lc_win_rate']:.2f}  ci95 {section['ci95']}")
    print(f"wins {section['n_wins']}  losses {section['n_losses']}  draws {section['n_draws']}  "
          f"by position {json.dumps(section['by_position'])}")
    print(f"GLM {json.dumps(section['glm'])}")
    for note in section["notes"]:
        print(f"note: {note}")

    expected = 100 * sum(1 / (1 + math.exp(-max(-50.0, min(50.0, (a - b) / 100))))
                         for a, b in lengths) / len(lengths)
    print(f"check: expected win rate under the length-only sim judge {expected:.2f}, got "
          f"{m['win_rate']:.2f} ({(m['win_rate'] - expected) / m['win_rate_se']:+.1f} SE)")
    items = [json.loads(line) for line in (WORKDIR / "alpaca_eval.items.jsonl").open()]
    wide = [r for r in items if abs(r["metrics"]["model_length"] - r["metrics"]["baseline_length"])
            >= 1000]
    wrong = [r["id"] for r in wide if (r["outcome"] == "passed") !=
             (r["metrics"]["model_length"] > r["metrics"]["baseline_length"])]
    print(f"check: {len(wide)} items with a length gap >= 1000 chars, {len(wrong)} judged "
          f"against the length (ids {wrong[:10]}); model shown first in "
          f"{sum(r['metrics']['model_first'] for r in items)} of {len(items)}")

    annotations = json.loads(
        (folder / f"{MODEL}_alpaca_eval_gpt4_turbo_fn_annotations.json").read_text())
    published = aggregate_alpaca_eval(
        {"id": i, "preference": r["preference"], "model_output": r["output_2"],
         "baseline_output": r["output_1"]} for i, r in enumerate(annotations))
    print(f"context: published GPT-4 Turbo annotations, graded here: win_rate "
          f"{published['win_rate']:.2f} (leaderboard 15.53), lc_win_rate "
          f"{published['lc_win_rate']:.2f} (default annotator's leaderboard LC 17.11)")


if __name__ == "__main__":
    main()
