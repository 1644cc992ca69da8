"""Concurrent execution of every item's calls on one background event loop per process.

Right after collection, :meth:`Scheduler.prefetch` starts the task coroutine of every item this
process will run; the per-endpoint semaphores in :mod:`benchgate.client` bound what is in flight.
A test body only waits for its item's future. Calls go through :class:`CallContext`, which
serves the cache first and stores each response the moment it arrives.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import threading
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from benchgate.cache import Cache, cache_key
from benchgate.client import EndpointPool, adapt_params
from benchgate.errors import InfraError
from benchgate.loglik import HINT, REQUEST, Loglik
from benchgate.task import Completion, Message

T = TypeVar("T")


class LoopThread:
    """An asyncio loop running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="benchgate-loop",
                                        daemon=True)
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for it."""
        return self.submit(coro).result(timeout)

    def stop(self) -> None:
        """Cancel what is pending and stop the loop."""
        async def cancel_all() -> None:
            current = asyncio.current_task()
            tasks = [t for t in asyncio.all_tasks() if t is not current]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self.loop.is_running():
            try:
                self.submit(cancel_all()).result(10)
            except (concurrent.futures.TimeoutError, RuntimeError):
                pass
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
        if not self.loop.is_running():
            self.loop.close()


@dataclass
class Counters:
    """Calls made and served from cache by this process."""

    model_calls: int = 0
    judge_calls: int = 0
    cache_hits: int = 0


@dataclass(frozen=True)
class Caller:
    """A model (or judge) as the scheduler calls it: pool, cache identity, default params."""

    pool: EndpointPool | None
    identity: dict[str, Any]
    params: dict[str, Any]
    kind: str  # "model" | "judge"
    user: dict[str, Any] = field(default_factory=dict)  # models file / --seed: wins over the task
    system: str | None = None  # the models file's system prompt, sent first on every request


class CallContext:
    """The :class:`benchgate.task.Context` handed to a task's coroutine for one item/repeat."""

    def __init__(self, item_id: str, repeat: int, model: Caller, judge: Caller | None,
                 cache: Cache, refresh: bool, counters: Counters,
                 responses: Sequence[str] | None = None, max_tokens: int | None = None,
                 memo: dict[str, asyncio.Future[Completion]] | None = None) -> None:
        self.item_id = item_id
        self.repeat = repeat
        self._model = model
        self._judge = judge
        self._cache = cache
        self._refresh = refresh
        self._counters = counters
        self._responses = responses
        self._turn = 0
        self._max_tokens = max_tokens
        self._memo = memo  # a judge panel's views share the model's calls through it

    def with_judge(self, judge: Caller, memo: dict[str, asyncio.Future[Completion]]) -> CallContext:
        """This item's context asking ``judge``; model calls go through ``memo`` (made once)."""
        return CallContext(self.item_id, self.repeat, self._model, judge, self._cache,
                           self._refresh, self._counters, responses=self._responses,
                           max_tokens=self._max_tokens, memo=memo)

    async def chat(self, messages: Sequence[Message], **params: Any) -> Completion:
        """Ask the model under test (or replay ``--responses``)."""
        if self._responses is not None:
            turn, self._turn = self._turn, self._turn + 1
            if turn >= len(self._responses):
                raise InfraError(f"--responses has no turn {turn + 1} for item {self.item_id}")
            return Completion(text=self._responses[turn], cached=True, messages=tuple(messages))
        if self._memo is None:
            return await self._call(self._model, messages, params)
        key = json.dumps([list(messages), params], sort_keys=True, default=str)
        if key not in self._memo:
            self._memo[key] = asyncio.ensure_future(self._call(self._model, messages, params))
        return await asyncio.shield(self._memo[key])

    async def loglik(self, context: str, continuation: str) -> Loglik:
        """Log-likelihood of ``continuation`` after ``context`` under the model
        (:mod:`benchgate.loglik`): cached like a chat call, keyed without the repeat (it is
        deterministic) and without sampling or system prompt (they do not change it)."""
        if self._responses is not None:
            raise InfraError("--responses holds text replies; a log-likelihood task needs the "
                             "model's /v1/completions endpoint")
        key = cache_key(self._model.identity, [{"role": "loglik", "context": context,
                                                 "continuation": continuation}], REQUEST, 0)
        if not self._refresh:
            hit = self._cache.get(key)
            if hit is not None:
                self._counters.cache_hits += 1
                return Loglik.from_json({**hit, "cached": True})
        if self._model.pool is None:
            raise InfraError("no endpoint to call (grading --responses only)")
        try:
            result = await self._model.pool.loglik(context + continuation, len(context),
                                                   dict(REQUEST))
        except InfraError as exc:  # an HTTP error status (llama-server: 400 "Only no echo is
            # supported"; llama-cpp-python without logits_all: 500): say what the task needs
            if type(exc) is InfraError and " HTTP " in str(exc):
                raise InfraError(f"{exc} ({HINT})") from None
            raise
        self._counters.model_calls += 1
        self._cache.put(key, result.to_json())
        return result

    async def judge(self, messages: Sequence[Message], **params: Any) -> Completion:
        """Ask the judge."""
        if self._judge is None:
            raise InfraError("this benchmark needs a judge: pass --judge NAME, --judge-endpoint URL "
                             "or --judge sim")
        return await self._call(self._judge, messages, params)

    def cached_chat(self, messages: Sequence[Message]) -> Completion | None:
        """What ``chat(messages)`` would answer from the cache, found on this thread without
        the loop, or None (a miss, ``--refresh``, ``--responses``, a judge panel's shared
        calls). Counts nothing: the caller counts the hits it uses."""
        if self._responses is not None or self._memo is not None or self._refresh:
            return None
        _, _, key = self._prepare(self._model, messages, {})
        return self._from_cache(key)

    def _from_cache(self, key: str | None) -> Completion | None:
        hit = None if key is None else self._cache.get(key)
        return None if hit is None else Completion.from_json({**hit, "cached": True})

    def _prepare(self, caller: Caller, messages: Sequence[Message], overrides: dict[str, Any]
                 ) -> tuple[Sequence[Message], dict[str, Any], str | None]:
        """The messages and parameters sent for a call, and its cache key (None: no cache)."""
        overrides = dict(overrides)
        attempt = int(overrides.pop("_attempt", 0))
        if caller.system and not (messages and messages[0].get("role") == "system"):
            messages = [{"role": "system", "content": caller.system}, *messages]
        params = dict(caller.params)
        if self._max_tokens is not None and caller.kind == "model":
            params["max_tokens"] = self._max_tokens
        params.update(overrides)
        params.update(caller.user)
        if self.repeat and "seed" in params and caller.kind == "model":
            params["seed"] = int(params["seed"]) + self.repeat
        params = adapt_params(str(caller.identity.get("served") or ""), params)
        identity = caller.identity if not attempt else {**caller.identity, "attempt": attempt}
        key = None if self._cache.path is None else cache_key(
            identity, list(messages), params, self.repeat if caller.kind == "model" else 0)
        return messages, params, key

    async def _call(self, caller: Caller, messages: Sequence[Message],
                    overrides: dict[str, Any]) -> Completion:
        messages, params, key = self._prepare(caller, messages, overrides)
        if not self._refresh:
            hit = self._from_cache(key)  # ~20 µs in SQLite: cheaper inline than a thread hop
            if hit is not None:
                self._counters.cache_hits += 1
                return hit
        if caller.pool is None:
            raise InfraError("no endpoint to call (grading --responses only)")
        result = await caller.pool.chat(messages, params)
        if caller.kind == "judge":
            self._counters.judge_calls += 1
        else:
            self._counters.model_calls += 1
        if key is not None:
            self._cache.put(key, result.to_json())
        return result


def settle(fut: concurrent.futures.Future[list[Any]], task: asyncio.Future[list[Any]]) -> None:
    """Pass a loop task's outcome to the thread-side future waiting for it."""
    if task.cancelled():
        fut.cancel()
    elif task.exception() is not None:
        fut.set_exception(task.exception())  # type: ignore[arg-type]
    else:
        fut.set_result(task.result())
