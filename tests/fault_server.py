"""A small OpenAI-compatible server that misbehaves on purpose, for the client's fault tests.

Deliberately not the simulator: it shares no code with benchgate, so the client is tested
against an outside server. Run it as ``python tests/fault_server.py --port 0 --rate 0.3``; it
prints its base URL (``http://127.0.0.1:PORT/v1``) on the first stdout line.

The last user message steers each request:

- ``fault=KIND ...``: with probability ``--rate``, answer with fault KIND instead: ``500``,
  ``drop`` (connection closed), or a 200 that is not a chat completion: ``null-content``,
  ``error-object``, ``empty-choices``, ``not-json``, ``text-choice``. Every faulty body
  carries the marker ``FAULTY`` where a client could mistake it for an answer.
- ``empty-stop``, ``null-length``, ``null-reasoning``: an empty answer the model chose.
- ``echo-auth:STATUS``: answer STATUS with the request's Authorization header in the body.
- ``huge:N``: a 200 whose content is N bytes (a fixed escaped head, then ``x``), streamed in
  chunks without Content-Length; ``huge-error:N``: a 500 with an N-byte body.
- anything else: ``answer: <message>``.

``GET /stats`` returns the counters; ``GET /v1/models`` answers ``--models-status`` (with the
Authorization header echoed when that is 400 or more).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any, Self

from aiohttp import web

BAD_200 = ("null-content", "error-object", "empty-choices", "not-json", "text-choice")
KINDS = ("500", "drop", *BAD_200)
HUGE_HEAD = 'He said "stop"\nthen \\ left \u00e9 '  # Latin-1: 1 byte a character in a str


def _completion(content: Any, finish: str | None = "stop", **message: Any) -> dict[str, Any]:
    return {"id": "cmpl-fault", "object": "chat.completion", "created": int(time.time()),
            "model": "fault",
            "choices": [{"index": 0, "finish_reason": finish,
                         "message": {"role": "assistant", "content": content, **message}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def _fault(kind: str, request: web.Request) -> web.StreamResponse:
    if kind == "500":
        return web.json_response({"error": {"message": "FAULTY internal error"}}, status=500)
    if kind == "drop":
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)
    if kind == "null-content":
        return web.json_response(_completion(None))
    if kind == "error-object":
        return web.json_response({"error": {"message": "FAULTY upstream", "code": 502},
                                  "choices": [{"index": 0, "message": {
                                      "role": "assistant", "content": "FAULTY"}}]})
    if kind == "empty-choices":
        return web.json_response({"id": "cmpl-fault", "choices": [], "usage": {}})
    if kind == "not-json":
        return web.Response(text="<html>FAULTY 502 Bad Gateway</html>", content_type="text/html")
    return web.json_response({"id": "cmpl-fault", "object": "text_completion", "choices": [
        {"index": 0, "text": "FAULTY", "finish_reason": "stop"}]})


async def _huge(request: web.Request, size: int) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)
    head = json.dumps(HUGE_HEAD)[1:-1].encode()
    await resp.write(b'{"id": "cmpl-huge", "object": "chat.completion", "choices": [{"index": 0, '
                     b'"message": {"role": "assistant", "content": "' + head)
    left, block = size - len(head), b"x" * 2**16
    while left > 0:
        await resp.write(block[:left])
        left -= len(block)
    await resp.write(b'"}, "finish_reason": "stop"}], "usage": {}}')
    await resp.write_eof()
    return resp


async def _huge_error(request: web.Request, size: int) -> web.StreamResponse:
    resp = web.StreamResponse(status=500, headers={"Content-Type": "text/plain",
                                                   "Content-Length": str(size)})
    await resp.prepare(request)
    block = b"E" * 2**16
    for start in range(0, size, len(block)):
        await resp.write(block[:size - start])
    await resp.write_eof()
    return resp


async def chat(request: web.Request) -> web.StreamResponse:
    app = request.app
    stats: Counter[str] = app["stats"]
    stats["requests"] += 1
    body = await request.json()
    if app["latency_s"]:
        await asyncio.sleep(app["latency_s"])
    users = [m.get("content") for m in body.get("messages", []) if m.get("role") == "user"]
    last = str(users[-1]) if users else ""
    if last.startswith("fault="):
        kind = last.split()[0].removeprefix("fault=")
        if app["rng"].random() < app["rate"]:
            stats[f"fault:{kind}"] += 1
            stats["faults"] += 1
            return _fault(kind, request)
    elif last == "empty-stop":
        return web.json_response(_completion("", "stop"))
    elif last == "null-length":
        return web.json_response(_completion(None, "length"))
    elif last == "null-reasoning":
        return web.json_response(_completion(None, "stop", reasoning_content="thought it over"))
    elif last.startswith("echo-auth:"):
        status = int(last.removeprefix("echo-auth:"))
        auth = request.headers.get("Authorization", "")
        return web.json_response({"error": {"message": f"bad credentials: {auth}",
                                            "headers": {"Authorization": auth}}}, status=status)
    elif last.startswith("huge:"):
        return await _huge(request, int(last.removeprefix("huge:")))
    elif last.startswith("huge-error:"):
        return await _huge_error(request, int(last.removeprefix("huge-error:")))
    stats["answers"] += 1
    return web.json_response(_completion(f"answer: {last}"))


async def models(request: web.Request) -> web.Response:
    status = request.app["models_status"]
    if status >= 400:
        auth = request.headers.get("Authorization", "")
        return web.Response(status=status, text=f"unauthorized request with Authorization: {auth}")
    return web.json_response({"object": "list", "data": [{"id": "fault", "object": "model"}]})


async def stats(request: web.Request) -> web.Response:
    return web.json_response(dict(request.app["stats"]))


async def serve(args: argparse.Namespace) -> None:
    app = web.Application()
    app["stats"] = Counter()
    app["rng"] = random.Random(args.seed)
    app["rate"] = args.rate
    app["latency_s"] = args.latency_ms / 1000
    app["models_status"] = args.models_status
    app.add_routes([web.post("/v1/chat/completions", chat), web.get("/v1/models", models),
                    web.get("/stats", stats)])
    await serve_forever(app, args.port)


async def serve_forever(app: web.Application, port: int) -> None:
    """Serve ``app`` on 127.0.0.1 (``port`` 0: a free one), print its base URL, never return."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"http://127.0.0.1:{bound}/v1", flush=True)
    await asyncio.Event().wait()


