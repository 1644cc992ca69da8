"""OpenAI-compatible client: replicas, per-endpoint concurrency, retries with backoff.

Speaks the OpenAI chat-completions wire format over aiohttp. The ``openai`` SDK was the first
choice, but on this project's 2-core reference machine it costs 2.3 ms of CPU per request
(httpx + request building + pydantic) against 0.23 ms for aiohttp, and the difference is what
separates 0.87 from 0.94 of the ideal throughput at 32 requests in flight (bench/throughput.py).

Retried: 408/409/429, 5xx, timeouts and dropped connections, with exponential backoff and
jitter, honouring ``Retry-After``/``retry-after-ms``; each retry may move to the least busy
healthy replica. A 200 that is not a chat completion is retried the same way: an ``error``
object, no ``choices``, a body that is not JSON, a completions-shaped ``text`` choice, or
``message.content: null`` with neither reasoning content nor ``finish_reason: "length"``.
Anything else (400, 401, 404) fails at once. Failures after the last retry raise
:class:`InfraError`, which callers never cache. An empty answer the model chose (``""``, or
``null`` cut off by ``length``) is a model outcome: a :class:`Completion` with text ``""``.

Fail fast: when every replica has failed ``down_after`` consecutive requests at the
connection level (refused, reset, dropped, connect timeout; HTTP statuses do not count) and at
least one of those failures was a refused (or timed out) connection attempt, the pool is
down: every pending and later :meth:`EndpointPool.chat` raises :class:`EndpointDown` at once,
including calls sleeping in backoff. (A server that accepts connections and drops some of
them, like the simulator's ``drop`` fault, is flaky, not down.)

Bodies are read incrementally and never held beyond ``max_response_bytes``; a longer body is
cut there and its message content recovered from the JSON prefix (``truncated=True``).
Every error message goes through :func:`benchgate.redact.redact`. The pieces live beside this
module: the retry policy in :mod:`benchgate.client_retry`, the wire format (request parameters,
what a reply means) in :mod:`benchgate.client_wire`, capped bodies in :mod:`benchgate.client_body`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from aiolimiter import AsyncLimiter

from benchgate.client_body import ERROR_BODY_BYTES, read_capped, snippet
from benchgate.client_retry import BACKOFF_BASE_S, RETRY_STATUS, Retryable, backoff_delay, retry_after
from benchgate.client_wire import adapt_params as adapt_params  # re-exported
from benchgate.client_wire import chat_completion, loglik_reply, truncated_completion, with_latency
from benchgate.client_wire import split_reasoning as split_reasoning  # re-exported
from benchgate.config import ModelSpec
from benchgate.errors import EndpointDown, InfraError
from benchgate.limiter import Limiter
from benchgate.loglik import Loglik
from benchgate.redact import redact, register_secret
from benchgate.task import Completion, Message

DOWN_AFTER = 3  # consecutive connection failures per replica before the pool is down
PROBE_AFTER_S = 10.0  # a failing replica gets traffic again after this long
CONNECT_TIMEOUT_S = 30.0
MAX_RESPONSE_BYTES = 4 * 2**20
_T = TypeVar("_T")


@dataclass
class _Slot:
    url: str
    session: aiohttp.ClientSession
    limit: int
    inflight: int = 0
    streak: int = 0  # consecutive connection-level failures
    refused: bool = False  # one of them was a refused connection attempt
    last_failure: float = 0.0


class EndpointPool:
    """The endpoints (replicas) of one model; each request goes to the least busy one.

    ``max_retries`` retries per call, ``timeout_s`` per request; ``down_after`` consecutive
    connection failures on every replica put the pool :attr:`down`; ``max_response_bytes``
    caps what is read of one body; ``backoff_s`` is the first retry's backoff (doubling);
    ``rate_limit`` spaces requests (attempts) at most that many per second.
    After the pool is down, :attr:`down` holds the :class:`EndpointDown` and :attr:`refused`
    counts the calls it ended. Create the pool inside the event loop that will use it.
    """

    def __init__(self, spec: ModelSpec, concurrency: int, timeout_s: float, max_retries: int,
                 adaptive: bool = False, *, max_response_bytes: int = MAX_RESPONSE_BYTES,
                 down_after: int = DOWN_AFTER, backoff_s: float = BACKOFF_BASE_S,
                 rate_limit: float | None = None) -> None:
        self.spec = spec
        # requests per second over the pool's replicas, each attempt counted (judges' rate_limit)
        self.rate = None if rate_limit is None else AsyncLimiter(1, 1.0 / rate_limit)
        self.max_retries = max_retries
        self.max_response_bytes = max_response_bytes
        self.down_after = max(1, down_after)
        self.backoff_s = backoff_s
        register_secret(spec.api_key)
        headers = {"Authorization": f"Bearer {spec.api_key or 'EMPTY'}",
                   "Content-Type": "application/json"}
        timeout = aiohttp.ClientTimeout(total=timeout_s,
                                        sock_connect=min(timeout_s, CONNECT_TIMEOUT_S))
        self._slots = [
            _Slot(url, aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0 if adaptive else concurrency),
                headers=headers, timeout=timeout, raise_for_status=False), concurrency)
            for url in spec.endpoints]
        self.limiter = Limiter(concurrency * len(self._slots), adaptive=adaptive)
        self.calls = 0
        self.attempts = 0
        self.down: EndpointDown | None = None
        self.refused = 0
        self._down_event = asyncio.Event()

    # -- replicas and health -----------------------------------------------------------------
    def _least_busy(self) -> _Slot:
        if len(self._slots) == 1:
            return self._slots[0]
        now = time.monotonic()

        def key(s: _Slot) -> tuple[bool, float]:
            failing = s.streak >= self.down_after and now - s.last_failure < PROBE_AFTER_S
            return failing, s.inflight / s.limit

        return min(self._slots, key=key)

    def _connection_failed(self, slot: _Slot, exc: Retryable) -> None:
        slot.streak += 1
        slot.refused = slot.refused or exc.refused
        slot.last_failure = time.monotonic()
        if self.down is None and all(s.streak >= self.down_after and s.refused
                                     for s in self._slots):
            self._go_down(f"last: {exc}")

    def _go_down(self, detail: str) -> None:
        self.down = EndpointDown([redact(s.url) for s in self._slots],
                                 sum(s.streak for s in self._slots), redact(detail))
        self._down_event.set()
        # wake the calls queued for a slot so they are refused now, not when one frees up:
        # lift the (dead) pool's limit and hand out one release
        peak = self.limiter.peak
        self.limiter.limit = self.limiter.ceiling = 2**31
        self.limiter.inflight += 1
        self.limiter.release(None, False)
        self.limiter.peak = peak

    def _refuse(self) -> EndpointDown:
        assert self.down is not None
        self.refused += 1
        down = self.down  # a fresh instance per call: no traceback shared across tasks
        return EndpointDown(down.endpoints, down.failures, down.detail)

    async def _backoff(self, seconds: float) -> None:
        """Sleep, but wake at once when the pool goes down."""
        if self.down is not None:
            return
        try:
            await asyncio.wait_for(self._down_event.wait(), seconds)
        except TimeoutError:
            pass

    # -- one request ---------------------------------------------------------------------------
    async def _post(self, slot: _Slot, payload: dict[str, Any],
                    path: str = "/chat/completions") -> dict[str, Any] | Completion:
        """One attempt: the parsed body, or a truncated :class:`Completion` over the cap."""
        try:
            async with slot.session.post(f"{slot.url}{path}", json=payload) as resp:
                slot.streak, slot.refused = 0, False  # it answered: alive
                if resp.status in RETRY_STATUS or resp.status >= 500:
                    body, _ = await read_capped(resp, ERROR_BODY_BYTES)
                    raise Retryable(f"HTTP {resp.status} {snippet(body)}".rstrip(),
                                    retry_after(resp.headers))
                if resp.status >= 400:
                    body, _ = await read_capped(resp, ERROR_BODY_BYTES)
                    raise InfraError(redact(f"{slot.url}: HTTP {resp.status} {snippet(body)}"
                                            .rstrip()))
                body, complete = await read_capped(resp, self.max_response_bytes)
                if not complete:
                    return truncated_completion(body, self.max_response_bytes, slot.url)
        except aiohttp.ConnectionTimeoutError:
            raise Retryable("connection timed out", connection=True, refused=True) from None
        except TimeoutError:
            raise Retryable("request timed out") from None
        except aiohttp.ClientConnectorError as exc:
            raise Retryable(f"connection failed ({type(exc).__name__})", connection=True,
                            refused=True) from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise Retryable(f"connection failed ({type(exc).__name__})",
                            connection=True) from None
        except aiohttp.ClientError as exc:
            raise Retryable(f"request failed ({type(exc).__name__})") from None
        try:
            data = json.loads(body)
        except ValueError:
            raise Retryable(f"HTTP 200 body is not JSON: {snippet(body)}") from None
        if not isinstance(data, dict):
            raise Retryable("HTTP 200 body is not a JSON object")
        return data

    async def chat(self, messages: Sequence[Message], params: dict[str, Any]) -> Completion:
        """One chat completion with retries; raise :class:`InfraError` when they run out,
        :class:`EndpointDown` at once while the pool is down."""
        payload = {"model": self.spec.served or self.spec.name, "messages": list(messages),
                   **params}

        def parse(data: dict[str, Any] | Completion, latency: float, url: str) -> Completion:
            if isinstance(data, Completion):
                return with_latency(data, latency, messages)
            return chat_completion(data, latency, url, messages)

        return await self._send("/chat/completions", payload, parse)

    async def loglik(self, prompt: str, start: int, params: dict[str, Any]) -> Loglik:
        """Log-likelihood of ``prompt[start:]`` after ``prompt[:start]`` (``POST /completions``
        with echo and logprobs, :mod:`benchgate.loglik`), with the retries of :meth:`chat`;
        :class:`~benchgate.loglik.LoglikUnsupported` at once when the server cannot tell."""
        payload = {"model": self.spec.served or self.spec.name, "prompt": prompt, **params}

        def parse(data: dict[str, Any] | Completion, latency: float, url: str) -> Loglik:
            if isinstance(data, Completion):
                raise InfraError(redact(f"{url}: completions body over {self.max_response_bytes}"
                                        " bytes"))
            return loglik_reply(data, latency, url, prompt, start)

        return await self._send("/completions", payload, parse)

    async def _send(self, path: str, payload: dict[str, Any],
                    parse: Callable[[dict[str, Any] | Completion, float, str], _T]) -> _T:
        """POST ``payload`` to ``path`` with retries; ``parse`` turns a 200 into the result
        (raising :class:`Retryable` for a reply to retry)."""
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            if self.down is not None:
                raise self._refuse()
            await self.limiter.acquire()
            if self.down is not None:
                self.limiter.release(None, False)
                raise self._refuse()
            if self.rate is not None:
                try:
                    await self.rate.acquire()
                except BaseException:
                    self.limiter.release(None, False)
                    raise
            delay: float | None = None
            slot = self._least_busy()
            slot.inflight += 1
            self.attempts += 1
            start = time.perf_counter()
            latency: float | None = None
            throttled = False
            try:
                data = await self._post(slot, payload, path)
                latency = time.perf_counter() - start
                result = parse(data, latency, slot.url)
            except Retryable as exc:
                last = f"{slot.url}: {exc}"
                throttled = str(exc).startswith("HTTP 429")
                if exc.connection:
                    self._connection_failed(slot, exc)
                if self.down is not None:
                    raise self._refuse() from None
                if attempt == self.max_retries:
                    raise InfraError(redact(f"{last} (after {attempt + 1} attempt(s))")) from None
                delay = exc.retry_after
            else:
                self.calls += 1
                return result
            finally:
                slot.inflight -= 1
                self.limiter.release(latency, throttled)
            await self._backoff(backoff_delay(self.backoff_s, attempt, delay))
        raise InfraError(redact(last))

    async def served_models(self) -> list[str]:
        """Model ids from ``GET /v1/models`` of the first endpoint (one quick retry)."""
        slot = self._slots[0]
        for attempt in range(2):
            try:
                async with slot.session.get(f"{slot.url}/models") as resp:
                    body, complete = await read_capped(resp, self.max_response_bytes)
                    if resp.status >= 400:
                        raise InfraError(redact(f"{slot.url}: HTTP {resp.status} on /models "
                                                f"{snippet(body)}".rstrip()))
                    if not complete:
                        raise InfraError(redact(f"{slot.url}: /models answer over "
                                                f"{self.max_response_bytes} bytes"))
                    data = json.loads(body)
                return [str(m["id"]) for m in data.get("data", []) if "id" in m]
            except (TimeoutError, aiohttp.ClientError, ValueError, TypeError,
                    AttributeError) as exc:
                if attempt == 1:
                    raise InfraError(redact(f"{slot.url}: connection failed "
                                            f"({type(exc).__name__})")) from None
                await asyncio.sleep(0.5)
        return []

    async def close(self) -> None:
        """Close the HTTP sessions."""
        for slot in self._slots:
            await slot.session.close()
