"""pytest hooks: options, configuration, parametrization, scheduling and the report (what each
test leaves behind is :mod:`benchgate.item_reports`).

Loaded through the ``pytest11`` entry point. Inert unless a benchmark test is collected.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from benchgate import options, progress, shard, smoke
from benchgate.baseline import set_snapshot_root
from benchgate.data import DataSource, missing_field, select
from benchgate.errors import ConfigError, InfraError
from benchgate.exitstatus import threshold_problem
from benchgate.extractive import grader_problem
from benchgate.partition import share
from benchgate.regression import option_problem
from benchgate.responses import unknown_ids
from benchgate.runtime import Runtime
from benchgate.session import Session
from benchgate.task import Verdict, task_of
from benchgate.terminal import FailureCap, QuickReports

RUNTIME = pytest.StashKey[Runtime]()
SESSION = pytest.StashKey[Session]()
VERDICT = pytest.StashKey[Verdict]()
RESULTS = pytest.StashKey[Sequence[Any]]()
BASELINE = pytest.StashKey[dict[str, Any]]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from benchgate import newhooks

    pluginmanager.add_hookspecs(newhooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "benchgate(task): a benchmark test (set by Task)")
    try:
        problem = option_problem(lambda dest: options.get(config, dest))
        if problem:
            raise ConfigError(problem)
        runtime = Runtime(config)
        if runtime.model is not None and not hasattr(config, "workerinput"):
            try:
                runtime.probe()
            except BaseException:
                runtime.close()  # clients, simulator, served models: nothing left behind
                raise
    except (ConfigError, InfraError) as exc:
        raise pytest.UsageError(f"benchgate: {exc}") from None
    config.stash[RUNTIME] = runtime
    shard.configure(config)
    smoke.check_options(config)
    from benchgate.serving import ServeHooks, XdistServeHooks

    config.pluginmanager.register(ServeHooks(runtime), "benchgate-serve")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(XdistServeHooks(runtime), "benchgate-serve-xdist")
    unsafe = bool(options.get(config, "unsafe_no_sandbox"))
    if unsafe or "benchgate.sandbox_gate" in sys.modules:  # else the sandbox loads when needed
        from benchgate.sandbox_gate import set_unsafe

        set_unsafe(unsafe)
    snapshots = options.get(config, "snapshot_dir")
    set_snapshot_root(Path(snapshots) if snapshots else config.rootpath / "snapshots")
    config.stash[SESSION] = Session(config, runtime)
    config.pluginmanager.register(config.stash[SESSION], "benchgate-session")
    state = config.stash[SESSION]

    def folder() -> str:
        paths = {str(state.report_path(m).parent) for m in runtime.models} or {"results/<model>"}
        return paths.pop() if len(paths) == 1 else "results/<model>"

    config.pluginmanager.register(FailureCap(config, folder), "benchgate-failure-cap")
    config.pluginmanager.register(QuickReports(lambda i: task_of(i) is not None),
                                  "benchgate-quick-reports")
    from benchgate import item_reports

    config.pluginmanager.register(item_reports, "benchgate-item-reports")
    # registered first (tryfirst), so it runs after pytest's own final gc.collect
    config.add_cleanup(gc.unfreeze)
    progress.register(config, runtime)
    if config.pluginmanager.hasplugin("xdist"):
        from benchgate import xdist_hooks

        hooks = xdist_hooks.XdistHooks(runtime, config.stash[SESSION])
        config.pluginmanager.register(hooks, "benchgate-xdist")


def runtime_of(config: pytest.Config) -> Runtime:
    """This process's :class:`Runtime`."""
    return config.stash[RUNTIME]


