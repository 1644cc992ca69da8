"""``--shard I/N`` and ``benchgate merge``: the same sample data run unsharded and as three
shards (one under xdist) against the simulator, merged, compared key by key; then the merges
that must be refused, each with one line and exit 4."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchgate import cli
from benchgate.shard import ShardError, assign, parse
from tests.conftest import REPO

pytestmark = pytest.mark.xdist_group("shard_merge")  # one worker builds the runs once

BENCHES = ("gsm8k", "mmlu_pro")
COMMON = ("--model", "sim", "--data", "sample", "--no-cache", "--sim-accuracy", "0.5",
          "--threshold", "gsm8k.accuracy=0.6", "-p", "no:cacheprovider", "-q")
VOLATILE_SECTION = {"run", "latency_s", "tokens_per_s", "items"}
VOLATILE_RECORD = {"latency_s", "endpoint"}


def pytest_run(cwd: Path, *args: str) -> int:
    cmd = [sys.executable, "-m", "pytest", *(str(REPO / "benchmarks" / b) for b in BENCHES),
           *COMMON, *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300).returncode


def merge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchgate.cli", "merge", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The unsharded run and shards 0..2 of 3 (shard 1 with -n 2), each its own report."""
    root = tmp_path_factory.mktemp("shards")
    codes = {"full": pytest_run(root, "--report", "full/report.json")}
    for i in range(3):
        xdist = ["-n", "2"] if i == 1 else []
        codes[f"s{i}"] = pytest_run(root, "--shard", f"{i}/3", "--report", f"s{i}/report.json",
                                    *xdist)
    return {"root": root, "codes": codes}


def report(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / "report.json").read_text())
    return data


