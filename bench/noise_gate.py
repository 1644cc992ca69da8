"""False-alarm rate and power of the noise-aware regression gate (issue #13) on GSM8K.

The simulator runs with ``--sim-flaky 0.1``: a tenth of the items are coin flips per sampling
seed, the others right or wrong whatever the seed, 70% right in all. Each trial records a
baseline of 5 repeats and one later run, at the baseline's accuracy (false alarms) or 1, 2, 5
and 10 points lower (power), and asks the gate the plugin uses
(:func:`benchgate.regression.compare` and :func:`benchgate.regression.gate`, at
``--max-regression-p``) whether the run regressed. The simulator's answers come from
:func:`benchgate.sim.item_right` on the prompts the plugin registers (no HTTP: 1,319 items x 6
runs x trials x scenarios would be hundreds of pytest sessions); the script first checks, on
every item, that the benchmark's grader passes the simulator's right answer and fails its wrong
one. ``--e2e`` also runs one trial through real pytest sessions (baseline with
``--snapshot-update --repeats 5``, then the run) and checks that the report's p and flaky count
equal the direct computation.

    python bench/noise_gate.py --data-dir ../shared/datasets [--trials 20] [--e2e]

Prints, per scenario, how often the gate failed the run (Wilson 95% interval) in two designs:
the CI workflow, one baseline (``--snapshot-update --repeats 5``: seeds 0-4) and runs at seeds
5, 6, ...; and a fresh baseline per trial (seeds s..s+4, run s+5, s = 1000, 1010, ...), whose
rate is the test's unconditional one (one baseline's own draw of its flaky items shifts the rate
its later runs see). For contrast: how often ``--strict-regressions`` (any single regression
fails) would have failed an unchanged model.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchgate import regression  # noqa: E402
from benchgate.aggregate import wilson  # noqa: E402
from benchgate.data import DataSource  # noqa: E402
from benchgate.grading import verdict_of  # noqa: E402
from benchgate.sim import SimConfig, item_right  # noqa: E402
from benchgate.task import Completion  # noqa: E402
from benchmarks.gsm8k.test_gsm8k import TASK  # noqa: E402

REPEATS = 5


def load(data_dir: Path) -> list[tuple[str, str]]:
    """(item id, the prompt the simulator keys on) for every GSM8K test item, after checking
    that the grader agrees with the simulator's right and wrong replies."""
    items = TASK.load(DataSource("gsm8k", "dir", root=data_dir))
    out = []
    for item in items:
        ((prompt, (right, wrong)),) = TASK.sim_answers(item).items()
        for text, want in ((right, True), (wrong, False)):
            if verdict_of(TASK, item, [Completion(text=text)], 7.0).passed is not want:
                raise SystemExit(f"gsm8k {item.id}: the grader disagrees with the simulator")
        out.append((str(item.id), prompt))
    return out


def baseline_of(prompts: list[tuple[str, str]], sim: SimConfig, seed: int) -> dict[str, dict[str, Any]]:
    """Per item, what ``--snapshot-update --repeats 5 --seed seed`` records."""
    base = {}
    for item_id, prompt in prompts:
        won = sum(item_right(sim, prompt, seed + r) for r in range(REPEATS))
        base[item_id] = {"name": "sim", "passed": won * 2 > REPEATS, "repeats": REPEATS,
                         "passed_repeats": won}
    return base


