"""Terminal output that scales to thousands of wrong answers.

pytest prints one FAILURES entry and one short-summary line per failed test: 18,000 lines
for the ~6,000 wrong answers of an MMLU-Pro regrade. Here at most ``--max-failures-shown``
(default 20) failures per benchmark get an entry and a summary line; the rest are counted in
one line pointing at the items file, where every verdict is; errors (a dead endpoint's
remaining items) are capped the same way. ``--max-failures-shown 0`` shows all of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Generator
from typing import Any

import pytest

from benchgate import options

DEFAULT_SHOWN = 20
KINDS = {"failed": "failed", "error": "errored"}  # pytest's stats keys, and how a line says them
SUMMARIZING = pytest.StashKey[bool]()


def in_summary(config: pytest.Config) -> bool:
    """Whether pytest is printing its end-of-session summaries (``-v`` words stay plain there:
    the short summary adds each failure's message itself)."""
    return config.stash.get(SUMMARIZING, False)


def _benchmark(report: Any) -> str | None:
    """The benchmark (task name, hence items file) of a benchmark item's report, else None."""
    props = dict(getattr(report, "user_properties", ()))
    return str(props["benchmark"]) if props.get("outcome") and props.get("benchmark") else None


class FailureCap:
    """Hides failures beyond the cap from pytest's summaries, then says where they are."""

    def __init__(self, config: pytest.Config, folder: Callable[[], str]) -> None:
        self.config = config
        self.folder = folder  # where the items files are
        self.hidden: dict[tuple[str, str], int] = {}

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> Generator[None]:
        self.config.stash[SUMMARIZING] = True
        try:
            yield from self._capped(terminalreporter)
        finally:
            self.config.stash[SUMMARIZING] = False

    def _capped(self, terminalreporter: Any) -> Generator[None]:
        raw = options.get(self.config, "max_failures_shown")
        limit = DEFAULT_SHOWN if raw is None else int(raw)
        # errors too: a dead endpoint otherwise prints one ERROR block per remaining item
        every = {kind: terminalreporter.stats.get(kind, []) for kind in KINDS}
        if limit <= 0 or all(len(reports) <= limit for reports in every.values()):
            yield
            return
        for kind, reports in every.items():
            shown: list[Any] = []
            counts: defaultdict[str, int] = defaultdict(int)
            for report in reports:
                bench = _benchmark(report)
                counts[bench or ""] += 1
                if bench is None or counts[bench] <= limit:
                    shown.append(report)
                else:
                    self.hidden[(kind, bench)] = self.hidden.get((kind, bench), 0) + 1
            if reports:
                terminalreporter.stats[kind] = shown
        try:
            yield
        finally:
            for kind, reports in every.items():
                if reports:
                    terminalreporter.stats[kind] = reports
        for (kind, bench), count in sorted(self.hidden.items()):
            terminalreporter.write_line(
                f"... and {count} more {KINDS[kind]} items: see {self.folder()}/{bench}.items.jsonl "
                "(--max-failures-shown 0 lists all)")


def quick_report(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport | None:
    """A failed benchmark item's report with its one-line verdict as ``longrepr``, built
    without pytest's traceback formatting (the bulk of the cost of 6,000 wrong answers)."""
    if call.when != "call" or call.excinfo is None or \
            not call.excinfo.errisinstance(AssertionError) or \
            item.config.getoption("tbstyle") not in ("auto", "short", "line", "no"):
        return None
    message = str(call.excinfo.value).split("\n", 1)[0]
    return pytest.TestReport(item.nodeid, item.location, dict.fromkeys(item.keywords, 1),
                             "failed", message, "call", [], call.duration, call.start,
                             call.stop, list(item.user_properties))


class QuickReports:
    """Registers :func:`quick_report` for benchmark items (``is_benchmark`` tells which)."""

    def __init__(self, is_benchmark: Callable[[pytest.Item], bool]) -> None:
        self.is_benchmark = is_benchmark

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item,
                                  call: pytest.CallInfo[None]) -> pytest.TestReport | None:
        return quick_report(item, call) if self.is_benchmark(item) else None
