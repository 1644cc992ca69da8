"""When the servers the suite starts run: one served model at a time, judges for the session.

The controller (the only process under ``-n N`` that starts servers; workers get endpoints)
starts the first served model while configuring, and each next one when the previous model's
last item has reported (its teardown report): model k's server is stopped before model k+1's
starts, so a sweep holds one GPU's worth of server at any time. Benchmark items are ordered
model by model (:class:`ServeHooks`), so every process works through the sweep in the same
order; under ``-n N`` the workers therefore finish one model together before the next starts.

Each started model's facts (endpoint, served id, fingerprint, or the start error) are written
to ``<state dir>/<i>.json``; a process's calls for a served model wait for that file
(:meth:`Serving.ready`) before they go out, so calls prefetched right after collection simply
wait their turn. Judges with ``serve`` start while configuring and stop with the session.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from benchgate import fingerprint, options
from benchgate.config import ModelSpec
from benchgate.errors import ConfigError, InfraError
from benchgate.serve import Server

if TYPE_CHECKING:
    from benchgate.runtime import Runtime

COLLECTION = "collection.json"


def _write(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


class Serving:
    """The served models of one process, in run order, and (on the controller) their servers."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.controller = rt.workerid is None
        self.order = [name for name, spec in rt.models.items() if spec.serve is not None]
        self.servers: dict[str, Server] = {}  # every one this process started, by name
        self.current: str | None = None
        self.remaining: collections.Counter[str] | None = None  # items left per model
        self.nodes: dict[str, str] = {}  # nodeid -> served model
        self._waits: dict[str, asyncio.Future[None]] = {}
        self.installed: set[str] = set()  # served models whose caller this process has built
        if self.order or (rt.judge is not None and rt.judge.serve is not None):
            if "serve_dir" not in rt.shared:
                rt.shared["serve_dir"] = tempfile.mkdtemp(prefix="benchgate-serve-")
            self.dir = Path(rt.shared["serve_dir"])

    def log_path(self, name: str) -> Path:
        """``results/<name>/server.log`` (beside ``--report`` when that names the folder)."""
        explicit = options.get(self.rt.config, "report")
        if explicit and (len(self.rt.models) == 1 or "{model}" in explicit):
            return Path(explicit.replace("{model}", name)).parent / "server.log"
        return Path("results") / name / "server.log"

    # -- judge ------------------------------------------------------------------------------
    def judge(self, spec: ModelSpec) -> ModelSpec:
        """The judge with its endpoint: started here on the controller, shared with workers."""
        assert spec.serve is not None
        if "judge_serve_url" not in self.rt.shared:
            server = Server(spec.name, spec.serve, self.log_path(spec.name),
                            served=spec.served, api_key=spec.api_key)
            try:
                server.start()
            except BaseException:
                self.stop_all()
                raise
            self.servers[spec.name] = server
            self.rt.shared["judge_serve_url"] = server.url
        return replace(spec, endpoints=(str(self.rt.shared["judge_serve_url"]),))

    # -- controller -------------------------------------------------------------------------
    def begin(self) -> None:
        """Start the first served model (a failure here stops the run: the caller's error)."""
        if self.controller and self.order:
            try:
                self._start(self.order[0], fatal=True)
            except BaseException:  # the run stops here: nothing may outlive it
                self.stop_all()
                raise

    def _start(self, name: str, *, fatal: bool = False) -> None:
        rt = self.rt
        spec = rt.models[name]
        assert spec.serve is not None
        index = self.order.index(name)
        self.current = name
        try:
            server = Server(name, spec.serve, self.log_path(name), path=spec.checkpoint,
                            served=spec.served, api_key=spec.api_key)
            self.servers[name] = server
            server.start()
            rt.models[name] = replace(spec, endpoints=(server.url,))
            rt.probe()
        except (InfraError, ConfigError) as exc:  # ConfigError: up, but /v1/models unusable
            if fatal:
                raise
            _write(self.dir / f"{index}.json", {"name": name, "error": str(exc)})
            rt.warnings.append(str(exc))
            self.stop(name)
            return
        found = rt.fingerprints.get(name) or {}
        if spec.checkpoint is not None:  # same card and props, other weights: another digest
            found = fingerprint.make(found.get("card", {}), found.get("props", {}),
                                     checkpoint=spec.checkpoint)
            rt.fingerprints[name] = found
            rt.shared["fingerprints"] = dict(rt.fingerprints)
        _write(self.dir / f"{index}.json", {"name": name, "endpoint": server.url,
                                            "served": rt.served.get(name), "fingerprint": found})

    def stop(self, name: str) -> None:
        """Stop ``name``'s server (if this process started one)."""
        server = self.servers.get(name)
        if server is not None:
            server.stop()
        if self.current == name:
            self.current = None

    def _advance(self) -> None:
        """Stop the current model's server once its items are done; start the next one's."""
        if self.remaining is None:
            return
        if self.current is not None and self.remaining[self.current] > 0:
            return
        if self.current is not None:
            self.stop(self.current)
        for name in self.order:
            if name not in self.servers and self.remaining[name] > 0:
                self._start(name)
                if self.current == name:
                    return

    def set_nodes(self, nodes: dict[str, str]) -> None:
        """The collected items of served models (once, on the controller)."""
        if not self.controller or self.remaining is not None:
            return
        self.nodes = nodes
        self.remaining = collections.Counter(nodes.values())
        self._advance()

    def done(self, nodeid: str) -> None:
        """An item has finished (its teardown report, or its worker crashed)."""
        name = self.nodes.pop(nodeid, None)
        if name is not None and self.remaining is not None:
            self.remaining[name] -= 1
            self._advance()

    def stop_all(self) -> None:
        """Stop every server this process started (session end, Ctrl-C, errors)."""
        for name in list(self.servers):
            self.stop(name)
        if self.controller and getattr(self, "dir", None) is not None:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- every process ----------------------------------------------------------------------
    def pending(self, name: str) -> bool:
        """Whether calls for ``name`` must wait for its server first (in this process)."""
        return name in self.order and name not in self.installed

    async def ready(self, name: str) -> None:
        """Wait until ``name``'s server is up (on the loop); its endpoint and identity are
        then this process's. :class:`InfraError` when it failed to start."""
        if name not in self._waits:
            self._waits[name] = asyncio.ensure_future(self._wait(name))
        await asyncio.shield(self._waits[name])

    async def _wait(self, name: str) -> None:
        path = self.dir / f"{self.order.index(name)}.json"
        while not path.exists():
            await asyncio.sleep(0.1)
        state = json.loads(path.read_text(encoding="utf-8"))
        if "error" in state:
            raise InfraError(state["error"])
        rt = self.rt
        spec = replace(rt.models[name], endpoints=(state["endpoint"],))
        rt.models[name] = spec
        rt.served[name] = state["served"]
        rt.fingerprints[name] = state["fingerprint"]
        rt.install_caller(name)
        self.installed.add(name)


