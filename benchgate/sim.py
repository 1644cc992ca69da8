"""The simulator (README "The simulator"): a real OpenAI-compatible HTTP server for tests and benchmarks.

``/v1/chat/completions`` answers a registered benchmark item correctly with probability
``accuracy``, deterministically per (item, seed) (with ``flaky`` F: a fraction F of the items
are coin flips per seed, the rest right or wrong whatever the seed, see :func:`item_right`);
answers judge prompts through the simulated judges the benchmarks declare
(:mod:`benchgate.simjudge`; ``sim-<mode>`` served names are judges of another mode);
injects latency and faults on request: 429 with Retry-After, 500, dropped connections, and
200s that are not chat completions (``null-content``, ``error-object``, ``empty-choices``,
``not-json``, ``text-choice``), each a kind of :data:`FAULTS`.
The answer key and the modules of the simulated judges arrive over HTTP (``POST
/sim/register``, from the plugin after collection) so the server knows nothing of benchmarks.
``GET /sim/stats`` counts requests for the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from benchgate import sim_loglik, simjudge
from benchgate.sim_extract import extraction_reply
from benchgate.simproc import DEFAULT_FAULTS, FAULTS


@dataclass
class SimConfig:
    """Simulator behaviour; every field has a ``benchgate sim`` flag."""

    accuracy: float = 0.7
    latency_ms: float = 0.0
    fail_rate: float = 0.0
    faults: tuple[str, ...] = DEFAULT_FAULTS
    seed: int = 0
    served_model: str = "sim"
    capacity: int = 0  # > 0: more requests in flight than this get 429
    reasoning: bool = False
    judge: str = "default"  # the mode of the judge served as "sim" (simjudge.JUDGE_MODES)
    flaky: float | None = None  # None: every item right with probability accuracy per seed


@dataclass
class SimState:
    """Answer key and counters."""

    config: SimConfig
    answers: dict[str, list[str]] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=lambda: {
        "requests": 0, "completions": 0, "faults": 0, "inflight": 0, "max_inflight": 0})
    rng: random.Random = field(default_factory=random.Random)
    times: dict[str, float] = field(default_factory=dict)


def _digest(*parts: Any) -> float:
    text = "\x1f".join(str(p) for p in parts).encode("utf-8")
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big") / 2**64


def item_right(config: SimConfig, prompt: str, seed: int) -> bool:
    """Whether the simulator answers the item ``prompt`` right at sampling ``seed``.

    Without ``flaky``, each (item, seed) is right with probability ``accuracy``. With
    ``flaky`` F, an item-level draw u makes the items with u < F coin flips (right with
    probability 1/2 for each seed) and every other item deterministic: right whatever the
    seed when its rescaled draw is below the share that keeps the expected accuracy at
    ``accuracy`` (clamped to [0, 1]). Lowering ``accuracy`` only turns right items wrong.
    """
    per_seed = _digest(prompt, seed, config.seed)
    if config.flaky is None:
        return per_seed < config.accuracy
    u = _digest("item", prompt, config.seed)
    if u < config.flaky:
        return per_seed < 0.5
    share = (config.accuracy - config.flaky / 2) / (1 - config.flaky)
    return (u - config.flaky) / (1 - config.flaky) < share


def reply_for(state: SimState, messages: list[dict[str, Any]], seed: int,
              served: str | None = None) -> str:
    """The simulator's answer to a conversation."""
    users = [m.get("content") for m in messages if m.get("role") == "user"]
    last = users[-1] if users and isinstance(users[-1], str) else ""
    pair = state.answers.get(last)
    if pair is not None:
        return pair[0] if item_right(state.config, last, seed) else pair[1]
    whole = "\n".join(str(m.get("content")) for m in messages)
    extracted = extraction_reply(whole)  # --grader llm: the final answer stated, as JSON
    if extracted is not None:
        return extracted
    mode = simjudge.mode_of(served, state.config.judge)
    draw = _digest("judge", f"{whole}\x1f{seed}")
    judged = simjudge.answer(simjudge.JudgeRequest(whole, mode, draw))
    if judged is not None:
        return judged
    return f"I am the benchgate simulator. You said {len(last.split())} words."


