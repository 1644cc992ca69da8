"""Noise-aware regression gates (#13): the simulator's flaky items, the run-level paired test
(``benchgate.regression``), flaky outcomes and exit statuses in real sessions against a
``--repeats 5`` baseline, ``benchgate calibrate`` and the options' bad values.

Snapshots go to a tmp dir (``--snapshot-dir``), never into the checkout.
"""

from __future__ import annotations

import itertools
import json
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchgate import regression
from benchgate.sim import SimConfig, item_right
from tests.conftest import read_items, read_section

SAMPLE_N = 14
BASE = ("--model", "sim", "--data", "sample", "--sim-flaky", "0.5")


# --- unit: the simulator's flaky model ---------------------------------------------------

def test_sim_flaky_items_flip_and_the_others_never_do() -> None:
    config = SimConfig(accuracy=0.7, flaky=0.1)
    prompts = [f"item {i}" for i in range(2000)]
    rates = [statistics.fmean(item_right(config, p, seed) for seed in range(40)) for p in prompts]
    flipping = [r for r in rates if 0 < r < 1]
    # a coin-flip item is all-right or all-wrong over 40 seeds with probability 2^-39
    assert len(flipping) / len(prompts) == pytest.approx(0.1, abs=0.02)
    assert statistics.fmean(flipping) == pytest.approx(0.5, abs=0.03)
    assert statistics.fmean(rates) == pytest.approx(0.7, abs=0.03)
    # lowering accuracy only turns right items wrong; flaky items stay the same coin flips
    lower = SimConfig(accuracy=0.5, flaky=0.1)
    for p in prompts[:300]:
        for seed in range(5):
            assert not (item_right(lower, p, seed) and not item_right(config, p, seed))
    assert statistics.fmean(item_right(lower, p, 0) for p in prompts) == pytest.approx(0.5, abs=0.04)
    # without flaky, every (item, seed) is its own draw: most items flip over 40 seeds
    plain = SimConfig(accuracy=0.7)
    assert sum(0 < statistics.fmean(item_right(plain, p, s) for s in range(40)) < 1
               for p in prompts[:200]) > 190


# --- unit: compare() and the paired test --------------------------------------------------

def _recs(item: str, now: list[bool], won: int, of: int) -> list[dict[str, Any]]:
    base = {"name": "sim", "passed": won * 2 > of,
            **({"repeats": of, "passed_repeats": won} if of > 1 else {})}
    return [{"id": item, "outcome": "passed" if ok else "failed", "passed": now[0],
             "baseline": base} for ok in now]


def test_mcnemar_case_zero_fixed_eight_broken() -> None:
    records = [r for i in range(8) for r in _recs(f"b{i}", [False], 1, 1)]  # broken
    records += [r for i in range(6) for r in _recs(f"s{i}", [True], 1, 1)]  # still right
    records += [r for i in range(6) for r in _recs(f"k{i}", [False], 0, 1)]  # known failures
    cmp = regression.compare(records)
    assert cmp is not None
    assert (cmp["fixed"], cmp["broken"], cmp["flaky"]) == (0, 8, 0)
    assert cmp["test"] == regression.MCNEMAR
    assert cmp["p"] == pytest.approx(2 * 0.5**8) == pytest.approx(0.0078125)
    assert cmp["mcnemar_p"] == pytest.approx(0.0078125)
    assert cmp["delta"] == pytest.approx(-8 / cmp["paired"])
    gate = regression.gate("gsm8k", cmp, 0.05)
    assert gate["ok"] is False and gate["key"] == "gsm8k.regression"
    assert regression.gate("gsm8k", cmp, 0.005)["ok"] is True
    # the same split the other way round is an improvement: never a failed gate
    up = regression.compare([r for i in range(8) for r in _recs(f"f{i}", [True], 0, 1)])
    assert up is not None and up["p"] == pytest.approx(0.0078125) and up["delta"] > 0
    assert regression.gate("gsm8k", up, 0.05)["ok"] is True
    assert regression.paired_test([1, -1, 1, 0, -1]) == (regression.MCNEMAR, 1.0)
    assert regression.paired_test([0.0, 0.0]) == (regression.MCNEMAR, 1.0)


