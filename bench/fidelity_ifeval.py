"""IFEval fidelity: grade the reference's published GPT-4 responses through the plugin.

Converts ``DIR/ifeval/input_response_data_gpt4_20231107_145030.jsonl`` (google-research
``instruction_following_eval/data``; rows ``{"prompt", "response"}``) to a ``--responses`` file
by joining on the prompt text to ``input_data.jsonl``'s ``key``, runs ``benchmarks/ifeval`` on
all 541 items with ``--data-dir`` and prints the report's four accuracies next to the current
(deterministic) reference revision's 77.08 / 83.69 / 79.67 / 85.61. The often quoted
76.89 / 83.57 / 79.48 / 85.49 come from an older revision that replaces the non-letter
``letter_frequency`` kwargs of keys 1122 and 1129 with a random letter (see
tests/fidelity/test_ifeval_fidelity.py). Needs NLTK's Punkt model (``NLTK_DATA``).

Usage: NLTK_DATA=../shared/nltk_data python bench/fidelity_ifeval.py --data-dir ../shared/datasets
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKDIR = REPO / "bench" / "workdir" / "fidelity_ifeval"
RESPONSES = "input_response_data_gpt4_20231107_145030.jsonl"
METRICS = ("prompt_level_strict_acc", "inst_level_strict_acc", "prompt_level_loose_acc",
           "inst_level_loose_acc")
EXPECTED = (77.08, 83.69, 79.67, 85.61)


def _jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def convert(folder: Path, out: Path) -> int:
    """Write the ``--responses`` JSONL (``{"id": key, "response": ...}``); returns its rows."""
    keys = {row["prompt"]: row["key"] for row in _jsonl(folder / "input_data.jsonl")}
    rows = [{"id": str(keys[r["prompt"]]), "response": r["response"]}
            for r in _jsonl(folder / RESPONSES)]
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                   encoding="utf-8")
    return len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("-n", dest="workers", help="xdist workers")
    args = parser.parse_args()
    data_dir = Path(args.data_dir).resolve()
    WORKDIR.mkdir(parents=True, exist_ok=True)
    responses = WORKDIR / "gpt4.responses.jsonl"
    count = convert(data_dir / "ifeval", responses)
    cmd = [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "ifeval"), "-q",
           "-p", "no:cacheprovider", "--data-dir", str(data_dir), "--model", "gpt4-20231107",
           "--responses", str(responses), "--no-cache", "--report", str(WORKDIR / "report.json")]
    if args.workers:
        cmd += ["-n", args.workers]
    start = time.perf_counter()
    status = subprocess.run(cmd, cwd=WORKDIR, stdout=subprocess.DEVNULL, check=False).returncode
    wall = time.perf_counter() - start
    section = json.loads((WORKDIR / "report.json").read_text())["benchmarks"]["ifeval"]
    got = tuple(round(100 * section["metrics"][k], 2) for k in METRICS)
    print(f"responses converted: {count}; items {section['n']}, errors {section['errors']}; "
          f"exit status {status} (failures are the model's); {wall:.1f} s")
    for key, value, want in zip(METRICS, got, EXPECTED, strict=True):
        print(f"  {key:<24} {value:6.2f}  reference {want:6.2f}  {'ok' if value == want else 'DIFF'}")
    return 0 if got == EXPECTED and section["n"] == 541 and not section["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