async def chat(request: web.Request) -> web.StreamResponse:
    state: SimState = request.app["state"]
    cfg = state.config
    state.stats["requests"] += 1
    state.times.setdefault("first_request", time.time())
    body = await request.json()
    if cfg.capacity and state.stats["inflight"] >= cfg.capacity:
        state.stats["faults"] += 1
        return web.json_response({"error": {"message": "over capacity"}}, status=429,
                                 headers={"retry-after-ms": "50", "retry-after": "1"})
    state.stats["inflight"] += 1
    state.stats["max_inflight"] = max(state.stats["max_inflight"], state.stats["inflight"])
    try:
        if cfg.latency_ms > 0:
            await asyncio.sleep(cfg.latency_ms / 1000)
        if cfg.fail_rate > 0 and state.rng.random() < cfg.fail_rate:
            state.stats["faults"] += 1
            fault = state.rng.choice(cfg.faults)
            if fault == "429":
                return web.json_response({"error": {"message": "rate limited"}}, status=429,
                                         headers={"retry-after-ms": "20", "retry-after": "1"})
            if fault == "500":
                return web.json_response({"error": {"message": "internal error"}}, status=500)
            if fault == "drop":
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=500)
            return _bad_200(fault, body, state)
        messages = body.get("messages") or []
        seed = body.get("seed")
        text = reply_for(state, messages, 0 if seed is None else int(seed), body.get("model"))
        state.stats["completions"] += 1
        state.times["last_done"] = time.time()
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        completion_tokens = len(text.split())
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if cfg.reasoning:
            message["reasoning_content"] = "Simulated reasoning. The answer is 0."
        return web.json_response({
            "id": f"chatcmpl-sim-{state.stats['requests']}", "object": "chat.completion",
            "created": int(time.time()), "model": body.get("model", cfg.served_model),
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}})
    finally:
        state.stats["inflight"] -= 1


def _bad_200(fault: str, body: dict[str, Any], state: SimState) -> web.Response:
    """A 200 that is not a usable chat completion (what broken proxies and servers send)."""
    head = {"id": f"chatcmpl-sim-{state.stats['requests']}", "object": "chat.completion",
            "created": int(time.time()), "model": body.get("model", state.config.served_model)}
    if fault == "null-content":
        return web.json_response({**head, "choices": [{
            "index": 0, "message": {"role": "assistant", "content": None},
            "finish_reason": "stop"}]})
    if fault == "error-object":
        return web.json_response({"error": {"message": "upstream failure",
                                            "type": "server_error", "code": 500}})
    if fault == "empty-choices":
        return web.json_response({**head, "choices": []})
    if fault == "not-json":
        return web.Response(text="<html><body>502 Bad Gateway</body></html>",
                            content_type="text/html")
    # text-choice: a /v1/completions-shaped answer to a chat request
    return web.json_response({**head, "object": "text_completion", "choices": [{
        "index": 0, "text": "I am a completions answer.", "finish_reason": "stop"}]})


async def models(request: web.Request) -> web.Response:
    state: SimState = request.app["state"]
    return web.json_response({"object": "list", "data": [
        {"id": name, "object": "model", "owned_by": "benchgate-sim", "created": 0}
        for name in dict.fromkeys([state.config.served_model, *simjudge.SIM_JUDGES[1:]])]})


async def register(request: web.Request) -> web.Response:
    state: SimState = request.app["state"]
    body = await request.json()
    entries = body.get("answers", {})
    state.answers.update(entries)
    problems = simjudge.load(body.get("judges", []))  # the tasks' simulated judges
    return web.json_response({"registered": len(entries), "total": len(state.answers),
                              "problems": problems})


async def stats(request: web.Request) -> web.Response:
    state: SimState = request.app["state"]
    return web.json_response({**state.stats, **state.times})