def items(folder: Path, bench: str) -> list[dict[str, Any]]:
    text = (folder / f"{bench}.items.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line]


def test_merged_shards_equal_the_unsharded_run(runs: dict[str, Any]) -> None:
    root: Path = runs["root"]
    shards = [root / f"s{i}" for i in range(3)]
    done = merge(*map(str, shards), "--out", str(root / "merged"))
    assert done.returncode == runs["codes"]["full"] == 1, done.stderr  # the 0.6 gate fails
    full, merged = report(root / "full"), report(root / "merged")
    assert merged["gates"] == full["gates"]
    assert any(g["key"] == "gsm8k.accuracy" and not g["ok"] for g in merged["gates"])
    def no_urls(model: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in model.items() if k != "endpoints"}

    assert no_urls(merged["model"]) == no_urls(full["model"])
    assert merged["model"]["endpoints"] == [report(s)["model"]["endpoints"][0] for s in shards]
    for bench in BENCHES:
        want, got = full["benchmarks"][bench], merged["benchmarks"][bench]
        assert got.keys() == want.keys()
        for key in want.keys() - VOLATILE_SECTION:
            assert got[key] == want[key], (bench, key)
        assert got["baseline"]["broken"] + got["baseline"]["fixed"] > 0  # a real comparison
        assert got["items"]["count"] == want["items"]["count"]
        assert "shard" not in got["run"] and len(got["run"]["merged_from"]) == 3

        def strip(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [{k: v for k, v in r.items() if k not in VOLATILE_RECORD} for r in rows]

        assert strip(items(root / "merged", bench)) == strip(items(root / "full", bench))
        sizes = [report(s)["benchmarks"][bench]["n"] for s in shards]
        assert sum(sizes) == want["n"] and max(sizes) - min(sizes) <= 1
        ids = [{r["id"] for r in items(s, bench)} for s in shards]
        assert set.union(*ids) == {r["id"] for r in items(root / "full", bench)}
        assert sum(map(len, ids)) == len(set.union(*ids))  # disjoint


def test_merge_gates_on_its_own_thresholds(runs: dict[str, Any]) -> None:
    root: Path = runs["root"]
    shards = [str(root / f"s{i}") for i in range(3)]
    done = merge(*shards, "--out", str(root / "lenient"), "--threshold",
                 "gsm8k.accuracy=0.5", "--max-regression-p", "0.2")
    gates = {g["key"]: g for g in report(root / "lenient")["gates"]}
    assert gates["gsm8k.accuracy"]["ok"] and gates["gsm8k.accuracy"]["min"] == 0.5
    assert not gates["gsm8k.regression"]["ok"]  # 4 broken, 0 fixed: p = 0.125 < 0.2
    assert done.returncode == 1 and "gate gsm8k.regression: FAILED" in done.stdout


def _refusal(root: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run ``benchgate merge`` in this process (the suite's root as cwd); its one stderr line."""
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)
        code = cli.main(["merge", *args, "--out", str(root / "refused")])
    err = capsys.readouterr().err.strip()
    assert code == 4, err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert not (root / "refused" / "report.json").exists()
    return err


def _copy(root: Path, name: str, new: str) -> Path:
    target = root / new
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(root / name, target)
    return target


def test_merge_refuses_incomplete_overlapping_or_foreign_shards(
        runs: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    root: Path = runs["root"]
    s0, s1, s2 = (str(root / f"s{i}") for i in range(3))
    assert "shard(s) 2 of 3 missing (have 0, 1)" in _refusal(root, capsys, s0, s1)
    assert "given twice" in _refusal(root, capsys, s0, s1, s2, s1)
    assert "shard 0 is in both" in _refusal(root, capsys, s0, str(_copy(root, "s0", "s0copy")), s1, s2)
    assert "of an unsharded run" in _refusal(root, capsys, str(root / "full"))

    other = _copy(root, "s2", "s2sampling")
    data = report(other)
    data["benchmarks"]["gsm8k"]["run"]["sampling"] = {"temperature": 0.7}
    data["benchmarks"]["gsm8k"]["run"]["key"] = "0" * 16
    (other / "report.json").write_text(json.dumps(data))
    assert "ran with different sampling (run keys differ)" in _refusal(root, capsys, s0, s1, str(other))

    edited = _copy(root, "s2", "s2edited")
    lines = (edited / "gsm8k.items.jsonl").read_text().splitlines(keepends=True)
    (edited / "gsm8k.items.jsonl").write_text("".join(lines[1:]))
    assert "does not match the SHA-256" in _refusal(root, capsys, s0, s1, str(edited))

    subset = _copy(root, "s2", "s2subset")  # a shard that ran without one of its items
    data = report(subset)
    text = "".join(lines[1:])
    (subset / "gsm8k.items.jsonl").write_text(text)
    data["benchmarks"]["gsm8k"]["items"]["sha256"] = hashlib.sha256(text.encode()).hexdigest()
    (subset / "report.json").write_text(json.dumps(data))
    assert "the unsharded run has 14" in _refusal(root, capsys, s0, s1, str(subset))
    assert "--threshold nope.accuracy: no benchmark 'nope'" in _refusal(
        root, capsys, s0, s1, s2, "--threshold", "nope.accuracy=0.5")


def test_responses_with_unicode_line_separators_merge(runs: dict[str, Any]) -> None:
    root: Path = runs["root"]
    odd = _copy(root, "s2", "s2unicode")
    rows = items(odd, "gsm8k")
    rows[0]["response"] = "line\u2028separator\x85next\u2029paragraph"
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    (odd / "gsm8k.items.jsonl").write_text(text, encoding="utf-8")
    data = report(odd)
    data["benchmarks"]["gsm8k"]["items"]["sha256"] = hashlib.sha256(text.encode()).hexdigest()
    (odd / "report.json").write_text(json.dumps(data))
    done = merge(str(root / "s0"), str(root / "s1"), str(odd), "--out", str(root / "unicode"))
    assert done.returncode == 1, done.stderr
    merged = {r["id"]: r for r in items(root / "unicode", "gsm8k")}
    assert merged[rows[0]["id"]]["response"] == rows[0]["response"]


@settings(deadline=None)
@given(st.sets(st.text(min_size=1, max_size=6), max_size=60), st.integers(1, 7),
       st.sampled_from(BENCHES))
def test_slices_are_balanced_disjoint_and_independent_of_order(ids: set[str], count: int,
                                                               bench: str) -> None:
    deal = assign(bench, ids, count)
    assert deal == assign(bench, sorted(ids, reverse=True), count)
    sizes = [sum(1 for s in deal.values() if s == i) for i in range(count)]
    assert set(deal) == ids and max(sizes) - min(sizes) <= 1 and sum(sizes) == len(ids)


def test_shard_values_parse_or_say_why() -> None:
    assert (parse("2/4").index, parse(" 0 / 1 ").count) == (2, 1)
    for bad, why in (("4/4", "must be 0..3"), ("1/0", "N must be 1 or more"),
                     ("x", "expected I/N"), ("-1/3", "expected I/N")):
        with pytest.raises(ShardError, match=why):
            parse(bad)


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--shard", "3/3"], {}, "*--shard '3/3': I counts from 0, so it must be 0..2"),
    ([], {"BENCHGATE_SHARD": "5/2"}, "*benchgate: --shard '5/2': I counts from 0*"),
])
def test_bad_shard_is_a_usage_error(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
                                    args: list[str], env: dict[str, str], message: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    result = pytester.runpytest_subprocess(str(REPO / "benchmarks" / "gsm8k"), "-p",
                                           "no:cacheprovider", "--model", "sim", "--data",
                                           "sample", *args, timeout=60)
    assert result.ret == 4
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str()


def test_shard_from_the_environment_runs_its_slice(pytester: pytest.Pytester,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCHGATE_SHARD", "1/2")
    result = pytester.runpytest_subprocess(str(REPO / "benchmarks" / "gsm8k"), "-p",
                                           "no:cacheprovider", "--model", "sim", "--data",
                                           "sample", "--collect-only", "-q", timeout=60)
    ids = sorted(line.rsplit("[", 1)[1].rstrip("]") for line in result.stdout.lines
                 if "::test_gsm8k[" in line)
    deal = assign("gsm8k", [str(i) for i in range(14)], 2)
    assert ids == sorted(i for i, s in deal.items() if s == 1) and len(ids) == 7


def test_more_shards_than_items_leaves_empty_shards_out(tmp_path: Path) -> None:
    # --limit 2 over 3 shards: one shard has no item (its session collects nothing, exit 5,
    # no report); the other two merge into the unsharded --limit 2 run's numbers
    run = [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "gsm8k"), *COMMON,
           "--limit", "2"]
    codes = [subprocess.run([*run, "--shard", f"{i}/3", "--report", f"s{i}/report.json"],
                            cwd=tmp_path, capture_output=True, timeout=300).returncode
             for i in range(3)]
    subprocess.run([*run, "--report", "full/report.json"], cwd=tmp_path, capture_output=True,
                   timeout=300)
    assert sorted(codes)[-1] == 5 and codes.count(5) == 1  # exactly one shard was empty
    given = [str(tmp_path / f"s{i}") for i, code in enumerate(codes) if code != 5]
    done = merge(*given, "--out", str(tmp_path / "merged"))
    assert done.returncode in (0, 1), done.stderr
    got = report(tmp_path / "merged")["benchmarks"]["gsm8k"]
    want = report(tmp_path / "full")["benchmarks"]["gsm8k"]
    assert (got["n"], got["score"], got["ci95"]) == (want["n"], want["score"], want["ci95"]) \
        and got["n"] == 2
