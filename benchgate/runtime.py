"""Per-process session state: resolved model and judge, cache, loop, and each item's future."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from benchgate import extractive, options
from benchgate.cache import Cache
from benchgate.client import EndpointPool
from benchgate.config import ModelSpec, parse_threshold
from benchgate.data import DataSource
from benchgate.errors import ConfigError, InfraError
from benchgate.panel import run_panel
from benchgate.probe import probe
from benchgate.resolve import Resolver
from benchgate.responses import load_responses
from benchgate.scheduler import CallContext, Caller, Counters, LoopThread, settle
from benchgate.serving import Serving
from benchgate.simjudge import SIM, announce_judges
from benchgate.simproc import post_json, sim_root
from benchgate.task import Task, task_of

DEFAULT_SAMPLING = {"temperature": 0.0}


class Runtime:
    """Everything one pytest process needs to run benchmark items."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        worker = getattr(config, "workerinput", None)
        self.shared: dict[str, Any] = dict(worker.get("benchgate") or {}) if worker else {}
        self.workerid: str | None = worker.get("workerid") if worker else None
        self.workercount = int(worker.get("workercount", 1)) if worker else 1
        self.repeats = max(1, int(options.get(config, "repeats")))
        if options.get(config, "repeats") is not None and int(options.get(config, "repeats")) < 1:
            raise ConfigError(f"--repeats {options.get(config, 'repeats')}: use 1 or more")
        self.responses: dict[str, list[str]] | None = None
        if options.get(config, "responses"):
            self.responses = load_responses(Path(options.get(config, "responses")))
        self.resolver = Resolver(config, self.shared, replay=self.responses is not None)
        names: list[str | None] = list(options.model_names(config))
        self.models: dict[str, ModelSpec] = {}
        for name in [*names] or [None]:
            for spec in self.resolver.models(name):  # a sweep key: every checkpoint
                self.models[spec.name] = spec
        if len(self.models) > 1 and (options.get(config, "endpoint") or self.responses):
            raise ConfigError("several --model values need a models file (not --endpoint or "
                              "--responses)")
        panel = self.resolver.judges(self.models)  # the judge panel (--judge repeatable)
        self.judge = panel[0] if panel else None  # the first judge: ad hoc calls, --grader llm
        self.fingerprints: dict[str, dict[str, Any]] = dict(self.shared.get("fingerprints") or {})
        self.cli_thresholds: dict[str, float] = {}
        for text in options.get(config, "threshold") or []:
            key, minimum = parse_threshold(text)
            self.cli_thresholds[key] = minimum
        self.served: dict[str, str | None] = dict(self.shared.get("served") or {})
        self.judge_served: str | None = self.shared.get("judge_served")
        self.judges_served: dict[str, str | None] = dict(self.shared.get("judges_served") or {})
        self.data: dict[str, DataSource] = {}
        self.data_errors: list[str] = []
        self.warnings: list[str] = []
        self.counters = Counters()
        self.futures: dict[str, concurrent.futures.Future[list[Any]]] = {}
        self._loop: LoopThread | None = None
        self._pools: dict[str, EndpointPool] = {}
        self._callers: dict[str, Caller | None] | None = None
        no_cache = bool(options.get(config, "no_cache"))
        self.cache_dir = None if no_cache else Path(options.get(config, "cache_dir"))
        self.cache = Cache(None if self.cache_dir is None else self.cache_dir / "responses.sqlite")
        self.refresh = bool(options.get(config, "refresh"))
        self.serving = Serving(self)  # servers the suite starts (serve: in the models file)
        if self.judge is not None and self.judge.serve is not None:
            self.judge = self.serving.judge(self.judge)
        self.judges: dict[str, ModelSpec] = {j.name: j for j in [self.judge, *panel[1:]] if j}
        self._judge_callers: dict[str, Caller] = {}
        self.serving.begin()
        self.grader = extractive.parse_grader(
            options.get(config, "grader"), options.is_set(config, "grader"),
            lambda spec: config.hook.pytest_benchgate_make_grader(config=config, spec=spec))
        self.on_wait: Callable[[], None] | None = None  # called while a test waits (progress)

    @property
    def model(self) -> ModelSpec | None:
        """The first (usually only) model under test."""
        return next(iter(self.models.values()), None)

    def thresholds(self, model: str) -> dict[str, float]:
        """Gates for ``model``: its models-file thresholds, overridden by ``--threshold``."""
        spec = self.models.get(model)
        return {**(spec.thresholds if spec else {}), **self.cli_thresholds}

    def model_of(self, node: pytest.Item) -> str:
        """The model a collected benchmark test runs against."""
        params = getattr(node, "callspec", None)
        name = params.params.get("bg_model") if params is not None else None
        assert self.model is not None
        return str(name) if name else self.model.name

    # -- network ----------------------------------------------------------------------------
    @property
    def loop(self) -> LoopThread:
        if self._loop is None:
            self._loop = LoopThread()
        return self._loop

    def pool(self, spec: ModelSpec) -> EndpointPool:
        """The endpoint pool of ``spec`` (created on the loop, where its semaphores live)."""
        if spec.name + spec.source not in self._pools:
            conc, timeout, retries, adaptive, cap = options.pool_settings(
                self.config, spec, self.workercount)

            async def make() -> EndpointPool:
                return EndpointPool(spec, conc, timeout, retries, adaptive=adaptive, **cap)

            try:  # on the loop already (a served model's caller, built once it is up)
                asyncio.get_running_loop()
                self._pools[spec.name + spec.source] = EndpointPool(
                    spec, conc, timeout, retries, adaptive=adaptive, **cap)
            except RuntimeError:
                self._pools[spec.name + spec.source] = self.loop.run(make())
        return self._pools[spec.name + spec.source]

    def probe(self) -> None:
        """Learn the served model ids from ``/v1/models`` and the weights' fingerprints; an
        unreachable endpoint ends the run (:func:`benchgate.probe.probe`)."""
        probe(self)

    def sampling(self, spec: ModelSpec) -> dict[str, Any]:
        """Request parameters the user set (:func:`benchgate.options.sampling`)."""
        return options.sampling(self.config, spec.sampling, self.repeats, DEFAULT_SAMPLING)

    def caller(self, spec: ModelSpec | None, served: str | None, kind: str) -> Caller | None:
        """A :class:`Caller` for the scheduler, with the cache identity and sampling defaults."""
        if spec is None:
            return None
        user = self.sampling(spec) if kind == "model" else dict(spec.sampling)
        params = {k: v for k, v in DEFAULT_SAMPLING.items() if k not in user}
        key = f"judge:{spec.name}" if kind == "judge" else spec.name
        identity = {"name": spec.name, "served": served or spec.served, "revision": spec.revision,
                    "fingerprint": (self.fingerprints.get(key) or {}).get("digest")}
        if spec.system:
            identity["system"] = spec.system
        live = spec.endpoints and (kind == "judge" or self.responses is None)
        pool = self.pool(spec) if live else None
        return Caller(pool=pool, identity=identity, params=params, kind=kind, user=user,
                      system=spec.system)

    # -- items ------------------------------------------------------------------------------
    def _ensure_callers(self) -> None:
        """Build the callers on the main thread (pools are created through the loop)."""
        if self._callers is None:
            self._callers = {name: None if self.serving.pending(name) else
                             self.caller(spec, self.served.get(name), "model")
                             for name, spec in self.models.items()}
            self._judge_callers = {name: caller for name, spec in self.judges.items() if (
                caller := self.caller(spec, self.judges_served.get(name), "judge")) is not None}
            self._callers[""] = self._judge_callers.get(self.judge.name) if self.judge else None

    def install_caller(self, name: str) -> None:
        """Build served model ``name``'s caller now that its server is up (on the loop)."""
        assert self._callers is not None
        self._callers[name] = self.caller(self.models[name], self.served.get(name), "model")

    def _contexts(self, task: Task, item: Any, model_name: str) -> list[CallContext]:
        assert self._callers is not None
        model, judge = self._callers[model_name], self._callers[""]
        assert model is not None
        replay = None
        if self.responses is not None:
            replay = self.responses.get(str(item.id))
            if replay is None:
                replay = []
        return [CallContext(str(item.id), r, model, judge, self.cache, self.refresh, self.counters,
                            responses=replay, max_tokens=task.max_tokens)
                for r in range(1 if self.responses is not None else self.repeats)]

    async def _run(self, task: Task, item: Any, model: str) -> list[Any]:
        if self.responses is not None and str(item.id) not in self.responses:
            raise InfraError(f"no response for id {item.id!r} in --responses file")
        if task.needs_judge and self.judge is None:
            raise InfraError(f"{task.name} needs a judge: pass --judge NAME, --judge-endpoint URL "
                             "or --judge sim")
        if self.serving.pending(model) and self.responses is None:
            await self.serving.ready(model)  # its turn in the sweep
        contexts = self._contexts(task, item, model)
        if task.needs_judge and self._judge_callers:  # every judge of the panel judges it

            async def execute(ctx: CallContext) -> Any:
                return await extractive.execute(self.grader, task, item, ctx)

            return list(await asyncio.gather(*(run_panel(execute, ctx, self._judge_callers)
                                               for ctx in contexts)))
        if len(contexts) == 1:  # no gather: one task fewer per item
            return [await extractive.execute(self.grader, task, item, contexts[0])]
        return list(await asyncio.gather(*(extractive.execute(self.grader, task, item, ctx)
                                           for ctx in contexts)))

    def _cached(self, task: Task, item: Any, model: str) -> list[Any] | None:
        """Every repeat of a one-call item, from the cache on this thread, or None."""
        # (--refresh, --responses and no cache: each context's cached_chat says None)
        if task.run is not None or task.messages is None or task.needs_judge or \
                (self.grader.kind != "regex" and task.extractive is not None) or \
                self.serving.pending(model):
            return None
        messages = task.messages(item)
        found = [ctx.cached_chat(messages) for ctx in self._contexts(task, item, model)]
        return None if any(f is None for f in found) else found

    def prefetch(self, nodes: list[pytest.Item]) -> None:
        """Start the calls of every benchmark item in ``nodes`` now."""
        jobs = [(n.nodeid, t, n.callspec.params["item"], self.model_of(n))  # type: ignore[attr-defined]
                for n in nodes if (t := task_of(n)) is not None]
        if not jobs or self.model is None:
            return
        sims = {spec.endpoints[0] for name, spec in self.models.items()
                if self.served.get(name) == "sim" and spec.endpoints and self.responses is None}
        if sims:
            answers: dict[str, list[str]] = {}
            for _, task, item, _ in jobs:
                answers.update(task.sim_answers(item))
            for url in sorted(sims) if answers else []:
                post_json(sim_root(url) + "/sim/register", {"answers": answers})
        self.warnings += announce_judges(
            [spec.endpoints[0] for name, spec in self.judges.items() if spec.endpoints and str(
                self.judges_served.get(name) or "").startswith(SIM)], [t for _, t, _, _ in jobs])
        self._ensure_callers()
        futures = {nodeid: concurrent.futures.Future[list[Any]]() for nodeid, *_ in jobs}
        self.futures.update(futures)
        # A cached rerun's items are answered here, without a loop task each, up to the first
        # one that is not (a cold run pays one lookup); the rest go to the loop.
        done = 0
        while done < len(jobs) and (found := self._cached(*jobs[done][1:])) is not None:
            futures[jobs[done][0]].set_result(found)
            self.counters.cache_hits += len(found)
            done += 1
        jobs = jobs[done:]

        async def start() -> None:
            for nodeid, task, item, model in jobs:
                job = asyncio.ensure_future(self._run(task, item, model))
                job.add_done_callback(functools.partial(settle, futures[nodeid]))

        self.loop.run(start())

    def direct(self, node: pytest.Item, kind: str) -> CallContext:
        """A context for ad hoc calls from a test body (the ``model``/``judge`` fixtures):
        same cache, retries and concurrency limits as the scheduled calls."""
        self._ensure_callers()
        assert self._callers is not None and self.model is not None
        if self.serving.pending(self.model_of(node)):
            self.loop.run(self.serving.ready(self.model_of(node)))
        model = self._callers[self.model_of(node)]
        if model is None or (kind == "judge" and self._callers[""] is None):
            raise InfraError(f"no {kind} configured: pass --{kind} NAME or --{kind}-endpoint URL")
        return CallContext(node.nodeid, 0, model, self._callers[""], self.cache, self.refresh,
                           self.counters)

    def result(self, node: pytest.Item) -> list[Any]:
        """Wait for ``node``'s results, one per repeat; raise :class:`InfraError` on failure."""
        fut = self.futures.pop(node.nodeid, None)
        if fut is None:
            task = task_of(node)
            assert task is not None
            self._ensure_callers()
            item = node.callspec.params["item"]  # type: ignore[attr-defined]
            fut = self.loop.submit(self._run(task, item, self.model_of(node)))
        while self.on_wait is not None and not fut.done():
            try:
                return fut.result(timeout=0.5)
            except concurrent.futures.TimeoutError:
                self.on_wait()
        return fut.result()

    def in_flight(self) -> int:
        """Requests this process has on the wire now, over all endpoints."""
        return sum(pool.limiter.inflight for pool in self._pools.values())

    def close(self) -> None:
        """Stop the loop, close clients, the cache and the simulator."""
        if self._loop is not None:
            for pool in self._pools.values():
                try:
                    self._loop.run(pool.close(), timeout=5)
                except Exception:  # noqa: BLE001 - best effort on shutdown
                    pass
            self._loop.stop()
            self._loop = None
            self._pools.clear()
            self._callers = None
        self.cache.close()
        self.resolver.stop()
        self.serving.stop_all()

