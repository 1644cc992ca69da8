"""An OpenAI-compatible server with a broken chat template, for the ``--smoke`` tests.

It is the real simulator (:mod:`benchgate.sim`, answer key registered by the plugin, so the
answers are right at ``--accuracy 1``) behind a middleware that spoils every chat reply the
way a mis-configured server does:

- ``--leak TOKEN``: the reply starts with ``TOKEN`` and a role name (``<|im_start|>assistant``)
- ``--mode think``: the reply opens ``<think>`` and never closes it
- ``--mode same``: every reply is the same text, whatever the prompt
- ``--mode length``: ``finish_reason`` is ``length`` (cut at ``max_tokens``)
- ``--mode empty``: the reply is ``""``

``python -m tests.template_server --leak '<|im_start|>'`` prints its base URL on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from benchgate.sim import SimConfig, make_app

MODES = ("clean", "think", "same", "length", "empty")
SAME = "Let's work it out step by step.\nThe final answer is 42"


def spoil(body: dict[str, Any], mode: str, leak: str | None) -> dict[str, Any]:
    """The completion ``body`` as the broken server sends it."""
    choice = body["choices"][0]
    text = str(choice["message"].get("content") or "")
    if leak:
        text = f"{leak}assistant\n{text}"
    if mode == "think":
        text = f"<think>Let me think about this.\n{text}"
    elif mode == "same":
        text = SAME
    elif mode == "empty":
        text = ""
    elif mode == "length":
        choice["finish_reason"] = "length"
    choice["message"]["content"] = text
    return body


def make(mode: str, leak: str | None) -> web.Application:
    """The simulator app with the spoiling middleware."""

    @web.middleware
    async def middleware(request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
        response = await handler(request)
        if request.path != "/v1/chat/completions" or response.status != 200 or \
                not isinstance(response, web.Response) or response.body is None:
            return response
        body = json.loads(bytes(response.body))  # type: ignore[arg-type]
        return web.json_response(spoil(body, mode, leak))

    app = make_app(SimConfig(accuracy=1.0))
    app.middlewares.append(middleware)
    return app


async def serve(mode: str, leak: str | None) -> None:
    """Serve on a free port until killed; print the base URL first."""
    runner = web.AppRunner(make(mode, leak), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"http://127.0.0.1:{port}/v1", flush=True)
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m tests.template_server [--mode M] [--leak TOKEN]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=MODES, default="clean")
    parser.add_argument("--leak", default=None)
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args.mode, args.leak))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
