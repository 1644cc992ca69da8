"""Per-item cost of the suite against its floors (issue #10's table; prints figures, asserts nothing).

Each figure is a ratio measured in one run on this machine, side by side with its anchor:

1. cold, N GSM8K items at concurrency 32, whole process  vs  a bare aiohttp client sending the
   same request bodies (recorded by the server during the suite's run) at the same concurrency;
2. cold, GSM8K + MMLU-Pro (13,351 items with ``--data-dir``) at concurrency 256: wall, CPU, peak
   RSS vs the bare client, and pytest's own floor beside it: bare pytest running as many trivial
   passing tests, against the same bare client (on 2 slow cores pytest alone nears the 2x bound);
3. fully cached rerun of the GSM8K items  vs  bare pytest running as many trivial parametrized tests,
   with the same outcomes: once with every cached answer right (the server answers from the
   reference key) against passing tests, once with nearly every answer wrong against failing ones;
4. a one-item run (start-up, report)  vs  bare pytest on a one-test file, same venv and plugins;
5. collection of MMLU-Pro (``--collect-only``)  vs  bare pytest collecting as many trivial tests.

Rows 1, 3, 4 and 5 run ``--rounds`` interleaved (ours, anchor) pairs and print medians with every
round's ratio: this machine's speed drifts by tens of percent within minutes, so one pair is
noise. The last line prints a fixed CPU loop's time, to compare machines and moments.

The server is an outside asyncio (aiohttp) OpenAI-compatible server with a fixed latency, not
the project's simulator. Usage::

    python bench/per_item_cost.py --data-dir ../shared/datasets [--latency-ms 200] [--skip-large]
        [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

REPO = Path(__file__).resolve().parents[1]

BARE_CLIENT = textwrap.dedent("""
    import asyncio, json, sys
    import aiohttp

    async def main(url, bodies, conc):
        sem = asyncio.Semaphore(conc)
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=conc)) as http:
            async def one(body):
                async with sem:
                    async with http.post(url + "/chat/completions", json=body) as resp:
                        data = await resp.json()
                        return data["choices"][0]["message"]["content"]
            answers = await asyncio.gather(*(one(b) for b in bodies))
        print(len(answers))

    bodies = [json.loads(line) for line in open(sys.argv[2])]
    asyncio.run(main(sys.argv[1], bodies, int(sys.argv[3])))