def run_records(prompts: list[tuple[str, str]], sim: SimConfig, seed: int,
                base: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The records of one later run (one repeat) as the plugin builds them."""
    records = []
    for item_id, prompt in prompts:
        right = item_right(sim, prompt, seed)
        records.append({"id": item_id, "repeat": 0, "outcome": "passed" if right else "failed",
                        "passed": right, "baseline": base[item_id]})
    return records


def trial(prompts: list[tuple[str, str]], accuracy: float, drop: float, seed: int, flaky: float,
          max_p: float, base: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One baseline + run pair: the comparison and whether the gate (and strict mode) failed."""
    if base is None:
        base = baseline_of(prompts, SimConfig(accuracy=accuracy, flaky=flaky), seed)
    now = SimConfig(accuracy=accuracy - drop, flaky=flaky)
    cmp = regression.compare(run_records(prompts, now, seed + REPEATS, base))
    assert cmp is not None
    gate = regression.gate("gsm8k", cmp, max_p)
    return {"cmp": cmp, "failed": not gate["ok"], "strict_failed": cmp["broken"] > 0 or not gate["ok"]}


def rate(hits: int, trials: int) -> str:
    """``k/n = r% (95% CI lo-hi)`` with Wilson's interval."""
    low, high = wilson(hits / trials, trials)
    return f"{hits}/{trials} = {hits / trials:.1%} (95% CI {low:.1%}-{high:.1%})"


def e2e_check(data_dir: Path, flaky: float, seed: int, direct: dict[str, Any]) -> None:
    """One trial through real pytest sessions (xdist -n 2): the report must match ``direct``."""
    with tempfile.TemporaryDirectory() as tmp:
        common = [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "gsm8k"), "-q",
                  "-p", "no:cacheprovider", "--model", "sim", "--data-dir", str(data_dir),
                  "--sim-flaky", str(flaky), "--snapshot-dir", str(Path(tmp) / "snaps"),
                  "--cache-dir", str(Path(tmp) / "cache"), "-n", "2"]
        t0 = time.perf_counter()
        for extra in (["--snapshot-update", "--repeats", str(REPEATS), "--seed", str(seed)],
                      ["--seed", str(seed + REPEATS)]):
            run = subprocess.run(common + extra, cwd=tmp, capture_output=True, text=True)
            if run.returncode not in (0, 1):
                raise SystemExit(f"e2e: pytest exited {run.returncode}\n{run.stdout[-3000:]}")
        report = json.loads((Path(tmp) / "results" / "sim" / "report.json").read_text())
        cmp = report["benchmarks"]["gsm8k"]["baseline"]
        keys = ("paired", "flaky", "fixed", "broken", "delta", "p", "test")
        got, want = ({k: c[k] for k in keys} for c in (cmp, direct))
        status = "matches" if got == want else f"DIFFERS from the direct {want}"
        print(f"e2e (2 pytest sessions, -n 2, {time.perf_counter() - t0:.0f} s): report {got} "
              f"{status}; exit status {run.returncode}")
        if got != want:
            raise SystemExit(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True, help="holds gsm8k/test.jsonl")
    parser.add_argument("--trials", type=int, default=20, help="seeds per scenario (20)")
    parser.add_argument("--flaky", type=float, default=0.1)
    parser.add_argument("--accuracy", type=float, default=0.7)
    parser.add_argument("--max-regression-p", type=float, default=0.05)
    parser.add_argument("--e2e", action="store_true", help="also check one trial end to end")
    args = parser.parse_args()
    t0 = time.perf_counter()
    prompts = load(args.data_dir)
    sim = SimConfig(accuracy=args.accuracy, flaky=args.flaky)
    share = sum(item_right(sim, p, 0) for _, p in prompts) / len(prompts)
    print(f"GSM8K test: {len(prompts)} items (grader agrees with the simulator on all "
          f"{2 * len(prompts)} replies); --sim-flaky {args.flaky}, --sim-accuracy "
          f"{args.accuracy} (seed 0: {share:.1%} right); baseline {REPEATS} repeats, run 1 "
          f"repeat; gate: {regression.SIGN_FLIP} test, fails on a drop with p < "
          f"{args.max_regression_p}")
    # the CI workflow: `--snapshot-update --repeats 5` (seeds 0-4), later runs at seeds 5, 6, ...
    base = baseline_of(prompts, sim, 0)
    fresh_seeds = [1000 + 10 * t for t in range(args.trials)]  # baseline s..s+4, run s+5
    first: dict[str, Any] = {}
    print(f"{'':<34} {'one baseline (seeds 0-4), runs at seeds 5..':<46} fresh baseline per trial")
    for drop in (0.0, 0.01, 0.02, 0.05, 0.10):
        one = [trial(prompts, args.accuracy, drop, t, args.flaky, args.max_regression_p, base=base)
               for t in range(args.trials)]
        fresh = [trial(prompts, args.accuracy, drop, s, args.flaky, args.max_regression_p)
                 for s in fresh_seeds]
        first.setdefault("cmp", fresh[0]["cmp"])
        label = "unchanged accuracy: false alarms" if drop == 0 else \
            f"{100 * drop:.0f}-point drop: power"
        print(f"{label:<34} {rate(sum(r['failed'] for r in one), args.trials):<46} "
              f"{rate(sum(r['failed'] for r in fresh), args.trials)}")
        if drop == 0:
            print(f"{'  --strict-regressions would fail':<34} "
                  f"{rate(sum(r['strict_failed'] for r in one), args.trials):<46} "
                  f"{rate(sum(r['strict_failed'] for r in fresh), args.trials)}")
            deltas = sorted(100 * r["cmp"]["delta"] for r in one)
            flaky = sorted(r["cmp"]["flaky"] for r in one)
            print(f"{'  (one baseline: flaky items':<34} {flaky[len(flaky) // 2]} (median), change "
                  f"of pass rate {deltas[0]:+.2f} to {deltas[-1]:+.2f} points)")
    print(f"measured in {time.perf_counter() - t0:.1f} s")
    if args.e2e:
        e2e_check(args.data_dir, args.flaky, fresh_seeds[0], first["cmp"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
