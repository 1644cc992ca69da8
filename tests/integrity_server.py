"""An outside OpenAI-compatible server that answers GSM8K-shaped items, for the integrity tests
and ``bench/integrity_outside.py``.

Not benchgate's simulator (it imports nothing from benchgate): it reads a GSM8K ``test.jsonl``,
finds the problem in the prompt and answers "The final answer is N". ``POST /admin`` changes its
behaviour between runs without changing its URL:

- ``weights``: ``a`` answers right; any other name answers N+1. ``/v1/models`` (``checksum``)
  and llama.cpp-style ``/props`` (``model_path``) report the weights, as a real server would.
- ``rate`` and ``faults``: each request is, with probability ``rate``, one of the fault kinds
  of :mod:`tests.fault_server` (500, drop, null-content, error-object, empty-choices,
  not-json, text-choice) instead of an answer.
- ``mode``: ``answer``; ``seed`` (right only when the request's seed is a multiple of 3: of
  three repeats seeded s, s+1, s+2 one is right); ``empty-length`` (empty content,
  ``finish_reason: length``); ``pad:N`` (the answer followed by N bytes of padding);
  ``echo-auth`` (401 quoting the Authorization header).
- ``latency_ms``, ``models_status`` (``/v1/models`` answers that status, echoing the header).

``GET /stats`` returns the counters (requests, answers, faults per kind, max in flight, the
``max_tokens`` values seen).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fault_server import KINDS, ServerChild, _completion, _fault, serve_forever

PROBLEM = re.compile(r"Problem: (.*?)\nYour response", re.DOTALL)
REPO = Path(__file__).resolve().parents[1]
SETTINGS = ("weights", "rate", "faults", "mode", "latency_ms", "models_status")


def write_gsm8k(root: Path, n: int) -> Path:
    """A ``--data-dir`` with ``n`` GSM8K-shaped problems we make up (never upstream data)."""
    bench = root / "gsm8k"
    bench.mkdir(parents=True, exist_ok=True)
    rows = [{"question": f"Ann has {i} apples and buys {i + 3} more. How many apples now?",
             "answer": f"{i}+{i + 3}=<<{i}+{i + 3}={2 * i + 3}>>{2 * i + 3}\n#### {2 * i + 3}"}
            for i in range(n)]
    (bench / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def suite(pytester: Any, *args: str, benchmark: str = "gsm8k", timeout: float = 120) -> Any:
    """A real pytest session on the repo's ``benchmark`` in the pytester directory."""
    return pytester.runpytest_subprocess(str(REPO / "benchmarks" / benchmark), "-p",
                                         "no:cacheprovider", *args, timeout=timeout)


def section(cwd: Path, model: str, bench: str = "gsm8k") -> dict[str, Any]:
    """One benchmark's section of ``results/<model>/report.json``."""
    report = json.loads((cwd / "results" / model / "report.json").read_text())
    result: dict[str, Any] = report["benchmarks"][bench]
    return result


def items(cwd: Path, model: str, bench: str = "gsm8k") -> list[dict[str, Any]]:
    """The rows of ``results/<model>/<bench>.items.jsonl``."""
    path = cwd / "results" / model / f"{bench}.items.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def _answers(path: Path) -> dict[str, str]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {r["question"].strip(): r["answer"].rsplit("####", 1)[1].strip() for r in rows}


async def chat(request: web.Request) -> web.StreamResponse:
    app = request.app
    cfg: dict[str, Any] = app["cfg"]
    stats: Counter[str] = app["stats"]
    stats["requests"] += 1
    stats["inflight"] += 1
    stats["max_inflight"] = max(stats["max_inflight"], stats["inflight"])
    try:
        body = await request.json()
        app["max_tokens"].add(body.get("max_tokens"))
        if cfg["latency_ms"]:
            await asyncio.sleep(cfg["latency_ms"] / 1000)
        if cfg["mode"] == "echo-auth":
            auth = request.headers.get("Authorization", "")
            return web.json_response({"error": {"message": f"invalid key in {auth}"}}, status=401)
        if cfg["rate"] and app["rng"].random() < cfg["rate"]:
            kind = app["rng"].choice(cfg["faults"])
            stats["faults"] += 1
            stats[f"fault:{kind}"] += 1
            return _fault(kind, request)
        stats["answers"] += 1
        return web.json_response(_answer(app, cfg, body))
    finally:
        stats["inflight"] -= 1


