"""A progress line for long runs: items done/total, calls in flight, from cache, calls/s, ETA.

On a terminal the line sits on the row below pytest's own output and is redrawn in place
(about twice a second); it is erased before pytest writes anything, so pytest's dots and
``-v`` lines are never overwritten. Without a terminal (CI logs) one full line is printed every
``--progress-interval`` seconds (default 10; ``0`` turns the line off), on its own line. Nothing
is shown in the first seconds, with ``-qq`` or below, or without a model (the suite's own tests).

Figures: items done count every finished test the controller sees (xdist workers' reports
included). Calls and cache hits come from this process's scheduler; under ``pytest -n N`` each
worker attaches its counters to every test report it sends, so the controller shows the sum of
each worker's figures as of that worker's last finished test (a worker waiting on a slow item
sends nothing until it finishes). Calls/s is measured over the last 30 s, the ETA from the
item rate since the first item finished.
"""

from __future__ import annotations

import functools
import time
from collections import deque
from collections.abc import Callable, Generator
from typing import Any

import pytest

from benchgate import options

REPORT_ATTR = "benchgate_progress"  # the worker's counters on each TestReport
TTY_REFRESH_S = 0.5
FIRST_AFTER_S = 2.0
RATE_WINDOW_S = 30.0
# cursor control for the line below pytest's current line
_UP, _DOWN, _CLEAR = "\x1b[1A", "\x1b[1B", "\x1b[2K"


def counters_of(runtime: Any) -> dict[str, int]:
    """This process's figures: calls made, cache hits, requests in flight."""
    c = runtime.counters
    return {"calls": c.model_calls + c.judge_calls, "hits": c.cache_hits,
            "in_flight": runtime.in_flight()}


def format_eta(seconds: float | None) -> str:
    """``1h02m``, ``3m05s``, ``42s``, or ``-`` when unknown."""
    if seconds is None:
        return "-"
    s = max(0, round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 60}m{s % 60:02d}s" if s >= 60 else f"{s}s"


def progress_text(done: int, total: int, figures: dict[str, int], rate: float,
                  eta: float | None) -> str:
    """The line itself."""
    return (f"benchgate: {done}/{total} items, {figures.get('in_flight', 0)} calls in flight, "
            f"{figures.get('hits', 0)} from cache, {rate:.1f} calls/s, "
            f"ETA {format_eta(eta)}")


class WorkerCounters:
    """On an xdist worker: attaches this process's counters to every test report."""

    def __init__(self, figures: Callable[[], dict[str, int]], worker: str) -> None:
        self.figures = figures
        self.worker = worker

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self) -> Generator[None]:
        outcome = yield
        report = outcome.get_result()  # type: ignore[attr-defined]
        setattr(report, REPORT_ATTR, {"worker": self.worker, **self.figures()})


