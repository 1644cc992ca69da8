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
Every error message goes through :func:`benchgate.redact.redact`.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
from aiolimiter import AsyncLimiter

from benchgate.config import ModelSpec
from benchgate.errors import EndpointDown, InfraError
from benchgate.limiter import Limiter
from benchgate.loglik import Loglik, LoglikUnsupported, continuation_logprob
from benchgate.redact import redact, register_secret
from benchgate.task import Completion, Message

RETRY_STATUS = frozenset({408, 409, 429})
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
DOWN_AFTER = 3  # consecutive connection failures per replica before the pool is down
PROBE_AFTER_S = 10.0  # a failing replica gets traffic again after this long
CONNECT_TIMEOUT_S = 30.0
MAX_RESPONSE_BYTES = 4 * 2**20
ERROR_BODY_BYTES = 64 * 1024  # what is read of an error status's body
_CHUNK = 64 * 1024
_THINK = re.compile(r"^\s*<think>(.*?)</think>\s*", re.DOTALL)
_T = TypeVar("_T")


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None,
                 connection: bool = False, refused: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.connection = connection  # failed at the connection level (no HTTP response)
        self.refused = refused  # a new connection could not be made


@dataclass
class _Slot:
    url: str
    session: aiohttp.ClientSession
    limit: int
    inflight: int = 0
    streak: int = 0  # consecutive connection-level failures
    refused: bool = False  # one of them was a refused connection attempt
    last_failure: float = 0.0


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

    def _connection_failed(self, slot: _Slot, exc: _Retryable) -> None:
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
                    body, _ = await _read_capped(resp, ERROR_BODY_BYTES)
                    raise _Retryable(f"HTTP {resp.status} {_snippet(body)}".rstrip(),
                                     _retry_after(resp.headers))
                if resp.status >= 400:
                    body, _ = await _read_capped(resp, ERROR_BODY_BYTES)
                    raise InfraError(redact(f"{slot.url}: HTTP {resp.status} {_snippet(body)}"
                                            .rstrip()))
                body, complete = await _read_capped(resp, self.max_response_bytes)
                if not complete:
                    return _truncated(body, self.max_response_bytes, slot.url)
        except aiohttp.ConnectionTimeoutError:
            raise _Retryable("connection timed out", connection=True, refused=True) from None
        except TimeoutError:
            raise _Retryable("request timed out") from None
        except aiohttp.ClientConnectorError as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__})", connection=True,
                             refused=True) from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise _Retryable(f"connection failed ({type(exc).__name__})",
                             connection=True) from None
        except aiohttp.ClientError as exc:
            raise _Retryable(f"request failed ({type(exc).__name__})") from None
        try:
            data = json.loads(body)
        except ValueError:
            raise _Retryable(f"HTTP 200 body is not JSON: {_snippet(body)}") from None
        if not isinstance(data, dict):
            raise _Retryable("HTTP 200 body is not a JSON object")
        return data

    async def chat(self, messages: Sequence[Message], params: dict[str, Any]) -> Completion:
        """One chat completion with retries; raise :class:`InfraError` when they run out,
        :class:`EndpointDown` at once while the pool is down."""
        payload = {"model": self.spec.served or self.spec.name, "messages": list(messages),
                   **params}

        def parse(data: dict[str, Any] | Completion, latency: float, url: str) -> Completion:
            if isinstance(data, Completion):
                return _with(data, latency, messages)
            return _completion(data, latency, url, messages)

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
            if data.get("error"):
                raise _Retryable("HTTP 200 with an error object: "
                                 f"{_snippet(json.dumps(data['error']).encode())}")
            choices = data.get("choices")
            if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
                raise _Retryable(f"HTTP 200 with no choices: {_snippet(json.dumps(data).encode())}")
            try:
                total, count = continuation_logprob(data, prompt, start)
            except LoglikUnsupported as exc:
                raise LoglikUnsupported(redact(f"{url}: {exc}")) from None
            raw = data.get("usage")
            usage = {k: int(raw.get(k) or 0) for k in ("prompt_tokens", "completion_tokens",
                                                       "total_tokens")
                     if isinstance(raw, dict) and k in raw}
            return Loglik(text=prompt[start:], latency_s=round(latency, 6), usage=usage,
                          endpoint=url, messages=({"role": "prompt", "content": prompt[:start]},),
                          logprob=total, tokens=count)

        return await self._send("/completions", payload, parse)

    async def _send(self, path: str, payload: dict[str, Any],
                    parse: Callable[[dict[str, Any] | Completion, float, str], _T]) -> _T:
        """POST ``payload`` to ``path`` with retries; ``parse`` turns a 200 into the result
        (raising :class:`_Retryable` for a reply to retry)."""
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
            except _Retryable as exc:
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
            # Retry-After is a floor, not the plan: a server asking for 50 ms while overloaded
            # would otherwise use up every retry in a third of a second
            backoff = min(BACKOFF_CAP_S, self.backoff_s * 2**attempt) * random.uniform(0.5, 1.0)
            await self._backoff(max(delay or 0.0, backoff))
        raise InfraError(redact(last))

    async def served_models(self) -> list[str]:
        """Model ids from ``GET /v1/models`` of the first endpoint (one quick retry)."""
        slot = self._slots[0]
        for attempt in range(2):
            try:
                async with slot.session.get(f"{slot.url}/models") as resp:
                    body, complete = await _read_capped(resp, self.max_response_bytes)
                    if resp.status >= 400:
                        raise InfraError(redact(f"{slot.url}: HTTP {resp.status} on /models "
                                                f"{_snippet(body)}".rstrip()))
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


