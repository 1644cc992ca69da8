"""A tiny OpenAI-compatible server whose "weights" are a checkpoint directory (for ``serve:``).

``python tests/serving/ckpt_server.py --port P --path DIR --name NAME [--slow S] [--delay S]`` serves
``/v1/models`` (id NAME) and ``/v1/chat/completions``. ``DIR/skill`` holds an integer k: asked
"What is A + B?", it answers A + B when A < k and A + B + 1 otherwise, so a checkpoint's
accuracy on :mod:`tests.serving.sums_bench` is k / 10. With ``CKPT_EVENTS=FILE`` it appends
``start DIRNAME T`` once it listens and ``stop DIRNAME T`` when it shuts down (``T``:
``time.time()``), the evidence that a sweep's servers never overlap. A checkpoint without a
``skill`` file makes it exit at once with a message that echoes ``HF_TOKEN`` (as loaders that
print their settings do); ``--slow S`` waits S seconds before listening, ``--delay S`` before
each answer.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
from pathlib import Path

from aiohttp import web

QUESTION = re.compile(r"What is (\d+) \+ (\d+)\?")


def _event(kind: str, name: str) -> None:
    path = os.environ.get("CKPT_EVENTS")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{kind} {name} {time.time():.6f}\n")


def app(name: str, path: Path, delay: float) -> web.Application:
    skill = int((path / "skill").read_text().strip())

    async def models(request: web.Request) -> web.Response:
        return web.json_response({"object": "list", "data": [
            {"id": name, "object": "model", "owned_by": "ckpt-server", "created": int(time.time())}]})

    async def chat(request: web.Request) -> web.Response:
        body = await request.json()
        await asyncio.sleep(delay)
        text = str(body["messages"][-1]["content"])
        m = QUESTION.search(text)
        answer = "I do not know"
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            answer = str(a + b if a < skill else a + b + 1)
        print(f"POST /v1/chat/completions -> {answer}", flush=True)
        return web.json_response({
            "id": "c1", "object": "chat.completion", "created": int(time.time()), "model": name,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": answer}}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}})

    async def started(_: web.Application) -> None:
        _event("start", path.name)
        print(f"serving {path} as {name}", flush=True)

    async def stopped(_: web.Application) -> None:
        _event("stop", path.name)
        print("stopped", flush=True)

    application = web.Application()
    application.router.add_get("/v1/models", models)
    application.router.add_post("/v1/chat/completions", chat)
    application.on_startup.append(started)
    application.on_cleanup.append(stopped)
    return application


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", type=Path, required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--slow", type=float, default=0.0)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    if not (args.path / "skill").is_file():
        print(f"error: cannot load weights: {args.path / 'skill'} not found "
              f"(HF_TOKEN={os.environ.get('HF_TOKEN', '')})", file=sys.stderr)
        sys.exit(3)
    time.sleep(args.slow)
    web.run_app(app(args.name, args.path, args.delay), host="127.0.0.1", port=args.port, print=None,
                shutdown_timeout=1)


if __name__ == "__main__":
    main()
