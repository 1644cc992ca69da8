"""``--sim-faults``: the simulator's fault kinds from the plugin (issue #9, the simulator's
``--sim-fail-rate`` family). Real sessions against ``--model sim``."""

from __future__ import annotations

import json

import pytest

from benchgate.sim import FAULTS
from tests.integrity_server import section, suite

BAD_200 = "null-content,error-object,empty-choices,not-json,text-choice"


@pytest.mark.slow
def test_faulty_200s_from_the_simulator_leave_the_verdicts_alone(
        pytester: pytest.Pytester) -> None:
    clean = suite(pytester, "--model", "sim", "--data", "sample", "--no-cache")
    expected = section(pytester.path, "sim")
    faulty = suite(pytester, "--model", "sim", "--data", "sample", "--no-cache",
                   "--sim-fail-rate", "0.4", "--sim-faults", BAD_200, "--max-retries", "12")
    got = section(pytester.path, "sim")
    assert (got["passed"], got["failed"], got["errors"]) == \
        (expected["passed"], expected["failed"], 0)
    assert faulty.parseoutcomes() == clean.parseoutcomes()
    report = json.loads((pytester.path / "results" / "sim" / "report.json").read_text())
    card = report["model"]["fingerprint"]["card"]
    assert card["faults"] == BAD_200.split(",") and card["fail_rate"] == 0.4


def test_unknown_fault_kind_is_one_line_listing_the_valid_ones(pytester: pytest.Pytester) -> None:
    result = suite(pytester, "--model", "sim", "--data", "sample", "--sim-faults", "500,teapot")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [ln for ln in result.stderr.lines if ln.startswith("ERROR: ")]
    assert errors == [f"ERROR: benchgate: --sim-faults 500,teapot: unknown fault kind 'teapot' "
                      f"(valid: {', '.join(FAULTS)})"]


def test_sim_faults_from_pytest_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nbenchgate_sim_faults = drop,teapot\n")
    result = pytester.runpytest_subprocess(
        "-c", str(pytester.path / "tox.ini"), "--rootdir", str(pytester.path),
        str(pytester.path), "--model", "sim", "--data", "sample", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--sim-faults drop,teapot: unknown fault kind 'teapot'*"])


def test_the_kinds_reach_the_simulator(pytester: pytest.Pytester) -> None:
    result = suite(pytester, "--model", "sim", "--data", "sample", "--limit", "3",
                   "--sim-fail-rate", "1", "--sim-faults", "not-json", "--max-retries", "0")
    result.assert_outcomes(errors=3)
    rows = [json.loads(line) for line in (pytester.path / "results" / "sim" /
                                          "gsm8k.items.jsonl").read_text().splitlines()]
    assert all("HTTP 200 body is not JSON" in r["error"] for r in rows), rows[0]["error"]
