"""OpenAI-compatible client: replicas, per-endpoint concurrency, retries with backoff.

Speaks the OpenAI chat-completions wire format over aiohttp. The ``openai`` SDK was the first
choice, but on this project's 2-core reference machine it costs 2.3 ms of CPU per request
(httpx + request building + pydantic) against 0.23 ms for aiohttp, and the difference is what
separates 0.87 from 0.94 of the ideal throughput at 32 requests in flight (bench/throughput.py).
Retried: 408/409/429, 5xx, timeouts and dropped connections, with exponential backoff and
jitter, honouring ``Retry-After``/``retry-after-ms``; each retry may move to the least busy
replica. Anything else (400, 401, 404) fails at once. Failures after the last retry raise
:class:`InfraError`.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from benchgate.config import ModelSpec
from benchgate.errors import InfraError
from benchgate.limiter import Limiter
from benchgate.task import Completion, Message

RETRY_STATUS = frozenset({408, 409, 429})
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
_THINK = re.compile(r"^\s*<think>(.*?)</think>\s*", re.DOTALL)


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class _Slot:
    url: str
    session: aiohttp.ClientSession
    limit: int
    inflight: int = 0


def _retry_after(headers: Mapping[str, str]) -> float | None:
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return min(max(float(value) * scale, 0.0), 60.0)
        except ValueError:
            continue
    return None


_REASONING_FAMILY = re.compile(r"^(?:.*/)?(?:o\d|gpt-5)", re.IGNORECASE)


def adapt_params(served: str, params: dict[str, Any]) -> dict[str, Any]:
    """Per-family request parameters: OpenAI reasoning models (o-series, gpt-5) take
    ``max_completion_tokens`` and reject ``temperature``/``top_p``."""
    if not _REASONING_FAMILY.match(served):
        return params
    out = {k: v for k, v in params.items() if k not in ("temperature", "top_p")}
    if "max_tokens" in out:
        out["max_completion_tokens"] = out.pop("max_tokens")
    return out


def split_reasoning(message: Any) -> tuple[str, str | None]:
    """Separate the answer from reasoning content (``reasoning_content``, ``reasoning``,
    or a leading ``<think>`` block). ``message`` is a mapping or an object with attributes."""
    get = message.get if isinstance(message, Mapping) else (
        lambda k, d=None: getattr(message, k, d))
    text = get("content") or ""
    reasoning = get("reasoning_content") or get("reasoning")
    match = _THINK.match(text)
    if match:
        reasoning = (reasoning + "\n" if isinstance(reasoning, str) else "") + match.group(1).strip()
        text = text[match.end():]
    return text, reasoning if isinstance(reasoning, str) else None


class EndpointPool:
    """The endpoints (replicas) of one model; each request goes to the least busy one.

    Create it inside the event loop that will use it.
    """

    def __init__(self, spec: ModelSpec, concurrency: int, timeout_s: float, max_retries: int,
                 adaptive: bool = False) -> None:
        self.spec = spec
        self.max_retries = max_retries
        headers = {"Authorization": f"Bearer {spec.api_key or 'EMPTY'}",
                   "Content-Type": "application/json"}
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._slots = [
            _Slot(url, aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0 if adaptive else concurrency),
                headers=headers, timeout=timeout, raise_for_status=False), concurrency)
            for url in spec.endpoints]
        self.limiter = Limiter(concurrency * len(self._slots), adaptive=adaptive)
        self.calls = 0
        self.attempts = 0

    def _least_busy(self) -> _Slot:
        return min(self._slots, key=lambda s: s.inflight / s.limit)

    async def _post(self, slot: _Slot, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            async with slot.session.post(f"{slot.url}/chat/completions", json=payload) as resp:
                body = await resp.read()
                if resp.status in RETRY_STATUS or resp.status >= 500:
                    raise _Retryable(f"HTTP {resp.status} {_snippet(body)}".rstrip(),
                                     _retry_after(resp.headers))
                if resp.status >= 400:
                    raise InfraError(f"{slot.url}: HTTP {resp.status} {_snippet(body)}".rstrip())
        except TimeoutError:
            raise _Retryable("request timed out") from None
        except aiohttp.ClientError as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__})") from None
        try:
            data = json.loads(body)
        except ValueError:
            raise _Retryable(f"response is not JSON: {_snippet(body)}") from None
        if not isinstance(data, dict):
            raise _Retryable("response is not a JSON object")
        return data

    async def chat(self, messages: Sequence[Message], params: dict[str, Any]) -> Completion:
        """One chat completion with retries; raise :class:`InfraError` when they run out."""
        payload = {"model": self.spec.served or self.spec.name, "messages": list(messages),
                   **params}
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            delay: float | None = None
            await self.limiter.acquire()
            slot = self._least_busy()
            slot.inflight += 1
            self.attempts += 1
            start = time.perf_counter()
            latency: float | None = None
            throttled = False
            try:
                data = await self._post(slot, payload)
                latency = time.perf_counter() - start
            except _Retryable as exc:
                last = f"{slot.url}: {exc}"
                throttled = str(exc).startswith("HTTP 429")
                if attempt == self.max_retries:
                    raise InfraError(f"{last} (after {attempt + 1} attempt(s))") from None
                delay = exc.retry_after
            else:
                self.calls += 1
                return _completion(data, latency, slot.url, messages)
            finally:
                slot.inflight -= 1
                self.limiter.release(latency, throttled)
            # Retry-After is a floor, not the plan: a server asking for 50 ms while overloaded
            # would otherwise use up every retry in a third of a second
            backoff = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt) * random.uniform(0.5, 1.0)
            await asyncio.sleep(max(delay or 0.0, backoff))
        raise InfraError(last)

    async def served_models(self) -> list[str]:
        """Model ids from ``GET /v1/models`` of the first endpoint (one quick retry)."""
        slot = self._slots[0]
        for attempt in range(2):
            try:
                async with slot.session.get(f"{slot.url}/models") as resp:
                    body = await resp.read()
                    if resp.status >= 400:
                        raise InfraError(f"{slot.url}: HTTP {resp.status} on /models "
                                         f"{_snippet(body)}".rstrip())
                    data = json.loads(body)
                return [str(m["id"]) for m in data.get("data", []) if "id" in m]
            except (TimeoutError, aiohttp.ClientError, ValueError, TypeError) as exc:
                if attempt == 1:
                    raise InfraError(f"{slot.url}: connection failed ({type(exc).__name__})"
                                     ) from None
                await asyncio.sleep(0.5)
        return []

    async def close(self) -> None:
        """Close the HTTP sessions."""
        for slot in self._slots:
            await slot.session.close()


def _snippet(body: bytes) -> str:
    return body[:160].decode("utf-8", "replace").replace("\n", " ")


def _completion(data: dict[str, Any], latency: float, url: str,
                messages: Sequence[Message]) -> Completion:
    choices = data.get("choices")
    if not choices or not isinstance(choices[0], dict):
        raise InfraError(f"{url}: response has no choices: {json.dumps(data)[:160]}")
    choice = choices[0]
    text, reasoning = split_reasoning(choice.get("message") or {})
    raw_usage = data.get("usage") or {}
    usage = {k: int(raw_usage.get(k) or 0)
             for k in ("prompt_tokens", "completion_tokens", "total_tokens") if k in raw_usage}
    return Completion(text=text, reasoning=reasoning, latency_s=round(latency, 6), usage=usage,
                      endpoint=url, finish_reason=choice.get("finish_reason"),
                      messages=tuple(messages))
