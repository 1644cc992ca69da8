"""``Retry-After`` floors the exponential backoff; it never replaces it (issue #10: a server
asking for 0 s while overloaded must not use up every retry at once). Real HTTP to a local
aiohttp server that throttles the first requests."""

from __future__ import annotations

import asyncio
import time

from aiohttp import web

from benchgate.client import EndpointPool
from benchgate.config import ModelSpec

BODY = {"choices": [{"message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"completion_tokens": 1}}


async def _throttled(throttle: int, headers: dict[str, str], backoff_s: float) -> tuple[float, int]:
    """Seconds one call took against a server answering 429 ``throttle`` times, and the
    requests the server saw."""
    seen = [0]

    async def chat(request: web.Request) -> web.Response:
        seen[0] += 1
        if seen[0] <= throttle:
            return web.json_response({"error": {"message": "slow down"}}, status=429,
                                     headers=headers)
        return web.json_response(BODY)

    app = web.Application()
    app.router.add_post("/v1/chat/completions", chat)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    spec = ModelSpec(name="throttled", endpoints=(f"http://127.0.0.1:{port}/v1",))
    pool = EndpointPool(spec, 1, 30.0, 5, backoff_s=backoff_s)
    try:
        start = time.perf_counter()
        result = await pool.chat([{"role": "user", "content": "hi"}], {"temperature": 0})
        elapsed = time.perf_counter() - start
    finally:
        await pool.close()
        await runner.cleanup()
    assert result.text == "ok"
    return elapsed, seen[0]


def test_a_zero_retry_after_still_waits_the_backoff() -> None:
    # backoffs 0.2 s, 0.4 s, 0.8 s, each jittered to at least half: >= 0.7 s in all
    for headers in ({"Retry-After": "0"}, {"retry-after-ms": "1"}):
        elapsed, seen = asyncio.run(_throttled(3, headers, backoff_s=0.2))
        assert seen == 4
        assert elapsed >= 0.7, (headers, elapsed)


def test_a_retry_after_longer_than_the_backoff_is_honoured() -> None:
    elapsed, seen = asyncio.run(_throttled(1, {"Retry-After": "1"}, backoff_s=0.01))
    assert seen == 2 and elapsed >= 1.0