class Progress:
    """The controller's progress line (see the module docstring)."""

    def __init__(self, config: pytest.Config, figures: Callable[[], dict[str, int]],
                 interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.local = figures
        self.interval = interval
        self.clock = clock
        self.total = 0
        self.done = 0
        self.workers: dict[str, dict[str, int]] = {}
        self.start = clock()
        self.first_done: float | None = None
        self.last = 0.0
        self.samples: deque[tuple[float, int]] = deque()
        self.drawn = False  # a terminal line is on screen below pytest's cursor

    # -- counts ------------------------------------------------------------------------------
    def figures(self) -> dict[str, int]:
        """This process's figures, or the sum of the workers' latest."""
        if not self.workers:
            return self.local()
        total: dict[str, int] = {}
        for figures in self.workers.values():
            for key, value in figures.items():
                if key != "worker":
                    total[key] = total.get(key, 0) + int(value)
        return total

    def line(self) -> str:
        """The current progress line."""
        now = self.clock()
        figures = self.figures()
        calls = figures.get("calls", 0)
        self.samples.append((now, calls))
        while len(self.samples) > 2 and now - self.samples[0][0] > RATE_WINDOW_S:
            self.samples.popleft()
        t0, c0 = self.samples[0]
        rate = (calls - c0) / (now - t0) if now - t0 > 0.2 else 0.0
        eta = None
        if self.first_done is not None and self.done and now > self.start:
            per_item = (now - self.start) / self.done
            eta = per_item * max(0, self.total - self.done)
        return progress_text(self.done, self.total, figures, rate, eta)

    # -- hooks -------------------------------------------------------------------------------
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Serial run: the items this process will run."""
        self.total = len(session.items)
        self.start = self.clock()
        self.samples.append((self.start, 0))

    @pytest.hookimpl(optionalhook=True)  # xdist's hooks: -p no:xdist must still work
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        """Controller under xdist: every worker collects the same items."""
        if not self.total:
            self.total = len(ids)
            self.start = self.clock()
            self.samples.append((self.start, 0))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logstart(self) -> None:
        self.erase()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.erase()
        figures = getattr(report, REPORT_ATTR, None)
        if isinstance(figures, dict) and figures.get("worker"):
            self.workers[str(figures["worker"])] = figures
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.done += 1
            if self.first_done is None:
                self.first_done = self.clock()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logfinish(self) -> None:
        self.erase()

    @pytest.hookimpl(trylast=True, specname="pytest_runtest_logfinish")
    def pytest_runtest_logfinish_tick(self) -> None:
        self.tick()

    @pytest.hookimpl(tryfirst=True)
    def pytest_warning_recorded(self) -> None:
        self.erase()

    @pytest.hookimpl(tryfirst=True, optionalhook=True)
    def pytest_testnodedown(self) -> None:
        self.erase()

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self) -> None:
        self.erase()

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        self.erase()
        self.interval = 0  # nothing more once the summary starts

    # -- output ------------------------------------------------------------------------------
    def _reporter(self) -> Any:
        return self.config.pluginmanager.get_plugin("terminalreporter")

    def tick(self) -> None:
        """Print (or redraw) the line when it is due. Called from the main thread only:
        after each finished test, and while a serial run waits for a call."""
        tr = self._reporter()
        if tr is None or self.interval <= 0 or not self.total:
            return
        now = self.clock()
        if now - self.start < FIRST_AFTER_S:
            return
        if tr.isatty():
            if now - self.last >= TTY_REFRESH_S:
                self.last = now
                self._draw(tr, self.line())
        elif now - self.last >= self.interval and now - self.start >= self.interval \
                and self.done < self.total:
            self.last = now
            tw = tr._tw
            if tw.width_of_current_line:  # after pytest's dots: the dots go on below
                tw.line()
            tw.line(self.line())
            tw.flush()

    def _draw(self, tr: Any, text: str) -> None:
        tw = tr._tw  # pytest's TerminalWriter; raw writes keep its idea of the current line
        col = tw.width_of_current_line
        width = max(20, tw.fullwidth - 1)
        back = f"\r\x1b[{col}C" if col else "\r"
        move = _DOWN if self.drawn else "\n"  # "\n" makes the row (scrolling at the bottom)
        tw.write_raw(f"{move}\r{_CLEAR}{text[:width]}{_UP}{back}", flush=True)
        self.drawn = True

    def erase(self) -> None:
        """Remove the terminal line before pytest writes."""
        if not self.drawn:
            return
        self.drawn = False
        tr = self._reporter()
        if tr is None:
            return
        tw = tr._tw
        col = tw.width_of_current_line
        back = f"\r\x1b[{col}C" if col else "\r"
        tw.write_raw(f"{_DOWN}\r{_CLEAR}{_UP}{back}", flush=True)


def register(config: pytest.Config, runtime: Any) -> None:
    """Workers attach their counters to reports; the controller shows the line."""
    if runtime.model is None:
        return
    worker = getattr(config, "workerinput", None)
    figures = functools.partial(counters_of, runtime)
    if worker is not None:
        config.pluginmanager.register(WorkerCounters(figures, str(worker["workerid"])),
                                      "benchgate-progress-counters")
        return
    interval = float(options.get(config, "progress_interval"))
    if interval <= 0 or config.option.verbose <= -2 or config.option.collectonly:
        return
    line = Progress(config, figures, interval)
    config.pluginmanager.register(line, "benchgate-progress")
    runtime.on_wait = line.tick