""")


GSM8K_QUESTION = re.compile(r"Problem: (.*)\nYour response should end", re.DOTALL)


def gsm8k_key(path: Path) -> dict[str, str]:
    """Question -> reference final answer (the number after ``####``, commas dropped)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return {r["question"]: r["answer"].split("####")[-1].strip().replace(",", "") for r in rows}


class OutsideServer:
    """aiohttp chat-completions server on a thread; records request bodies when asked."""

    def __init__(self, latency_ms: float) -> None:
        self.latency = latency_ms / 1000
        self.record: list[dict[str, Any]] | None = None
        # GSM8K question -> reference answer: when set, such prompts get the right answer
        self.key: dict[str, str] | None = None
        self.requests = 0
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._ready = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()
        self._ready.wait(10)

    def _serve(self) -> None:
        async def models(_: web.Request) -> web.Response:
            return web.json_response({"object": "list", "data": [
                {"id": "outside", "object": "model", "owned_by": "bench"}]})

        async def chat(request: web.Request) -> web.Response:
            body = await request.json()
            self.requests += 1
            if self.record is not None:
                self.record.append(body)
            await asyncio.sleep(self.latency)
            content = "Let me see. The answer is (B). #### 42"
            if self.key is not None:
                asked = GSM8K_QUESTION.search(str(body["messages"][-1]["content"]))
                if asked and asked.group(1) in self.key:
                    content = f"Step by step.\nThe final answer is {self.key[asked.group(1)]}"
            return web.json_response({
                "id": "x", "object": "chat.completion", "model": "outside",
                "choices": [{"index": 0, "finish_reason": "stop", "message": {
                    "role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": 50, "completion_tokens": 12, "total_tokens": 62}})

        async def start() -> None:
            app = web.Application(client_max_size=64 * 2**20)
            app.router.add_get("/v1/models", models)
            app.router.add_post("/v1/chat/completions", chat)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port, backlog=4096).start()
            self._ready.set()
            while True:
                await asyncio.sleep(3600)

        asyncio.run(start())


def _hwm_mb(pid: int) -> float:
    """Peak RSS of ``pid`` plus its live descendants, from /proc (VmHWM is per address space,
    so unlike ``ru_maxrss`` it does not inherit the forking parent's size)."""
    total = 0.0
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        total += next(int(line.split()[1]) for line in status.splitlines()
                      if line.startswith("VmHWM")) / 1024
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _hwm_mb(int(child))
    except (OSError, StopIteration, ValueError):
        pass
    return total


def measure(cmd: list[str], cwd: Path) -> tuple[float, float, float, int]:
    """(wall s, CPU s, peak RSS MB, exit status) of a child and its descendants."""
    # bytecode caching on, as users have it (this machine sets PYTHONDONTWRITEBYTECODE)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTEST_") and k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    peak = 0.0
    err = b""

    def drain() -> None:
        nonlocal err
        assert proc.stderr is not None
        err = proc.stderr.read()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    while True:
        peak = max(peak, _hwm_mb(proc.pid))
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        time.sleep(0.05)
    wall = time.perf_counter() - start
    reader.join(5)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        text = err.decode(errors="replace")
        raise SystemExit(f"{' '.join(cmd[:6])}... exited {proc.returncode}: {text[-800:]}")
    return wall, usage.ru_utime + usage.ru_stime, peak, proc.returncode


def suite(paths: list[str], server: OutsideServer, work: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "pytest", *paths, "-q", "--tb=no", "--no-header",
            "-p", "no:cacheprovider", "--endpoint", server.url, "--model", "outside", *extra]


def bare_client(server: OutsideServer, bodies: list[dict[str, Any]], conc: int,
                work: Path) -> tuple[float, float, float, int]:
    script = work / "bare_client.py"
    script.write_text(BARE_CLIENT)
    data = work / "bodies.jsonl"
    data.write_text("".join(json.dumps(b) + "\n" for b in bodies))
    return measure([sys.executable, str(script), server.url, str(data), str(conc)], work)


Measured = tuple[float, float, float, int]


def paired(ours: Callable[[], Measured], anchor: Callable[[], Measured],
           rounds: int) -> tuple[Measured, Measured, list[float]]:
    """``rounds`` interleaved (ours, anchor) pairs: the median of each figure, and every
    round's ratio (this machine's speed drifts by tens of percent within minutes)."""
    pairs = [(ours(), anchor()) for _ in range(rounds)]
    ratios = [o[0] / a[0] for o, a in pairs]

    def median(runs: list[Measured]) -> Measured:
        return (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
                statistics.median(r[2] for r in runs), runs[0][3])

    return median([o for o, _ in pairs]), median([a for _, a in pairs]), ratios


def row(name: str, ours: Measured, anchor: Measured, target: str,
        ratios: list[float] | None = None) -> None:
    ratios = ratios or [ours[0] / anchor[0]]
    spread = "" if len(ratios) < 2 else \
        f" (rounds {', '.join(f'{r:.2f}' for r in ratios)})"
    print(f"| {name} | {ours[0]:.2f} s, {ours[1]:.1f} s CPU, {ours[2]:.0f} MB | "
          f"{anchor[0]:.2f} s, {anchor[1]:.1f} s CPU, {anchor[2]:.0f} MB | "
          f"{statistics.median(ratios):.2f}x{spread} | {target} |", flush=True)


def bare_pytest(tests: Path, work: Path) -> Measured:
    """Bare pytest running ``tests`` as the suite's rows run (quiet, no tracebacks)."""
    return measure([sys.executable, "-m", "pytest", str(tests), "-q", "--tb=no", "--no-header",
                    "-p", "no:cacheprovider"], work)


def trivial_tests(work: Path, n: int, passing: bool = True) -> Path:
    """``n`` trivial parametrized tests, all passing or all failing."""
    path = work / "trivial" / f"test_trivial_{n}_{passing}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    check = "i >= 0" if passing else "i < 0, f'item {i}: expected 18, got 17'"
    path.write_text(f"import pytest\n\n\n@pytest.mark.parametrize('i', range({n}))\n"
                    f"def test_trivial(i):\n    assert {check}\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="upstream data (gsm8k/, mmlu_pro/)")
    parser.add_argument("--latency-ms", type=float, default=200)
    parser.add_argument("--cold-items", type=int, default=500)
    parser.add_argument("--skip-large", action="store_true", help="skip the 13,351-item run")
    parser.add_argument("--rounds", type=int, default=3,
                        help="interleaved (ours, anchor) rounds of the shorter rows; medians")
    args = parser.parse_args()
    data = str(Path(args.data_dir).resolve())
    work = Path(tempfile.mkdtemp(prefix="benchgate-cost-"))
    server = OutsideServer(args.latency_ms)
    gsm8k = str(REPO / "benchmarks" / "gsm8k")
    mmlu = str(REPO / "benchmarks" / "mmlu_pro")
    print(f"outside aiohttp server at {args.latency_ms:.0f} ms; load {os.getloadavg()[0]:.2f}; "
          f"{os.cpu_count()} CPUs; work dir {work}")
    print("| figure | benchgate | anchor | ratio | target |")
    print("|---|---|---|---|---|")
    try:
        n = args.cold_items
        bodies: list[dict[str, Any]] = []

        def cold() -> Measured:
            server.record = [] if not bodies else None
            got = measure(suite([gsm8k], server, work, "--data-dir", data, "--limit", str(n),
                                "--concurrency", "32", "--no-cache"), work)
            if server.record is not None:
                bodies.extend(server.record)
            server.record = None
            return got

        ours, anchor, ratios = paired(cold, lambda: bare_client(server, bodies, 32, work),
                                      args.rounds)
        row(f"cold, {n} GSM8K items at concurrency 32", ours, anchor, "<= 1.25x", ratios)

        if not args.skip_large:
            server.record = []
            ours = measure(suite([gsm8k, mmlu], server, work, "--data-dir", data,
                                 "--concurrency", "256", "--no-cache"), work)
            large, server.record = server.record, None
            anchor = bare_client(server, large, 256, work)
            row(f"cold, {len(large)} items (GSM8K + MMLU-Pro) at concurrency 256", ours, anchor,
                "throughput >= 0.5x (ratio <= 2), RSS < 300 MB")
            # pytest's own floor: as many trivial passing tests, nothing else (the cheapest
            # item pytest runs), against the same bare client
            floor = bare_pytest(trivial_tests(work, len(large)), work)
            row(f"  floor: bare pytest, {len(large)} trivial passing tests (vs the bare client)",
                floor, anchor, "pytest alone")

        # like with like: the trivial tests pass, so the cached answers are right (the server
        # answers from the reference key); a second pair compares failing items with failing tests
        count = sum(1 for _ in open(Path(data) / "gsm8k" / "test.jsonl"))
        for passing in (True, False):
            server.key = gsm8k_key(Path(data) / "gsm8k" / "test.jsonl") if passing else None
            cache = work / f"cache-{passing}"
            args_cached = ["--data-dir", data, "--concurrency", "64", "--cache-dir", str(cache)]
            measure(suite([gsm8k], server, work, *args_cached), work)
            before = server.requests

            def rerun(args_cached: list[str] = args_cached, passing: bool = passing) -> Measured:
                got = measure(suite([gsm8k], server, work, *args_cached), work)
                assert got[3] == (0 if passing else 1), f"cached rerun exited {got[3]}"
                return got

            trivial = trivial_tests(work, count, passing)

            def bare(trivial: Path = trivial) -> Measured:
                return bare_pytest(trivial, work)

            ours, anchor, ratios = paired(rerun, bare, args.rounds)
            assert server.requests == before, "cached rerun made calls"
            kind = "every item right" if passing else "nearly every item wrong"
            row(f"fully cached rerun, {count} GSM8K items, {kind}", ours, anchor,
                "<= 1.3x" if passing else "(same outcomes as the trivial tests)", ratios)
        args_cached = ["--data-dir", data, "--concurrency", "64", "--cache-dir",
                       str(work / "cache-True")]

        one = trivial_tests(work, 1)
        ours, anchor, ratios = paired(
            lambda: measure(suite([gsm8k], server, work, *args_cached, "--limit", "1"), work),
            lambda: bare_pytest(one, work), args.rounds)
        row("a one-item run (cached; start-up, report)", ours, anchor, "<= 1.25x", ratios)

        # the anchor: bare pytest collecting as many trivial parametrized tests
        ours, anchor, ratios = paired(
            lambda: measure([sys.executable, "-m", "pytest", mmlu, "--collect-only", "-q",
                             "-p", "no:cacheprovider", "--data-dir", data, "--endpoint",
                             server.url, "--model", "outside"], work),
            lambda: measure([sys.executable, "-m", "pytest", str(trivial_tests(work, 12032)),
                             "--collect-only", "-q", "-p", "no:cacheprovider"], work),
            args.rounds)
        row("collection of MMLU-Pro (12,032 items; anchor: bare pytest collecting 12,032 "
            "trivial tests)", ours, anchor, "< 3 s", ratios)
        speed = timeit.timeit("sum(i * i for i in range(10**6))", number=3) / 3
        print(f"machine speed: {speed * 1000:.0f} ms for sum(i*i for i in range(10**6)); "
              f"load {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
