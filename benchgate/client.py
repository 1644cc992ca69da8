"""OpenAI-compatible client: replicas, per-endpoint concurrency, retries with backoff.

One ``openai.AsyncOpenAI`` per endpoint with the library's own retries off: we retry here so a
retry can move to the least busy replica, honour ``Retry-After``/``retry-after-ms``, and count
attempts. Retried: 408/409/429, 5xx, timeouts and dropped connections. Anything else (400, 401,
404) fails at once. Failures after the last retry raise :class:`InfraError`.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import openai

from benchgate.config import ModelSpec
from benchgate.errors import InfraError
from benchgate.task import Completion, Message

RETRY_STATUS = frozenset({408, 409, 429})
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
_THINK = re.compile(r"^\s*<think>(.*?)</think>\s*", re.DOTALL)


@dataclass
class _Slot:
    url: str
    client: openai.AsyncOpenAI
    limit: int
    inflight: int = 0


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return min(max(float(value) * scale, 0.0), 60.0)
        except ValueError:
            continue
    return None


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes timeouts
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRY_STATUS or exc.status_code >= 500
    return False


def describe(exc: BaseException) -> str:
    """A one-line description of a client failure."""
    if isinstance(exc, openai.APITimeoutError):
        return "request timed out"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        return f"connection failed ({type(cause).__name__ if cause else 'dropped'})"
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, (str, dict)) else ""
        return f"HTTP {exc.status_code} {str(body)[:160]}".rstrip()
    return f"{type(exc).__name__}: {exc}"[:200]


def split_reasoning(message: Any) -> tuple[str, str | None]:
    """Separate the answer from reasoning content (``reasoning_content``, ``reasoning``, ``<think>``)."""
    text = message.content or ""
    reasoning = getattr(message, "reasoning_content", None) or getattr(message, "reasoning", None)
    match = _THINK.match(text)
    if match:
        reasoning = (reasoning + "\n" if reasoning else "") + match.group(1).strip()
        text = text[match.end():]
    return text, reasoning if isinstance(reasoning, str) else None


class EndpointPool:
    """The endpoints (replicas) of one model; each request goes to the least busy one."""

    def __init__(self, spec: ModelSpec, concurrency: int, timeout_s: float, max_retries: int) -> None:
        self.spec = spec
        self.max_retries = max_retries
        self._slots = [
            _Slot(url, openai.AsyncOpenAI(base_url=url, api_key=spec.api_key or "EMPTY",
                                          timeout=timeout_s, max_retries=0), concurrency)
            for url in spec.endpoints]
        self._free = asyncio.Semaphore(concurrency * len(self._slots))
        self.calls = 0
        self.attempts = 0

    def _least_busy(self) -> _Slot:
        return min(self._slots, key=lambda s: s.inflight / s.limit)

    async def chat(self, messages: Sequence[Message], params: dict[str, Any]) -> Completion:
        """One chat completion with retries; raise :class:`InfraError` when they run out."""
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            async with self._free:
                slot = self._least_busy()
                slot.inflight += 1
                self.attempts += 1
                start = time.perf_counter()
                try:
                    resp = await slot.client.chat.completions.create(
                        model=self.spec.served or self.spec.name, messages=list(messages),  # type: ignore[arg-type]
                        **params)
                except openai.APIError as exc:
                    last = f"{slot.url}: {describe(exc)}"
                    if not _retryable(exc) or attempt == self.max_retries:
                        raise InfraError(f"{last} (after {attempt + 1} attempt(s))") from None
                    delay = _retry_after(exc)
                else:
                    latency = time.perf_counter() - start
                    self.calls += 1
                    return _completion(resp, latency, slot.url, messages)
                finally:
                    slot.inflight -= 1
            if delay is None:
                delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**attempt) * random.uniform(0.5, 1.0)
            await asyncio.sleep(delay)
        raise InfraError(last)

    async def served_models(self) -> list[str]:
        """Model ids from ``GET /v1/models`` of the first endpoint (one quick retry)."""
        slot = self._slots[0]
        for attempt in range(2):
            try:
                page = await slot.client.models.list()
                return [m.id for m in page.data]
            except openai.APIError as exc:
                if attempt == 1 or not _retryable(exc):
                    raise InfraError(f"{slot.url}: {describe(exc)}") from None
                await asyncio.sleep(0.5)
        return []

    async def close(self) -> None:
        """Close the HTTP clients."""
        for slot in self._slots:
            await slot.client.close()


def _completion(resp: Any, latency: float, url: str, messages: Sequence[Message]) -> Completion:
    if not resp.choices:
        raise InfraError(f"{url}: response has no choices")
    choice = resp.choices[0]
    text, reasoning = split_reasoning(choice.message)
    usage = {}
    if resp.usage is not None:
        usage = {k: int(getattr(resp.usage, k) or 0)
                 for k in ("prompt_tokens", "completion_tokens", "total_tokens")}
    return Completion(text=text, reasoning=reasoning, latency_s=round(latency, 6), usage=usage,
                      endpoint=url, finish_reason=choice.finish_reason, messages=tuple(messages))
