"""benchgate's own hooks, for plugins and ``conftest.py`` files that extend the suite.

Registered by :func:`benchgate.plugin.pytest_addhooks` (as pytest-xdist does with its
``newhooks``). Implement them like any pytest hook, in a ``conftest.py`` beside the benchmarks
or in a plugin::

    def pytest_benchgate_report_written(config, path, report):
        post_to_dashboard(report)

Under ``pytest -n N`` there is one controller process (it writes the reports) and N worker
processes (they run the items); each hook's docstring says on which it is called. Records and
reports are already redacted; hooks must not change them (they are the objects benchgate goes
on to write). An exception raised by a hook propagates as from any pytest hook.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from benchgate.extractive import Grader


@pytest.hookspec()
def pytest_benchgate_item_recorded(config: pytest.Config, records: list[dict[str, Any]]) -> None:
    """One benchmark item's records were taken into the session, on the controller.

    Called once per item that ran (passed, failed or errored; skipped items have no records),
    never on an xdist worker. ``records`` holds one record per repeat (``--repeats K``), each
    the dict its items file row will be (plus ``data``, the data source): ``benchmark``,
    ``model``, ``id``, ``nodeid``, ``repeat``, ``outcome``, ``passed``, ``score``,
    ``response``, ``latency_s``, ``usage``... Every record of one call has the same ``nodeid``.

    Without xdist it is called as the item's test report is made, before the next item runs.
    Under ``-n N`` the workers spool their records to files the controller reads: it reads
    what is new after each test report it receives (so the hook follows the run, one item
    behind at most), and the rest when the session finishes (e.g. after a crashed worker or
    Ctrl-C), before the reports are written; each item is still passed exactly once.

    :param config: the pytest config.
    :param records: the item's records, one per repeat, in repeat order.
    """


@pytest.hookspec()
def pytest_benchgate_report_written(config: pytest.Config, path: Path,
                                    report: dict[str, Any]) -> None:
    """A report and its items files were committed, on the controller.

    Called at the end of the session, once per report written (one per model under test:
    ``results/<model>/report.json`` or ``--report``), after the report and its
    ``<benchmark>.items.jsonl`` files were renamed into place and the report lock released;
    never on an xdist worker, and not at all when no report is written (no benchmark item
    ran, ``--collect-only``, a usage error, a second Ctrl-C during the write). For reporters
    that push results elsewhere (dashboards, chat): the terminal summary is printed after.

    :param config: the pytest config.
    :param path: the report file written, absolute.
    :param report: the whole report as written to ``path`` (every benchmark section in it,
        including those kept from earlier runs; each section's ``items`` names its items file
        in the same folder).
    """


@pytest.hookspec(firstresult=True)
def pytest_benchgate_make_grader(config: pytest.Config, spec: str) -> Grader | None:
    """A grader for a ``--grader`` value the suite does not know, or None.

    Called in ``pytest_configure`` of every process (the controller and each xdist worker,
    each getting its own grader; the items are graded where they run) when ``--grader``
    (or ``benchgate_grader`` in the ini file) is not ``regex``, ``llm`` or ``cmd:COMMAND``,
    which always mean the built-in graders. The first non-None result is the grader; when
    every implementation returns None the run stops with a usage error listing the valid
    choices.

    A grader is a callable ``grader(benchmark, item, response, expected)`` returning a
    :class:`benchgate.Grade` (or an awaitable of one: ``async def`` for graders that wait on
    I/O). It plugs in where ``--grader llm`` and ``cmd:`` do: on extractive benchmarks only,
    once per item and repeat, in the item's run coroutine on the process's event loop (a
    plain function blocks the loop while it runs: keep it quick). ``benchmark`` is the
    benchmark's name, ``item`` its dataset item (``item.id``), ``response`` the model's
    :class:`benchgate.Completion` (``.text``) and ``expected`` the benchmark's reference
    answer. An exception or a result that is not a ``Grade`` makes the item an error (never
    a failure). The report's ``run.grader`` is ``spec`` (a run with another one replaces the
    section).

    :param config: the pytest config.
    :param spec: the ``--grader`` value, stripped.
    """
