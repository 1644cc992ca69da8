"""The OpenAI wire format: request parameters per model family, and what 200 replies mean.

:func:`adapt_params` rewrites sampling parameters for the OpenAI reasoning families.
:func:`chat_completion` turns a parsed chat-completions body into a :class:`Completion`, and
:func:`loglik_reply` a completions body (echo, logprobs) into a :class:`Loglik`; a body that is
not what was asked for (an ``error`` object, no ``choices``, a completions-shaped choice,
``content: null`` the model did not choose) raises :class:`Retryable`, being the answer of a
broken proxy or server, not of the model. :func:`truncated_completion` is the
:class:`Completion` recovered from a body cut at the size cap, and :func:`split_reasoning`
separates reasoning content from the answer.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from benchgate.client_body import recover_fields, snippet
from benchgate.client_retry import Retryable
from benchgate.loglik import Loglik, LoglikUnsupported, continuation_logprob
from benchgate.redact import redact
from benchgate.task import Completion, Message

_THINK = re.compile(r"^\s*<think>(.*?)</think>\s*", re.DOTALL)
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


def _text_of(content: Any) -> str | None:
    """Message content as text: a string, or the text parts of a content list."""
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list) and all(isinstance(p, dict) for p in content):
        return "".join(str(p.get("text") or "") for p in content if p.get("type") == "text")
    raise Retryable(f"message content is a {type(content).__name__}")


def chat_completion(data: dict[str, Any], latency: float, url: str,
                    messages: Sequence[Message]) -> Completion:
    """A parsed 200 body as a :class:`Completion`; :class:`Retryable` when it is not a chat
    completion (the answer of a broken proxy or server, not of the model)."""
    error = data.get("error")
    if error:
        raise Retryable(f"HTTP 200 with an error object: {snippet(json.dumps(error).encode())}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices:
        raise Retryable(f"HTTP 200 with no choices: {snippet(json.dumps(data).encode())}")
    choice = choices[0]
    if not isinstance(choice, dict):
        raise Retryable("HTTP 200 with a choice that is not an object")
    message = choice.get("message")
    if not isinstance(message, dict):
        if "text" in choice:
            raise Retryable("HTTP 200 with a completions-shaped choice (text, no message)")
        raise Retryable("HTTP 200 with a choice without message")
    finish = choice.get("finish_reason")
    content = _text_of(message.get("content"))
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    if content is None and not (isinstance(reasoning, str) and reasoning) and finish != "length":
        raise Retryable(f"HTTP 200 with message.content null (finish_reason {finish!r})")
    text, reasoning = split_reasoning({**message, "content": content})
    raw_usage = data.get("usage") or {}
    usage = {k: int(raw_usage.get(k) or 0)
             for k in ("prompt_tokens", "completion_tokens", "total_tokens")
             if isinstance(raw_usage, dict) and k in raw_usage}
    return Completion(text=text, reasoning=reasoning, latency_s=round(latency, 6), usage=usage,
                      endpoint=url, finish_reason=finish if isinstance(finish, str) else None,
                      messages=tuple(messages))


def with_latency(result: Completion, latency: float | None,
                 messages: Sequence[Message]) -> Completion:
    """A :class:`truncated_completion` with the call's latency and messages (any other
    result as it is)."""
    if result.truncated:
        return Completion(text=result.text, reasoning=result.reasoning,
                          latency_s=round(latency or 0.0, 6), endpoint=result.endpoint,
                          finish_reason=result.finish_reason, messages=tuple(messages),
                          truncated=True)
    return result


def loglik_reply(data: dict[str, Any], latency: float, url: str, prompt: str,
                 start: int) -> Loglik:
    """A parsed completions body (echo, logprobs) as the :class:`Loglik` of ``prompt[start:]``;
    :class:`Retryable` when it is not a completion, :class:`LoglikUnsupported` when the server
    cannot tell."""
    if data.get("error"):
        raise Retryable("HTTP 200 with an error object: "
                        f"{snippet(json.dumps(data['error']).encode())}")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise Retryable(f"HTTP 200 with no choices: {snippet(json.dumps(data).encode())}")
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


def truncated_completion(body: bytearray | bytes, cap: int, url: str) -> Completion:
    """The :class:`Completion` (``truncated=True``) recovered from a chat-completion body cut
    at ``cap`` bytes; :class:`Retryable` when it holds neither content nor reasoning. A
    ``bytearray`` body is cleared on the way."""
    found = recover_fields(body) or {}
    if isinstance(body, bytearray):
        body.clear()  # free the body before joining the decoded pieces
    content, reasoning, finish = (None if found.get(k) is None else "".join(found[k] or ())
                                  for k in ("content", "reasoning_content", "finish_reason"))
    found.clear()
    if content is None and reasoning is None:
        raise Retryable(f"HTTP 200 body over {cap} bytes is not a readable chat completion")
    text, reasoning = split_reasoning({"content": content, "reasoning_content": reasoning})
    return Completion(text=text, reasoning=reasoning, endpoint=url,
                      finish_reason=finish or "length", truncated=True)