def _brute_force_p(deltas: list[float]) -> float:
    d = np.asarray([x for x in deltas if abs(x) > 1e-12])
    observed = abs(d.sum())
    flips = [abs(float(np.dot(signs, d))) >= observed - 1e-9
             for signs in itertools.product((1, -1), repeat=d.size)]
    return sum(flips) / len(flips)


def test_fractional_differences_use_the_exact_sign_flip_test() -> None:
    # baselines of 5 repeats, one-repeat runs: differences like 1 - 3/5, 0 - 4/5
    items = [("a", [False], 5, 5), ("b", [False], 4, 5), ("c", [False], 3, 5),
             ("d", [True], 2, 5), ("e", [False], 5, 5), ("f", [False], 1, 5),
             ("g", [True], 5, 5), ("h", [False], 0, 5), ("i", [False], 4, 5)]
    records = [r for item, now, won, of in items for r in _recs(item, now, won, of)]
    cmp = regression.compare(records)
    assert cmp is not None
    deltas = [(1.0 if now[0] else 0.0) - won / of for _, now, won, of in items]
    assert cmp["test"] == regression.SIGN_FLIP
    assert (cmp["fixed"], cmp["broken"], cmp["flaky"]) == (0, 2, 5)
    assert cmp["delta"] == pytest.approx(statistics.fmean(deltas))
    expected = _brute_force_p(deltas)
    assert 0 < expected < 1
    assert cmp["p"] == pytest.approx(expected)
    # the order of the items does not matter; repeats of this run average into its rate
    assert regression.paired_test(deltas[::-1]) == (regression.SIGN_FLIP, pytest.approx(expected))
    two = regression.compare(_recs("x", [True, False], 5, 5) + _recs("y", [False, False], 2, 5))
    assert two is not None and two["delta"] == pytest.approx(((0.5 - 1) + (0 - 0.4)) / 2)
    assert two["p"] == pytest.approx(_brute_force_p([-0.5, -0.4]))


# --- sessions --------------------------------------------------------------------------

def _baseline(run_bench: Callable[..., pytest.RunResult], path: Path) -> dict[str, int]:
    """Record a 5-repeat baseline into path/snaps; its passed_repeats per item."""
    result = run_bench(*BASE, "--repeats", "5", "--snapshot-update", "--snapshot-dir",
                       str(path / "snaps"))
    assert result.ret == 0
    files = sorted((path / "snaps" / "gsm8k" / "sim").glob("*.json"))
    assert len(files) == SAMPLE_N
    won = {}
    for f in files:
        snap = json.loads(f.read_text())
        assert snap["repeats"] == 5 and 0 <= snap["passed_repeats"] <= 5
        won[f.stem] = snap["passed_repeats"]
    flaky = sum(0 < w < 5 for w in won.values())
    assert 0 < flaky < SAMPLE_N  # the settings give both kinds of item
    return won


def _junit(path: Path) -> dict[str, dict[str, str]]:
    out = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        out[case.get("name", "")] = {p.get("name", ""): p.get("value", "")
                                     for p in case.iter("property")}
    return out


@pytest.mark.slow
def test_flaky_items_are_their_own_outcome_and_never_fail_the_run(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester) -> None:
    won = _baseline(run_bench, pytester.path)
    flaky = sum(0 < w < 5 for w in won.values())
    calib = subprocess.run([sys.executable, "-m", "benchgate.cli", "calibrate",
                            str(pytester.path / "results" / "sim" / "report.json")],
                           capture_output=True, text=True, timeout=60)
    assert calib.returncode == 0, calib.stderr
    out = calib.stdout
    assert f"gsm8k: 5 runs x {SAMPLE_N} items" in out
    assert "run-to-run SD" in out and f"flaky items (verdict flips within the 5 runs): {flaky}" in out
    assert "suggested: --max-regression-p 0.05; --threshold gsm8k.accuracy=" in out
    snaps = ("--snapshot-dir", str(pytester.path / "snaps"))
    result = run_bench(*BASE, "--seed", "7", *snaps, "--junitxml", "junit.xml")
    assert result.ret == 0
    section = read_section(pytester.path, "gsm8k")
    assert section["flaky"] == flaky
    outcomes = result.parseoutcomes()
    assert outcomes.get("flaky") == flaky
    result.stdout.fnmatch_lines([f"gsm8k vs baseline sim (5 repeats): {SAMPLE_N} paired, *flaky {flaky},*",
                                 f"gsm8k: {flaky} flaky item(s)*", "gate gsm8k.regression: ok*",
                                 f"*passed*, {flaky} flaky in *"])
    cases = _junit(pytester.path / "junit.xml")
    marked = {name: props for name, props in cases.items() if props.get("outcome") == "flaky"}
    assert len(marked) == flaky
    for name, props in marked.items():
        j = won[name]
        assert props["reason"] == f"flaky: baseline passed {j} of 5"
        assert props["graded"] in ("passed", "failed")
    stable = {r["id"] for r in read_items(pytester.path, "gsm8k")
              if not (0 < r["baseline"]["passed_repeats"] < 5)}
    assert len(stable) == SAMPLE_N - flaky
    # unchanged accuracy: the deterministic items did not move, so even strict passes
    strict = run_bench(*BASE, "--seed", "7", *snaps, "--strict-regressions")
    assert strict.ret == 0 and "failed" not in strict.parseoutcomes()


