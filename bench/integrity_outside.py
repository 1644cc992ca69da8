"""Issue #9's figures against an outside OpenAI-compatible server (tests/integrity_server.py,
not benchgate's simulator): weights swapped behind the same name, each fault kind at 30%, a
401 that echoes the key, a server SIGKILLed 10 s into a 100-item run.

    python bench/integrity_outside.py [--items 100]

Each case runs ``pytest benchmarks/gsm8k --data-dir DATA --concurrency 8`` as a subprocess in
a scratch folder (made-up GSM8K-shaped items, never upstream data) and prints what it saw.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.fault_server import KINDS  # noqa: E402
from tests.integrity_server import OutsideServer, write_gsm8k  # noqa: E402

KEY = "sk-outside-4c1d8e2f9a7b6c5d3e1f"


def pytest_cmd(data: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", str(REPO / "benchmarks" / "gsm8k"), "-p",
            "no:cacheprovider", "--data-dir", str(data), "--concurrency", "8", *args]


def run(cwd: Path, data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(pytest_cmd(data, *args), cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def section(cwd: Path, model: str) -> dict[str, Any]:
    report = json.loads((cwd / "results" / model / "report.json").read_text())
    result: dict[str, Any] = report["benchmarks"]["gsm8k"]
    return result


def calls_line(out: str) -> str:
    return next((ln for ln in out.splitlines() if ln.startswith("calls: ")), "(no calls line)")


def swap(work: Path, data: Path, n: int) -> None:
    with OutsideServer(data) as server:
        args = ("--endpoint", server.url, "--model", "outside")
        first = run(work, data, *args)
        before = section(work, "outside")
        server.set(weights="b", reset_stats=True)
        second = run(work, data, *args)
        calls = server.stats().get("requests", 0)
        after = section(work, "outside")
    print(f"(a) swap: first run {before['passed']}/{n} passed, {calls_line(first.stdout)}")
    print(f"    rerun after the swap: {calls} calls reached the server (items: {n}); "
          f"{after['passed']}/{n} passed; {calls_line(second.stdout)}")


def faults(work: Path, data: Path, n: int) -> None:
    print("(b) each fault kind at 30% (passed/failed/errors; every answer the server gives "
          "is right)")
    print(f"    {'kind':<14} {'retries 5 (default)':<22} {'retries 0':<22} faults served")
    for kind in KINDS:
        cells = []
        served = 0
        for retries in ("5", "0"):
            with OutsideServer(data, "--rate", "0.3", "--faults", kind) as server:
                run(work, data, "--endpoint", server.url, "--model", f"f-{kind}-{retries}",
                    "--max-retries", retries, "--no-cache")
                served += server.stats().get("faults", 0)
            got = section(work, f"f-{kind}-{retries}")
            cells.append(f"{got['passed']}/{got['failed']}/{got['errors']}")
        print(f"    {kind:<14} {cells[0]:<22} {cells[1]:<22} {served}")


def secrets(work: Path, data: Path) -> None:
    counts: dict[str, int] = {}
    with OutsideServer(data, "--mode", "echo-auth") as server:
        (work / "models.yaml").write_text(f"models:\n  keyed:\n    endpoint: {server.url}\n"
                                          f"    model: outside\n    api_key: {KEY}\n")
        for name, extra in (("plain", ["--junitxml", "junit.xml"]), ("-v", ["-v"]),
                            ("-n 2", ["-n", "2", "-v"])):
            proc = run(work, data, "--model", "keyed", "--limit", "10", *extra)
            counts[f"terminal {name}"] = (proc.stdout + proc.stderr).count(KEY)
        server.set(models_status=401)
        proc = run(work, data, "--model", "keyed", "--limit", "10")
        counts["/v1/models 401 usage error"] = (proc.stdout + proc.stderr).count(KEY)
    results = work / "results" / "keyed"
    counts["items.jsonl"] = (results / "gsm8k.items.jsonl").read_text().count(KEY)
    counts["JUnit XML"] = (work / "junit.xml").read_text().count(KEY)
    counts["report.json"] = (results / "report.json").read_text().count(KEY)
    cache = [p for p in (work / ".benchgate").rglob("*") if p.is_file()]
    counts[f"cache files ({len(cache)})"] = sum(p.read_bytes().count(KEY.encode()) for p in cache)
    print("(c) occurrences of the API key a 401 body echoes: " +
          ", ".join(f"{k} {v}" for k, v in counts.items()))


def death(work: Path, data: Path, n: int) -> None:
    server = OutsideServer(data, "--latency-ms", "1000")
    proc = subprocess.Popen(pytest_cmd(data, "--endpoint", server.url, "--model", "dies"),
                            cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(10)
    answered = server.stats().get("answers", 0)
    os.kill(server.proc.pid, signal.SIGKILL)
    died = time.monotonic()
    server.stop()
    out, _ = proc.communicate(timeout=600)
    took = time.monotonic() - died
    got = section(work, "dies")
    down = [ln for ln in out.splitlines() if "item(s) not attempted" in ln]
    print(f"(d) SIGKILL 10 s into a {n}-item run ({answered} answered by then): exit "
          f"{proc.returncode} {took:.1f} s after the death; passed {got['passed']}, failed "
          f"{got['failed']}, errors {got['errors']}; summary: {down[0] if down else '(none)'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="integrity-") as tmp:
        work = Path(tmp)
        data = write_gsm8k(work / "data", args.items)
        swap(work, data, args.items)
        faults(work, data, args.items)
        secrets(work, data)
        death(work, data, args.items)
    return 0


if __name__ == "__main__":
    sys.exit(main())
