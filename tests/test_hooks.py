"""benchgate's hooks (``benchgate/newhooks.py``) implemented in a ``conftest.py`` beside an
extractive benchmark of our own, in whole sessions with and without xdist: every call is logged
with the process that made it, so the tests see what each hook got, how often and where."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

XDIST = [pytest.param([], id="no-xdist"), pytest.param(["-n", "2"], id="xdist-2")]
IDS = [str(i) for i in range(6)]
BENCHMARK = '''
import re
from dataclasses import dataclass

from benchgate import Grade, Task, Verdict
from benchgate.extractive import Extractive


@dataclass(frozen=True)
class Sum:
    id: str
    a: int
    b: int


def load(data):
    return [Sum(str(i), i, 10 * i) for i in range(6)]


def messages(item):
    return [{"role": "user", "content": f"What is {item.a} + {item.b}?"}]


def extract(item, text):
    found = re.findall(r"-?[0-9]+", text)
    return found[-1] if found else None


def compare(item, got, text):
    want = str(item.a + item.b)
    return Grade(passed=got == want, score=float(got == want), expected=want, extracted=got)


def sim_reply(item, correct):
    return f"The answer is {item.a + item.b if correct else -1}"


TASK = Task(name="sums", load=load, messages=messages, extractive=Extractive(extract, compare),
            sim_reply=sim_reply)


@TASK
def test_sums(item, verdict: Verdict) -> None:
    assert verdict.passed, verdict.message
'''
CONFTEST = '''
import json
from pathlib import Path

from benchgate import Grade

LOG = Path(__file__).with_name("hooks.jsonl")
CONFIG = []


def pytest_configure(config):
    CONFIG.append(config)


def log(config, hook, **entry):
    entry.update(hook=hook, worker=getattr(config, "workerinput", {}).get("workerid"))
    with open(LOG, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\\n")


def pytest_runtest_logreport(report):
    if report.when == "teardown" and not hasattr(CONFIG[0], "workerinput"):
        log(CONFIG[0], "teardown", nodeid=report.nodeid)


def pytest_benchgate_item_recorded(config, records):
    log(config, "item_recorded", ids=[r["id"] for r in records],
        nodeids=[r["nodeid"] for r in records], repeats=[r["repeat"] for r in records])


def pytest_benchgate_report_written(config, path, report):
    log(config, "report_written", path=str(path), report=report)


def everything_passes(benchmark, item, response, expected):
    return Grade(passed=True, score=1.0, expected=expected, extracted=response.text)


async def odd_ids_pass(benchmark, item, response, expected):
    return Grade(passed=int(item.id) % 2 == 1, score=0.5, expected=expected, extracted=benchmark)


def broken(benchmark, item, response, expected):
    raise ValueError("no grade today")


def pytest_benchgate_make_grader(config, spec):
    log(config, "make_grader", spec=spec)
    return {"everything-passes": everything_passes, "odd-ids": odd_ids_pass,
            "broken": broken}.get(spec)
'''


@pytest.fixture
def bench(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(test_sums=BENCHMARK, conftest=CONFTEST)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--model", "sim", *args,
                                         timeout=300)


def calls(pytester: pytest.Pytester, hook: str | None = None) -> list[dict[str, Any]]:
    path = pytester.path / "hooks.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return [r for r in rows if hook is None or r["hook"] == hook]


def section(pytester: pytest.Pytester) -> dict[str, Any]:
    report = json.loads((pytester.path / "results" / "sim" / "report.json").read_text())
    result: dict[str, Any] = report["benchmarks"]["sums"]
    return result


@pytest.mark.parametrize("xdist", XDIST)
def test_reporters_see_every_item_once_and_the_report_as_written(bench: pytest.Pytester,
                                                                 xdist: list[str]) -> None:
    result = run(bench, "--repeats", "2", "--sim-accuracy", "0.5", *xdist)
    assert result.ret in (0, 1), result.stdout.str()
    recorded = calls(bench, "item_recorded")
    assert sorted(r["ids"][0] for r in recorded) == IDS  # every item, exactly once
    for row in recorded:
        assert row["worker"] is None and row["repeats"] == [0, 1]
        assert row["ids"] == [row["ids"][0]] * 2
        assert row["nodeids"] == [f"test_sums.py::test_sums[{row['ids'][0]}]"] * 2
    log = calls(bench)
    teardowns = [i for i, r in enumerate(log) if r["hook"] == "teardown"]
    assert len(teardowns) == 6
    assert log.index(recorded[0]) < teardowns[-1]  # as the run goes, not only at its end
    written = calls(bench, "report_written")
    path = bench.path / "results" / "sim" / "report.json"
    assert len(written) == 1 and written[0]["worker"] is None
    assert written[0]["path"] == str(path)
    assert written[0]["report"] == json.loads(path.read_text())
    assert written[0]["report"]["benchmarks"]["sums"]["n"] == 6
    assert not calls(bench, "make_grader")  # the default grader asks no plugin


def test_no_report_hook_when_nothing_is_written(bench: pytest.Pytester) -> None:
    assert run(bench, "--collect-only", "-q").ret == 0
    assert run(bench, "-k", "nothing_matches").ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert not calls(bench, "report_written") and not calls(bench, "item_recorded")
    run(bench, "-k", "test_sums and 3")  # one item: one report, one item
    assert [r["ids"] for r in calls(bench, "item_recorded")] == [["3"]]
    assert len(calls(bench, "report_written")) == 1


@pytest.mark.parametrize("xdist", XDIST)
def test_a_plugin_grader_decides_the_verdicts(bench: pytest.Pytester, xdist: list[str]) -> None:
    result = run(bench, "--sim-accuracy", "0", "--grader", "everything-passes", *xdist)
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=6)
    sums = section(bench)
    assert (sums["score"], sums["passed"], sums["run"]["grader"]) == (1.0, 6, "everything-passes")
    rows = [json.loads(line) for line in
            (bench.path / "results" / "sim" / "sums.items.jsonl").read_text().splitlines()]
    assert {r["extracted"] for r in rows} == {"The answer is -1"}  # what the grader returned
    asked = calls(bench, "make_grader")
    assert {r["spec"] for r in asked} == {"everything-passes"}
    assert None in {r["worker"] for r in asked}  # the controller validates it too
    if xdist:
        assert {r["worker"] for r in asked} == {None, "gw0", "gw1"}


def test_an_async_plugin_grader_and_another_one_replaces_the_section(bench: pytest.Pytester) -> None:
    run(bench, "--grader", "everything-passes")
    result = run(bench, "--grader", "odd-ids")
    assert result.ret == 1, result.stdout.str()
    result.assert_outcomes(passed=3, failed=3)
    result.stdout.fnmatch_lines(["*sums: replaced the previous section*grader*"])
    sums = section(bench)
    assert (sums["passed"], sums["run"]["grader"]) == (3, "odd-ids")


def test_a_plugin_grader_that_raises_makes_one_line_errors(bench: pytest.Pytester) -> None:
    result = run(bench, "--grader", "broken")
    result.assert_outcomes(errors=6)
    result.stdout.fnmatch_lines(["*--grader broken: the grader raised ValueError on item 0: "
                                 "no grade today*"])
    assert "Traceback" not in result.stdout.str()
    assert (section(bench)["errors"], section(bench)["failed"]) == (6, 0)


def test_an_unknown_grader_is_one_usage_error(bench: pytest.Pytester) -> None:
    result = run(bench, "--grader", "nosuch")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.stderr.lines if line.strip()]
    assert errors == ["ERROR: benchgate: --grader 'nosuch': use regex, llm or cmd:COMMAND (a "
                      "shell command that reads one JSON object per item on stdin), or a value "
                      "a plugin's pytest_benchgate_make_grader hook accepts (none did)"], errors
    assert [r["spec"] for r in calls(bench, "make_grader")] == ["nosuch"]
    assert not Path(bench.path / "results").exists()


OWN_VERDICT = '''

import pytest

from benchgate import Verdict


@pytest.fixture
def verdict():
    return Verdict(passed=False, score=0.0, grades=(), message="a verdict of our own")
'''


def test_pytests_fixture_path_where_it_shows(bench: pytest.Pytester) -> None:
    """The plugin hands its verdict to a test directly, skipping pytest's fixture machinery,
    only where nothing could tell: ``--setup-show`` still shows the fixture set up, and a
    conftest's own ``verdict`` fixture is still the one a test gets."""
    shown = run(bench, "--setup-show")
    shown.assert_outcomes(passed=5, failed=1)  # the simulator gets item 3 wrong
    assert sum("SETUP    F verdict" in line for line in shown.outlines) == 6
    (bench.path / "conftest.py").write_text(CONFTEST + OWN_VERDICT)
    own = run(bench)
    own.assert_outcomes(failed=6)
    assert sum(line.startswith("FAILED") and line.endswith("a verdict of our own")
               for line in own.outlines) == 6