def _answer(app: web.Application, cfg: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    if cfg["mode"] == "empty-length":
        return _completion("", "length")
    users = [m.get("content") or "" for m in body.get("messages", []) if m.get("role") == "user"]
    found = PROBLEM.search(users[-1]) if users else None
    right = app["answers"].get(found.group(1).strip()) if found else None
    if right is None:
        return _completion("I cannot find the problem.")
    wrong = cfg["weights"] != "a" or (cfg["mode"] == "seed" and int(body.get("seed") or 0) % 3)
    text = f"Step by step.\nThe final answer is {int(right) + 1 if wrong else right}"
    if cfg["mode"].startswith("pad:"):
        text = f"The final answer is {right}\n" + "z" * int(cfg["mode"][4:])
    return _completion(text)


async def models(request: web.Request) -> web.Response:
    cfg = request.app["cfg"]
    if cfg["models_status"] >= 400:
        auth = request.headers.get("Authorization", "")
        return web.Response(status=cfg["models_status"], text=f"no access for Authorization: {auth}")
    return web.json_response({"object": "list", "data": [
        {"id": "outside", "object": "model", "owned_by": "me", "created": int(time.time()),
         "checksum": f"sha256-{cfg['weights']}"}]})


async def props(request: web.Request) -> web.Response:
    cfg = request.app["cfg"]
    return web.json_response({"model_path": f"/models/{cfg['weights']}.gguf",
                              "chat_template": "{{ messages }}", "build_info": "b1-outside"})


async def admin(request: web.Request) -> web.Response:
    cfg = request.app["cfg"]
    changes = await request.json()
    if changes.pop("reset_stats", False):
        request.app["stats"].clear()
        request.app["max_tokens"].clear()
    unknown = set(changes) - set(SETTINGS)
    if unknown:
        return web.json_response({"error": f"unknown settings {sorted(unknown)}"}, status=400)
    cfg.update(changes)
    return web.json_response(cfg)


async def stats(request: web.Request) -> web.Response:
    out: dict[str, Any] = dict(request.app["stats"])
    out["max_tokens"] = sorted(str(v) for v in request.app["max_tokens"])
    return web.json_response(out)


async def serve(args: argparse.Namespace) -> None:
    app = web.Application()
    app["stats"], app["max_tokens"] = Counter(), set()
    app["rng"] = random.Random(args.seed)
    app["answers"] = _answers(Path(args.data))
    app["cfg"] = {"weights": args.weights, "rate": args.rate, "faults": args.faults.split(","),
                  "mode": args.mode, "latency_ms": args.latency_ms, "models_status": 200}
    app.add_routes([web.post("/v1/chat/completions", chat), web.get("/v1/models", models),
                    web.get("/props", props), web.post("/admin", admin), web.get("/stats", stats)])
    await serve_forever(app, args.port)


class OutsideServer(ServerChild):
    """This server as a child process; a context manager that stops it."""

    def __init__(self, data: Path, *args: str) -> None:
        super().__init__(__file__, "--data", str(data / "gsm8k" / "test.jsonl"), *args,
                         name="outside server")

    def set(self, **changes: Any) -> None:
        """Change the server's behaviour (see the module docstring); ``reset_stats=True``."""
        req = urllib.request.Request(self.root + "/admin", data=json.dumps(changes).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a GSM8K test.jsonl")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--weights", default="a")
    parser.add_argument("--rate", type=float, default=0.0)
    parser.add_argument("--faults", default=",".join(KINDS))
    parser.add_argument("--mode", default="answer")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    try:
        asyncio.run(serve(parser.parse_args()))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