@pytest.mark.slow
def test_strict_regressions_and_a_big_drop_fail_the_run(
        run_bench: Callable[..., pytest.RunResult], pytester: pytest.Pytester) -> None:
    _baseline(run_bench, pytester.path)
    snaps = ("--snapshot-dir", str(pytester.path / "snaps"))
    # a small drop: stable items regress but the run-level test does not find it significant
    drop = ("--seed", "7", "--sim-accuracy", "0.6", *snaps)
    lenient = run_bench(*BASE, *drop)
    section = read_section(pytester.path, "gsm8k")
    gate = next(g for g in read_section_gates(pytester.path) if g["key"] == "gsm8k.regression")
    assert gate["broken"] >= 1 and gate["ok"] is True and gate["value"] >= 0.05
    assert lenient.parseoutcomes().get("failed") == gate["broken"]
    assert lenient.ret == 0
    strict = run_bench(*BASE, *drop, "--strict-regressions")
    assert strict.ret == 1 and strict.parseoutcomes().get("failed") == gate["broken"]
    assert section["flaky"] == gate["flaky"] > 0
    # a big drop fails the gate, under xdist too. Every answer wrong: without --sim-flaky (on
    # 14 items, half of them coin flips, the flips' noise hides even losing every stable item)
    big = run_bench("--model", "sim", "--data", "sample", "--seed", "7", "--sim-accuracy", "0",
                    *snaps, "-n", "2")
    assert big.ret == 1
    gate = next(g for g in read_section_gates(pytester.path) if g["key"] == "gsm8k.regression")
    assert gate["ok"] is False and gate["delta"] < 0 and gate["value"] < 0.05
    big.stdout.fnmatch_lines(["gate gsm8k.regression: FAIL*"])


def read_section_gates(path: Path) -> list[dict[str, Any]]:
    gates: list[dict[str, Any]] = json.loads((path / "results" / "sim" / "report.json")
                                             .read_text())["gates"]
    return gates


# --- calibrate and bad values ------------------------------------------------------------

def test_calibrate_bad_input_is_one_line_exit_2(tmp_path: Path) -> None:
    for args in ([str(tmp_path / "missing.json")], [str(tmp_path / "gone.items.jsonl")]):
        calib = subprocess.run([sys.executable, "-m", "benchgate.cli", "calibrate", *args],
                               capture_output=True, text=True, timeout=60)
        assert calib.returncode == 2
        assert calib.stdout == ""
        lines = calib.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("benchgate calibrate: ")
        assert "missing.json" in lines[0] or "gone.items.jsonl: no such file" in lines[0]


@pytest.mark.parametrize("args,message", [
    (("--max-regression-p", "2"), "--max-regression-p 2.0: use a p-value above 0 and at most 1"),
    (("--sim-flaky", "-1"), "--sim-flaky -1.0: use a fraction from 0 to 1"),
])
def test_bad_noise_gate_values_are_usage_errors(run_bench: Callable[..., pytest.RunResult],
                                                pytester: pytest.Pytester, args: tuple[str, ...],
                                                message: str) -> None:
    result = run_bench("--model", "sim", "--data", "sample", *args, "--snapshot-dir",
                       str(pytester.path / "snaps"))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    lines = [line for line in result.stderr.lines if line.strip()]
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in result.stdout.str() + result.stderr.str()