async def reset(request: web.Request) -> web.Response:
    state: SimState = request.app["state"]
    for key in state.stats:
        state.stats[key] = 0
    state.times.clear()
    return web.json_response({"ok": True})


def make_app(config: SimConfig) -> web.Application:
    """The aiohttp application serving the simulator."""
    app = web.Application(client_max_size=256 * 1024 * 1024)
    app["state"] = SimState(config=config, rng=random.Random(config.seed))
    app.add_routes([web.post("/v1/chat/completions", chat), web.get("/v1/models", models),
                    web.post("/v1/completions", sim_loglik.completions),
                    web.post("/sim/register", register), web.get("/sim/stats", stats),
                    web.post("/sim/reset", reset)])
    return app


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``benchgate sim`` flags."""
    parser.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--accuracy", "--sim-accuracy", type=float, default=0.7)
    parser.add_argument("--latency-ms", "--sim-latency-ms", type=float, default=0.0)
    parser.add_argument("--fail-rate", "--sim-fail-rate", type=float, default=0.0)
    parser.add_argument("--faults", "--sim-faults", default=",".join(DEFAULT_FAULTS),
                        help="comma-separated fault kinds --fail-rate injects, of "
                             f"{','.join(FAULTS)} (default {','.join(DEFAULT_FAULTS)})")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--served-model", default="sim")
    parser.add_argument("--capacity", type=int, default=0,
                        help="requests in flight beyond this get 429 (0 = unlimited)")
    parser.add_argument("--flaky", "--sim-flaky", type=float, default=None, metavar="F",
                        help="a fraction F of the items are coin flips per seed, the others "
                             "right or wrong whatever the seed (default: every item right "
                             "with probability --accuracy per seed)")
    parser.add_argument("--judge", "--sim-judge", choices=simjudge.JUDGE_MODES, default="default",
                        help="mode of the judge served as 'sim' (sim-<mode> always gets <mode>)")
    # graders.judge holds the generic verdict formats (a judge's ``format:``), so ad hoc judge
    # calls are answered before any benchmark registers its own simulated judge
    parser.add_argument("--judge-modules", default="graders.judge",
                        help="comma-separated modules declaring simulated judges, imported at "
                             "start (default graders.judge, the verdict formats; the plugin "
                             "registers its tasks' own over /sim/register)")
    parser.add_argument("--reasoning", action="store_true",
                        help="also return reasoning_content, as reasoning servers do")


def config_from_args(args: argparse.Namespace) -> SimConfig:
    """Build a :class:`SimConfig` from parsed flags, rejecting unknown fault kinds."""
    faults = tuple(f for f in args.faults.split(",") if f)
    bad = [f for f in faults if f not in FAULTS]
    if bad:
        raise SystemExit(f"benchgate sim: unknown fault kind {bad[0]!r} (valid: {', '.join(FAULTS)})")
    if not faults:
        raise SystemExit(f"benchgate sim: --faults names no fault kind (valid: {', '.join(FAULTS)})")
    if args.flaky is not None and not 0.0 <= args.flaky <= 1.0:
        raise SystemExit(f"benchgate sim: --flaky {args.flaky}: use a fraction from 0 to 1")
    return SimConfig(accuracy=args.accuracy, latency_ms=args.latency_ms, fail_rate=args.fail_rate,
                     faults=faults, seed=args.seed, served_model=args.served_model,
                     capacity=args.capacity, reasoning=args.reasoning, flaky=args.flaky,
                     judge=args.judge)


async def serve(config: SimConfig, host: str, port: int) -> None:
    """Serve until cancelled; print the base URL on the first stdout line."""
    runner = web.AppRunner(make_app(config), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    print(f"http://{host}:{bound}/v1", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m benchgate.sim`` and ``benchgate sim``."""
    parser = argparse.ArgumentParser(prog="benchgate sim", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    problems = simjudge.load(m for m in args.judge_modules.split(",") if m)
    if problems:
        raise SystemExit(f"benchgate sim: {problems[0]}")
    try:
        asyncio.run(serve(config_from_args(args), args.host, args.port))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