# -- bodies ------------------------------------------------------------------------------------
async def _read_capped(resp: aiohttp.ClientResponse, cap: int) -> tuple[bytearray | bytes, bool]:
    """The body, and whether it is complete; at most ``cap`` bytes are kept (read in 64 KiB
    chunks, so never more than ``cap`` + 64 KiB in memory). A body cut short closes the
    connection instead of reading the rest."""
    length = resp.content_length
    if length is not None and length <= cap and "Content-Encoding" not in resp.headers:
        return await resp.read(), True  # the common case, in one piece
    buf = bytearray()
    async for chunk in resp.content.iter_chunked(_CHUNK):
        buf += chunk
        if len(buf) > cap:
            del buf[cap:]
            resp.close()
            return buf, False
    return buf, True


def _snippet(body: bytes | bytearray) -> str:
    # redact the whole (capped) body before cutting it, so no secret is cut in half
    text = redact(bytes(body[:ERROR_BODY_BYTES]).decode("utf-8", "replace"))
    return text[:160].replace("\n", " ")


def _text_of(content: Any) -> str | None:
    """Message content as text: a string, or the text parts of a content list."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        return "".join(str(p.get("text") or "") for p in content if p.get("type") == "text")
    raise _Retryable(f"message content is a {type(content).__name__}")


def _completion(data: dict[str, Any], latency: float, url: str,
                messages: Sequence[Message]) -> Completion:
    """A parsed 200 body as a :class:`Completion`; :class:`_Retryable` when it is not a chat
    completion (the answer of a broken proxy or server, not of the model)."""
    error = data.get("error")
    if error:
        raise _Retryable(f"HTTP 200 with an error object: {_snippet(json.dumps(error).encode())}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise _Retryable(f"HTTP 200 with no choices: {_snippet(json.dumps(data).encode())}")
    choice = choices[0]
    if not isinstance(choice, dict):
        raise _Retryable("HTTP 200 with a choice that is not an object")
    message = choice.get("message")
    if not isinstance(message, dict):
        if "text" in choice:
            raise _Retryable("HTTP 200 with a completions-shaped choice (text, no message)")
        raise _Retryable("HTTP 200 with a choice without message")
    finish = choice.get("finish_reason")
    content = _text_of(message.get("content"))
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if content is None and not (isinstance(reasoning, str) and reasoning) and finish != "length":
        raise _Retryable(f"HTTP 200 with message.content null (finish_reason {finish!r})")
    text, reasoning = split_reasoning({**message, "content": content})
    raw_usage = data.get("usage") or {}
    usage = {k: int(raw_usage.get(k) or 0)
             for k in ("prompt_tokens", "completion_tokens", "total_tokens")
             if isinstance(raw_usage, dict) and k in raw_usage}
    return Completion(text=text, reasoning=reasoning, latency_s=round(latency, 6), usage=usage,
                      endpoint=url, finish_reason=finish if isinstance(finish, str) else None,
                      messages=tuple(messages))


def _with(result: Completion, latency: float | None, messages: Sequence[Message]) -> Completion:
    if result.truncated:
        return Completion(text=result.text, reasoning=result.reasoning,
                          latency_s=round(latency or 0.0, 6), endpoint=result.endpoint,
                          finish_reason=result.finish_reason, messages=tuple(messages),
                          truncated=True)
    return result


# -- truncated bodies --------------------------------------------------------------------------
_KEY = re.compile(rb'"(content|reasoning_content|reasoning|finish_reason)"\s*:\s*')
_STRING_BODY = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*')
_HIGH_SURROGATE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}$")
_DECODE_CHUNK = 256 * 1024


def _string_end(buf: bytearray | bytes, start: int) -> int:
    """Index of the closing quote of the JSON string body starting at ``buf[start]``, or
    ``len(buf)`` when the string is cut off."""
    match = _STRING_BODY.match(buf, start)
    end = match.end() if match else start
    return end if end < len(buf) and buf[end] == ord('"') else len(buf)


def _json_string(buf: bytearray | bytes, start: int, end: int, closed: bool) -> list[str]:
    """Decode the JSON string body ``buf[start:end]`` in pieces, leniently: when it is cut off
    (not ``closed``), a partial escape or UTF-8 sequence at the cut is dropped."""
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    view = memoryview(buf)
    pieces: list[str] = []
    pending = ""
    try:
        for pos in range(start, end, _DECODE_CHUNK):
            text = pending + decoder.decode(view[pos:min(end, pos + _DECODE_CHUNK)])
            cut = _complete_prefix(text)
            pending = text[cut:]
            pieces.append(_unescape(text[:cut]))
    finally:
        view.release()
    if closed and pending:
        pieces.append(_unescape(pending))
    return pieces


def _complete_prefix(text: str) -> int:
    """Length of the prefix of JSON string body ``text`` that ends on an escape boundary
    (not inside ``\\uXXXX`` nor between the halves of a surrogate pair)."""
    end = len(text)
    while True:
        i = text.rfind("\\", max(0, end - 12), end)
        if i < 0:
            return end
        run = 1
        while i - run >= 0 and text[i - run] == "\\":
            run += 1
        if run % 2 == 0:  # the last backslash is the second half of an escaped backslash
            return end
        if i == end - 1 or (text[i + 1] == "u" and end - i < 6) or (
                end - i == 6 and _HIGH_SURROGATE.match(text, i, end)):
            end = i  # an escape cut short, or half a surrogate pair: keep it for later
            continue
        return end


def _unescape(body: str) -> str:
    if "\\" not in body:
        return body
    try:
        value = json.loads(f'"{body}"', strict=False)
    except ValueError:
        return body
    return value if isinstance(value, str) else body


def _recover(prefix: bytes | bytearray) -> dict[str, list[str] | None] | None:
    """The first choice's string fields in a body prefix, as decoded pieces (see
    :func:`recover_content`); ``None`` when there is no ``choices`` key."""
    at = prefix.find(b'"choices"')
    if at < 0:
        return None
    found: dict[str, list[str] | None] = {}
    pos = at
    while True:
        match = _KEY.search(prefix, pos)
        if match is None:
            break
        key = match.group(1).decode()
        key = "reasoning_content" if key == "reasoning" else key
        pos = match.end()
        if pos < len(prefix) and prefix[pos] == ord('"'):
            end = _string_end(prefix, pos + 1)
            closed = end < len(prefix)
            if key not in found and (closed or key != "finish_reason"):
                found[key] = _json_string(prefix, pos + 1, end, closed)
            if not closed:
                break
            pos = end + 1
        elif key not in found and prefix.startswith(b"null", pos):
            found[key] = None
    return found


def recover_content(prefix: bytes | bytearray) -> tuple[str | None, str | None, str | None]:
    """Best-effort ``(content, reasoning, finish_reason)`` of the first choice from the first
    bytes of a chat-completion body (cut at any point); ``None`` for what is not there.
    Content cut off mid-string is returned up to the cut, JSON escapes decoded."""
    found = _recover(prefix) or {}
    content, reasoning, finish = (found.get(k) for k in (
        "content", "reasoning_content", "finish_reason"))
    return tuple(None if v is None else "".join(v)  # type: ignore[return-value]
                 for v in (content, reasoning, finish))


def _truncated(body: bytearray | bytes, cap: int, url: str) -> Completion:
    found = _recover(body) or {}
    if isinstance(body, bytearray):
        body.clear()  # free the body before joining the decoded pieces
    content, reasoning, finish = (None if found.get(k) is None else "".join(found[k] or ())
                                  for k in ("content", "reasoning_content", "finish_reason"))
    found.clear()
    if content is None and reasoning is None:
        raise _Retryable(f"HTTP 200 body over {cap} bytes is not a readable chat completion")
    text, reasoning = split_reasoning({"content": content, "reasoning_content": reasoning})
    return Completion(text=text, reasoning=reasoning, endpoint=url,
                      finish_reason=finish or "length", truncated=True)