def pytest_report_header(config: pytest.Config) -> list[str]:
    rt = config.stash.get(RUNTIME, None)
    if rt is None or rt.model is None:
        return []
    data = "dir " + str(options.get(config, "data_dir")) if options.get(config, "data_dir") \
        else options.get(config, "data")
    judge = "none"
    if rt.judge is not None:
        judge = f"{rt.judge.name} (served {rt.judge_served!r}) at {', '.join(rt.judge.endpoints)}"
    lines = [f"benchgate: model {m.name} (served {rt.served.get(m.name)!r}, revision "
             f"{m.revision or '-'}) at {', '.join(m.endpoints) or m.source}"
             for m in rt.models.values()]
    return [*lines, f"benchgate: judge {judge}; data {data}; cache {rt.cache_dir or 'off'}"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("benchgate")
    if marker is None or "item" not in metafunc.fixturenames:
        return
    task = marker.kwargs["task"]
    config = metafunc.config
    rt = runtime_of(config)
    data_dir = options.get(config, "data_dir")
    kind = "dir" if data_dir else options.get(config, "data")
    # sample data lives beside the benchmark module, wherever that module is
    root = Path(data_dir) if data_dir else Path(str(metafunc.module.__file__)).parent / "sample"
    source = DataSource(task.name, kind, root=root)
    try:
        try:
            loaded = task.load(source)
        except KeyError as exc:
            raise missing_field(source, str(exc.args[0])) from None
        if not loaded:
            raise ConfigError(f"{task.name}: the dataset has no items ({kind} source)")
        problem = threshold_problem(rt, [task]) or grader_problem(rt.grader, task,
                                                                  rt.judge is not None)
        if problem:
            raise ConfigError(problem)
        items = select(loaded, limit=options.get(config, "limit"),
                       per_category=options.get(config, "per_category"),
                       seed=options.get(config, "sample_seed"),
                       category=lambda i: getattr(i, "category", None))
        items = smoke.choose(task, loaded) if smoke.enabled(config) else \
            shard.pick(config, task.name, items)
        if rt.responses is not None:
            unknown = unknown_ids(rt.responses, [i.id for i in loaded])
            if unknown:
                rt.warnings.append(f"--responses: {len(unknown)} id(s) not in {task.name}'s "
                                   f"dataset (e.g. {unknown[0]!r}); they are not graded")
    except ConfigError as exc:
        if hasattr(config, "workerinput"):  # xdist shows a CollectError as its message only
            rt.data_errors.append(str(exc))  # and this worker makes no call
            raise pytest.Collector.CollectError(f"benchgate: {exc}") from None
        rt.data_errors.append(str(exc))  # a usage error once collection is done
        items = []
    rt.data[task.name] = source
    if len(rt.models) > 1:  # ids become "<model>-<item id>"
        if "bg_model" not in metafunc.fixturenames:  # single-model items skip the fixture
            metafunc.fixturenames.append("bg_model")
        metafunc.parametrize("bg_model", list(rt.models), ids=list(rt.models))
    metafunc.parametrize("item", items, ids=[str(i.id) for i in items])


def pytest_collection_finish(session: pytest.Session) -> None:
    rt = session.config.stash.get(RUNTIME, None)
    if rt is None:
        return
    on_worker = hasattr(session.config, "workerinput")
    if rt.data_errors:
        if on_worker:  # the controller turns the worker's CollectError into the usage error
            return
        raise pytest.UsageError(f"benchgate: {rt.data_errors[0]}")
    bench = [i for i in session.items if task_of(i) is not None]
    tasks = {t.name: t for i in bench if (t := task_of(i)) is not None}
    problem = threshold_problem(rt, list(tasks.values()), complete=True)
    if problem and on_worker:  # reported like a collection error, stopped on the controller
        session.config.hook.pytest_collectreport(report=pytest.CollectReport(
            "", "failed", f"benchgate: {problem}", []))
        return
    if problem:
        raise pytest.UsageError(f"benchgate: {problem}")
    if not bench or session.config.option.collectonly:
        return
    config = session.config
    if not config.option.update_snapshots or config.getoption("keyword") or \
            options.get(config, "limit") or options.get(config, "per_category") or \
            len(bench) < len(session.items) or config.getoption("lf", False):
        # Subsets must never report the rest of a baseline as unused, nor delete it on
        # --snapshot-update; baselines are read directly, not through syrupy's assertions.
        config.option.disable_unused_snapshots = True
    if rt.model is None:
        raise pytest.UsageError("benchgate: benchmarks need a model: pass --model NAME "
                                "(from models.yaml), --endpoint URL, or --model sim")
    judged = sorted({t.name for i in bench if (t := task_of(i)) is not None and t.needs_judge})
    if judged and rt.judge is None and rt.responses is None:
        raise pytest.UsageError(f"benchgate: {', '.join(judged)} need(s) a judge: pass --judge NAME "
                                "(from the models file), --judge-endpoint URL, or --judge sim")
    session.config.stash[SESSION].total = len(bench)
    # Items, their data and the modules live until the end: keep them out of every garbage
    # collection of the run (a cached rerun of 1,319 items spends ~10% of its time there).
    gc.freeze()
    worker = getattr(session.config, "workerinput", None)
    if worker is not None:
        if not worker.get("benchgate_partition"):
            return  # items arrive one by one; each is fetched when it runs
        k, n = int(worker["workerid"][2:]), int(worker["workercount"])
        bench = [item for i in share(len(session.items), k, n)
                 if task_of(item := session.items[i]) is not None]
    rt.prefetch(bench)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    state = session.config.stash.get(SESSION, None)
    if state is None:
        return
    rt = runtime_of(session.config)
    rt.close()
    if hasattr(session.config, "workerinput"):
        if state.spool is not None:
            state.spool.close()
        return
    state.collect_spool()
    state.interrupted = exitstatus == pytest.ExitCode.INTERRUPTED
    try:
        gate_failed = state.finish()
    except KeyboardInterrupt:  # a second Ctrl-C: the commit itself is atomic
        state.lines.append("interrupted while writing the report: the previous one is intact")
        session.exitstatus = pytest.ExitCode.INTERRUPTED
        return
    session.exitstatus = state.exit_status(session.exitstatus, gate_failed)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(SESSION, None)
    if state is None or not state.lines:
        return
    terminalreporter.write_sep("=", "benchgate summary")
    for line in state.lines:
        red = "FAILED" in line or "errored" in line
        terminalreporter.write_line(line, red=red, bold=red)


def pytest_unconfigure(config: pytest.Config) -> None:
    rt = config.stash.get(RUNTIME, None)
    if rt is not None:
        rt.close()


__all__ = ["BASELINE", "RESULTS", "RUNTIME", "VERDICT", "runtime_of"]
