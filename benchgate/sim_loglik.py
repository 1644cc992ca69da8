"""The simulator's ``POST /v1/completions``: echo with token logprobs, for log-likelihood tasks.

Words (``\\s*\\S+``) are the simulator's tokens; the answer is shaped like llama-cpp-python's
(``choices[0].text`` = the prompt echoed plus one generated token, ``logprobs`` with
``tokens``, ``text_offset``, ``token_logprobs`` and ``top_logprobs``, the first logprob
``null``). Without ``echo`` or ``logprobs`` it answers like a server that ignores them: the
generated token only.

A benchmark registers each choice's full prompt under :func:`answer_key` with the context's
length and whether the choice is true. Per context the simulator "knows" the item with
probability ``accuracy`` (deterministic per context and seed); the continuation of a
favoured choice (true when it knows, false when it does not) then sums to a loglik in
(-4, -1], any other to one in (-11, -8], so the highest-loglik choice is a true one exactly
when it knows. Tokens of unregistered prompts get a deterministic logprob in (-2.1, -0.1].
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from typing import Any

from aiohttp import web

KEY_PREFIX = "\x00loglik\x00"
GENERATED = " the"
_TOKEN = re.compile(r"\s*\S+|\s+")


def answer_key(context: str, continuation: str, true: bool) -> dict[str, list[str]]:
    """The answer-key entry (``POST /sim/register``) for one choice's prompt."""
    return {KEY_PREFIX + context + continuation: [str(len(context)), "1" if true else "0"]}


def _unit(*parts: Any) -> float:
    text = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") / 2**64


def token_logprobs(prompt: str, entry: list[str] | None, accuracy: float,
                   seed: int) -> tuple[list[str], list[int], list[float]]:
    """The prompt's tokens, their offsets and logprobs (the first one's included)."""
    tokens = [m.group() for m in _TOKEN.finditer(prompt)]
    offsets, at = [], 0
    for token in tokens:
        offsets.append(at)
        at += len(token)
    values = [-(0.1 + 2.0 * _unit("tok", i, t)) for i, t in enumerate(tokens)]
    if entry is not None:
        start, true = int(entry[0]), entry[1] == "1"
        knows = _unit("knows", prompt[:start], seed) < accuracy
        u = _unit("choice", prompt, seed)
        total = -(1.0 + 3.0 * u) if true == knows else -(8.0 + 3.0 * u)
        inside = [i for i, (o, t) in enumerate(zip(offsets, tokens, strict=True))
                  if o + len(t) > start]
        for i in inside:
            values[i] = total / len(inside)
    return tokens, offsets, values


async def completions(request: web.Request) -> web.Response:
    """``POST /v1/completions`` (latency, capacity and the 429/500/drop faults as chat)."""
    state = request.app["state"]
    cfg = state.config
    state.stats["requests"] += 1
    body = await request.json()
    prompt = body.get("prompt")
    if not isinstance(prompt, str):
        return web.json_response({"error": {"message": "prompt must be a string"}}, status=400)
    if cfg.latency_ms > 0:
        await asyncio.sleep(cfg.latency_ms / 1000)
    if cfg.fail_rate > 0 and state.rng.random() < cfg.fail_rate:
        state.stats["faults"] += 1
        fault = state.rng.choice(cfg.faults)
        if fault == "drop" and request.transport is not None:
            request.transport.abort()
        if fault == "429":
            return web.json_response({"error": {"message": "rate limited"}}, status=429,
                                     headers={"retry-after-ms": "20"})
        return web.json_response({"error": {"message": "internal error"}}, status=500)
    generated = "" if body.get("max_tokens") == 0 else GENERATED
    logprobs: dict[str, Any] | None = None
    n_prompt = len(_TOKEN.findall(prompt))
    if body.get("logprobs") is not None:
        if body.get("echo"):
            tokens, offsets, values = token_logprobs(
                prompt, state.answers.get(KEY_PREFIX + prompt), cfg.accuracy, cfg.seed)
        else:
            tokens, offsets, values = [], [], []
        if generated:
            tokens, offsets, values = [*tokens, generated], [*offsets, len(prompt)], [*values, -0.5]
        shown: list[float | None] = list(values)
        if body.get("echo") and shown:
            shown[0] = None
        logprobs = {"tokens": tokens, "text_offset": offsets, "token_logprobs": shown,
                    "top_logprobs": [None if v is None else {t: v}
                                     for t, v in zip(tokens, shown, strict=True)]}
    state.stats["completions"] += 1
    state.times["last_done"] = time.time()
    return web.json_response({
        "id": f"cmpl-sim-{state.stats['requests']}", "object": "text_completion",
        "created": int(time.time()), "model": body.get("model", cfg.served_model),
        "choices": [{"index": 0, "text": (prompt if body.get("echo") else "") + generated,
                     "logprobs": logprobs, "finish_reason": "length"}],
        "usage": {"prompt_tokens": n_prompt, "completion_tokens": int(bool(generated)),
                  "total_tokens": n_prompt + int(bool(generated))}})