def served_nodes(rt: Runtime, items: list[pytest.Item]) -> dict[str, str]:
    """``{nodeid: model}`` for the benchmark items of served models."""
    from benchgate.task import task_of

    served = {name for name, spec in rt.models.items() if spec.serve is not None}
    out = {}
    for item in items:
        if task_of(item) is not None and (model := rt.model_of(item)) in served:
            out[item.nodeid] = model
    return out


class ServeHooks:
    """Orders items model by model and tells the controller when a model's items are done."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        serving = self.rt.serving
        if not serving.order:
            return
        from benchgate.task import task_of

        rank = {name: i for i, name in enumerate(self.rt.models)}
        items.sort(key=lambda i: rank.get(self.rt.model_of(i), -1) if task_of(i) else -1)
        nodes = served_nodes(self.rt, items)
        if serving.controller:
            serving.set_nodes(nodes)
        else:  # the controller collects nothing: it reads the workers' (identical) collection
            _write(serving.dir / COLLECTION, nodes)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown" and self.rt.serving.controller:
            self.rt.serving.done(report.nodeid)


class XdistServeHooks:
    """The controller's side under ``-n N`` (registered only with pytest-xdist)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        serving = self.rt.serving
        path = getattr(serving, "dir", None)
        if serving.order and path is not None and (path / COLLECTION).exists():
            serving.set_nodes(json.loads((path / COLLECTION).read_text(encoding="utf-8")))

    def pytest_handlecrashitem(self, crashitem: str, report: Any, sched: Any) -> None:
        self.rt.serving.done(crashitem)
