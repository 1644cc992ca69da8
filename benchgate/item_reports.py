"""What each benchmark test leaves behind: its records (built where it ran, then spooled or
kept), its small JUnit properties, its failure line, and its ``-v`` status word.

Records are built in ``pytest_runtest_makereport``, once per test, after setup (an error) or
after the call; see :mod:`benchgate.records` for their fields.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from benchgate import shard, smoke
from benchgate.errors import InfraError
from benchgate.plugin import BASELINE, RESULTS, SESSION, VERDICT, runtime_of
from benchgate.records import build, junit_properties
from benchgate.redact import redact
from benchgate.task import task_of
from benchgate.terminal import in_summary


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None]:
    task = task_of(item)
    if task is not None and call.when in ("setup", "call") and (call.when == "call" or call.excinfo):
        rt = runtime_of(item.config)
        error = None
        if call.when == "setup":
            outcome, error = "error", call.excinfo.exconly() if call.excinfo else "setup failed"
        elif call.excinfo is None:
            outcome = "passed"
        elif call.excinfo.errisinstance(InfraError):
            outcome, error = "error", call.excinfo.exconly()
        else:
            outcome = "skipped" if call.excinfo.errisinstance(pytest.skip.Exception) else "failed"
        source = rt.data.get(task.name)
        records = build(benchmark=task.name, model=rt.model_of(item),
                        item=item.callspec.params["item"],  # type: ignore[attr-defined]
                        nodeid=item.nodeid, outcome=outcome, verdict=item.stash.get(VERDICT, None),
                        results=item.stash.get(RESULTS, []),
                        error=None if error is None else redact(error),
                        data=source.describe() if source else {},
                        baseline=item.stash.get(BASELINE, None))
        # the records hold what is kept; items (and their stashes) live to the end
        if RESULTS in item.stash:
            del item.stash[RESULTS]
        if VERDICT in item.stash:
            del item.stash[VERDICT]
        shard.tag(item.config, task.name, records)
        smoke.tag(item, records)
        if outcome != "skipped":
            item.user_properties.extend(junit_properties(records))
            item.config.stash[SESSION].take(records)
    result = yield
    report: pytest.TestReport = result.get_result()  # type: ignore[attr-defined]
    if task is None or report.when not in ("setup", "call"):
        return
    if (report.when == "call" and report.failed and call.excinfo
            and call.excinfo.errisinstance(AssertionError)
            and item.config.getoption("tbstyle") == "auto"):
        message = str(call.excinfo.value).split("\n", 1)[0]
        base = item.stash.get(BASELINE, None)
        if base is not None and base["passed"]:
            message = f"regression vs {base['name']}: {message}"
        report.longrepr = redact(message)
    elif isinstance(report.longrepr, str):
        report.longrepr = redact(report.longrepr)
    elif report.failed and report.longrepr is not None:
        text = str(report.longrepr)
        if redact(text) != text:
            report.longrepr = redact(text)


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> Any:
    if report.when == "call" and ("outcome", "flaky") in report.user_properties:
        return "flaky", "~", ("FLAKY", {"yellow": True})
    if report.when != "call" or config.option.verbose <= 0 or report.skipped or \
            in_summary(config):  # the short summary adds the message itself
        return None
    props = dict(report.user_properties)
    if report.failed and "smoke" in props:
        return "failed", "F", (f"FAILED ({props['smoke']})", {"red": True})
    if "extracted" not in props:
        return None
    got, want = props["extracted"], props["expected"]
    if report.passed:
        shown = "" if got in ("[]", "null", '""', "{}") else f" (got {got})"
        return "passed", ".", (f"PASSED{shown}", {"green": True})
    if "message" in props:
        return "failed", "F", (f"FAILED ({props['message']})", {"red": True})
    return "failed", "F", (f"FAILED (got {got}, expected {want})", {"red": True})