class ServerChild:
    """A test server script run as a child process that prints its base URL first (its memory
    is not the test's); a context manager that stops it."""

    def __init__(self, script: str, *args: str, name: str = "server") -> None:
        self.args = list(args)
        # stderr to a file: aiohttp logs every connection a test cuts short
        self._stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([sys.executable, script, *args], stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True, start_new_session=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http"):
            self.proc.kill()
            self.proc.wait()
            self._stderr.seek(0)
            err = self._stderr.read()[-500:]
            self.stop()
            raise RuntimeError(f"{name} did not start: {err}")
        self.root = self.url.removesuffix("/v1")
        self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])

    def stats(self) -> dict[str, Any]:
        """The server's counters."""
        import urllib.request

        with urllib.request.urlopen(self.root + "/stats", timeout=10) as resp:
            result: dict[str, Any] = json.loads(resp.read())
        return result

    def kill(self) -> float:
        """SIGKILL the server (as a crash would) and reap it; return when the signal went."""
        sent = time.monotonic()
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        return sent

    def stop(self) -> None:
        """Terminate the child if it still runs."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FaultServer(ServerChild):
    """``tests/fault_server.py`` as a child process."""

    def __init__(self, *args: str) -> None:
        super().__init__(__file__, *args, name="fault server")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--models-status", type=int, default=200)
    args = parser.parse_args(argv)
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
