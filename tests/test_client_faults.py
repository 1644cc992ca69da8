"""The HTTP client against servers that misbehave: faulty 200s, dying servers, secrets echoed
back, oversized bodies. Real HTTP to real local servers (tests/fault_server.py, the simulator).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from benchgate.client import MAX_RESPONSE_BYTES, EndpointPool
from benchgate.config import ModelSpec
from benchgate.errors import EndpointDown, InfraError
from benchgate.sim import DEFAULT_FAULTS, FAULTS, add_arguments, config_from_args
from benchgate.simproc import SimProcess, get_json, sim_root
from benchgate.task import Completion
from tests.fault_server import BAD_200, HUGE_HEAD, KINDS, FaultServer

pytestmark = pytest.mark.xdist_group("client_faults")

Outcome = Completion | InfraError


@pytest.fixture
def servers() -> Iterator[list[FaultServer]]:
    """Fault servers started by a test; all stopped at teardown."""
    started: list[FaultServer] = []
    yield started
    for server in started:
        server.stop()


def start(servers: list[FaultServer], *args: str) -> FaultServer:
    server = FaultServer(*args)
    servers.append(server)
    return server


def pool_for(*urls: str, api_key: str | None = None, concurrency: int = 8,
             max_retries: int = 5, **kwargs: Any) -> EndpointPool:
    spec = ModelSpec(name="fault", endpoints=tuple(urls), api_key=api_key)
    return EndpointPool(spec, concurrency, 30.0, max_retries, **kwargs)


async def ask(pool: EndpointPool, text: str) -> Outcome:
    try:
        return await pool.chat([{"role": "user", "content": text}], {"temperature": 0})
    except InfraError as exc:
        return exc


def peak_of_one_call(url: str, prompt: str, **pool_args: Any) -> tuple[Outcome, int, Outcome]:
    """(outcome, peak traced bytes, the next call's outcome) of asking ``prompt`` once, after a
    warm-up call (connection, imports and first-call allocations are not counted)."""

    async def run() -> tuple[Outcome, int, Outcome]:
        pool = pool_for(url, **pool_args)
        try:
            await ask(pool, "warm up")
            gc.collect()
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            result = await ask(pool, prompt)
            peak = tracemalloc.get_traced_memory()[1] - base
            tracemalloc.stop()
            return result, peak, await ask(pool, "after")
        finally:
            if tracemalloc.is_tracing():
                tracemalloc.stop()
            await pool.close()

    return asyncio.run(run())


def test_faulty_200s_are_retried_and_never_returned(servers: list[FaultServer]) -> None:
    server = start(servers, "--rate", "0.3", "--seed", "7")

    async def run() -> tuple[dict[str, list[Outcome]], EndpointPool]:
        pool = pool_for(server.url, max_retries=5, backoff_s=0.02)
        try:
            results = await asyncio.gather(*(ask(pool, f"fault={kind} id={i}")
                                             for kind in KINDS for i in range(100)))
        finally:
            await pool.close()
        return {kind: results[k * 100:(k + 1) * 100] for k, kind in enumerate(KINDS)}, pool

    by_kind, pool = asyncio.run(run())
    stats = server.stats()
    tally: dict[str, Counter[str]] = {}
    for kind, results in by_kind.items():
        assert stats[f"fault:{kind}"] >= 15, (kind, stats)  # ~30 of the first 100 attempts
        tally[kind] = Counter()
        for i, result in enumerate(results):
            if isinstance(result, Completion):
                assert result.text == f"answer: fault={kind} id={i}", (kind, result)
                assert "FAULTY" not in result.text and not result.truncated
                tally[kind]["completions"] += 1
            else:
                assert isinstance(result, InfraError) and not isinstance(result, EndpointDown)
                tally[kind]["errors"] += 1
        # 0.3 ** 6 per call: an error is rare, 30 of them (no retry) would be the old client
        assert tally[kind]["errors"] <= 3, (kind, tally[kind])
    assert pool.down is None  # dropped connections alone are a flaky server, not a dead one
    print("\n100 requests per fault kind at 30%, max_retries 5:",
          {k: dict(v) for k, v in tally.items()}, f"attempts {pool.attempts}")


@pytest.mark.parametrize("kind,reason", [
    ("null-content", "content null"), ("error-object", "error object"),
    ("empty-choices", "no choices"), ("not-json", "not JSON"),
    ("text-choice", "completions-shaped"), ("500", "HTTP 500")])
def test_a_faulty_body_every_time_is_an_infra_error(servers: list[FaultServer], kind: str,
                                                    reason: str) -> None:
    server = start(servers, "--rate", "1")

    async def run() -> tuple[Outcome, int]:
        pool = pool_for(server.url, max_retries=2, backoff_s=0.01)
        try:
            return await ask(pool, f"fault={kind}"), pool.attempts
        finally:
            await pool.close()

    result, attempts = asyncio.run(run())
    assert isinstance(result, InfraError), result
    assert reason in str(result) and "after 3 attempt(s)" in str(result)
    assert attempts == 3  # retried like a 5xx
    assert server.stats()[f"fault:{kind}"] == 3


def test_empty_answers_the_model_chose_are_completions(servers: list[FaultServer]) -> None:
    server = start(servers)

    async def run() -> tuple[list[Outcome], int]:
        pool = pool_for(server.url)
        try:
            return [await ask(pool, m) for m in ("empty-stop", "null-length",
                                                  "null-reasoning")], pool.attempts
        finally:
            await pool.close()

    (stop, length, reasoned), attempts = asyncio.run(run())
    assert attempts == 3  # none retried
    assert isinstance(stop, Completion) and (stop.text, stop.finish_reason) == ("", "stop")
    assert isinstance(length, Completion) and (length.text, length.finish_reason) == ("", "length")
    assert isinstance(reasoned, Completion) and reasoned.text == ""
    assert reasoned.reasoning == "thought it over"


def test_server_death_ends_every_pending_call_within_seconds(servers: list[FaultServer]) -> None:
    server = start(servers, "--latency-ms", "100")

    async def run() -> tuple[list[Outcome], float, EndpointPool, float]:
        # backoff 5 s: calls that lost their connection sleep 2.5-5 s unless woken
        pool = pool_for(server.url, concurrency=8, max_retries=5, backoff_s=5.0)
        tasks = [asyncio.ensure_future(ask(pool, f"q{i}")) for i in range(100)]
        while pool.calls < 16:
            await asyncio.sleep(0.01)
        died = server.kill()
        results = await asyncio.gather(*tasks)
        elapsed = time.monotonic() - died
        before = pool.attempts
        again = time.monotonic()
        late = await ask(pool, "after the death")
        assert isinstance(late, EndpointDown) and pool.attempts == before  # no new attempt
        assert time.monotonic() - again < 0.1
        await pool.close()
        return results, elapsed, pool, before

    results, elapsed, pool, attempts = asyncio.run(run())
    done = [r for r in results if isinstance(r, Completion)]
    down = [r for r in results if isinstance(r, EndpointDown)]
    assert len(done) + len(down) == 100, Counter(type(r).__name__ for r in results)
    assert 16 <= len(done) <= 16 + 8
    assert elapsed < 3.0, elapsed
    assert isinstance(pool.down, EndpointDown)
    message = str(pool.down)
    assert message.startswith(f"endpoint {server.url} down after ") and "\n" not in message
    assert pool.down.failures >= 3 and pool.down.endpoints == (server.url,)
    assert pool.refused == len(down) + 1
    assert attempts < len(done) + 8 + 8 + 3  # in flight at the death, then a few refusals
    print(f"\nserver death -> all 100 calls finished in {elapsed:.3f} s "
          f"({len(done)} completed, {len(down)} refused, {attempts} attempts)")

    # the server is back: a fresh pool works normally
    start(servers, "--port", str(server.port))

    async def rerun() -> list[Outcome]:
        pool = pool_for(server.url)
        try:
            return await asyncio.gather(*(ask(pool, f"q{i}") for i in range(20)))
        finally:
            await pool.close()

    assert all(isinstance(r, Completion) and r.text == f"answer: q{i}"
               for i, r in enumerate(asyncio.run(rerun())))


def test_a_call_sleeping_in_backoff_is_woken_when_the_pool_goes_down(
        servers: list[FaultServer]) -> None:
    server = start(servers, "--rate", "1")

    async def run() -> tuple[Outcome, Outcome, float, EndpointPool]:
        pool = pool_for(server.url, max_retries=5, backoff_s=5.0, down_after=2)
        try:
            sleeper = asyncio.ensure_future(ask(pool, "fault=drop"))
            while pool.attempts < 1:
                await asyncio.sleep(0.005)
            await asyncio.sleep(0.3)  # dropped at once, now in a 2.5-5 s backoff
            server.kill()
            started = time.monotonic()
            refused = await ask(pool, "next")  # refused connection: 2 in a row, pool down
            woken = await sleeper
            return woken, refused, time.monotonic() - started, pool
        finally:
            await pool.close()

    woken, refused, elapsed, pool = asyncio.run(run())
    assert isinstance(woken, EndpointDown) and isinstance(refused, EndpointDown)
    assert elapsed < 1.0, elapsed
    assert pool.attempts == 2 and pool.refused == 2
    assert str(woken) == str(pool.down)
    assert "down after 2 connection failures (last: connection failed" in str(woken)


def test_one_dead_replica_is_routed_around_two_are_down(servers: list[FaultServer]) -> None:
    first = start(servers, "--latency-ms", "20")
    second = start(servers, "--latency-ms", "20")

    async def run() -> tuple[list[Outcome], list[Outcome], EndpointPool]:
        pool = pool_for(first.url, second.url, concurrency=4, backoff_s=0.05)
        try:
            await asyncio.gather(*(ask(pool, f"warm{i}") for i in range(8)))
            first.kill()
            alive = await asyncio.gather(*(ask(pool, f"a{i}") for i in range(60)))
            assert pool.down is None
            second.kill()
            dead = await asyncio.gather(*(ask(pool, f"b{i}") for i in range(30)))
            return alive, dead, pool
        finally:
            await pool.close()

    alive, dead, pool = asyncio.run(run())
    assert all(isinstance(r, Completion) and r.endpoint == second.url for r in alive)
    assert all(isinstance(r, EndpointDown) for r in dead)
    assert pool.down is not None and pool.down.endpoints == (first.url, second.url)
    assert str(pool.down).startswith(f"endpoints {first.url}, {second.url} down after ")


def test_secrets_in_error_bodies_are_redacted(servers: list[FaultServer]) -> None:
    server = start(servers, "--models-status", "401")
    keys = ["sk-test-4f9a8b7c6d5e4f3a2b1c0d9e", "plainkey-Zq81hx0Lw27Vbn5"]

    async def run(key: str) -> list[str]:
        pool = pool_for(server.url, api_key=key, max_retries=1, backoff_s=0.01)
        try:
            messages = []
            for status in (401, 500):
                result = await ask(pool, f"echo-auth:{status}")
                assert isinstance(result, InfraError)
                messages.append(str(result))
            with pytest.raises(InfraError) as probe:
                await pool.served_models()
            messages.append(str(probe.value))
            return messages
        finally:
            await pool.close()

    for key in keys:
        messages = asyncio.run(run(key))
        assert "HTTP 401" in messages[0] and "HTTP 500" in messages[1]
        assert "HTTP 401 on /models" in messages[2]
        for message in messages:
            assert key not in message and key[:12] not in message, message
            assert "***" in message, message


def test_a_huge_body_is_capped_and_its_prefix_kept(servers: list[FaultServer]) -> None:
    server = start(servers)
    size = 20 * 2**20

    result, peak, after = peak_of_one_call(server.url, f"huge:{size}", max_retries=0)
    assert isinstance(result, Completion), result
    assert result.truncated and result.finish_reason == "length"
    assert result.text.startswith(HUGE_HEAD) and set(result.text[len(HUGE_HEAD):]) == {"x"}
    assert MAX_RESPONSE_BYTES - 200 < len(result.text.encode()) <= MAX_RESPONSE_BYTES
    # the capped body, then its decoded pieces, then the joined text: about 2x the cap
    assert peak < 2.5 * MAX_RESPONSE_BYTES <= size / 2, peak  # 20 MiB were sent
    assert isinstance(after, Completion) and after.text == "answer: after"
    print(f"\n20 MiB body, cap 4 MiB: peak traced growth {peak / 2**20:.1f} MiB")


def test_a_small_cap_is_respected(servers: list[FaultServer]) -> None:
    server = start(servers)

    async def run() -> tuple[Outcome, Outcome]:
        pool = pool_for(server.url, max_retries=0, max_response_bytes=2**16)
        try:
            return await ask(pool, "huge:200000"), await ask(pool, "huge:1000")
        finally:
            await pool.close()

    big, small = asyncio.run(run())
    assert isinstance(big, Completion) and big.truncated
    assert len(big.text.encode()) <= 2**16 and big.text.startswith(HUGE_HEAD)
    assert isinstance(small, Completion) and not small.truncated
    head = len(json.dumps(HUGE_HEAD)[1:-1])  # the server counts the escaped bytes
    assert small.finish_reason == "stop" and small.text == HUGE_HEAD + "x" * (1000 - head)


def test_a_huge_error_body_is_not_read_whole(servers: list[FaultServer]) -> None:
    server = start(servers)

    result, peak, after = peak_of_one_call(server.url, f"huge-error:{8 * 2**20}",
                                           max_retries=1, backoff_s=0.01)
    assert isinstance(result, InfraError) and "HTTP 500 EEEE" in str(result)
    assert len(str(result)) < 400
    assert peak < 2**20, peak  # 64 KiB of each 8 MiB body are read
    assert isinstance(after, Completion) and after.text == "answer: after"


def test_simulator_fault_kinds_are_retried() -> None:
    new = [k for k in FAULTS if k not in ("429", "500", "drop")]
    assert set(new) == set(BAD_200)
    every = SimProcess(accuracy=0.7, latency_ms=0, fail_rate=1.0, faults=new)
    flaky = SimProcess(accuracy=0.7, latency_ms=0, fail_rate=0.3, faults=FAULTS)
    try:
        async def run() -> tuple[list[Outcome], list[Outcome]]:
            broken = pool_for(every.url, max_retries=0)
            retried = pool_for(flaky.url, max_retries=5, backoff_s=0.02)
            try:
                return (await asyncio.gather(*(ask(broken, f"q{i}") for i in range(60))),
                        await asyncio.gather(*(ask(retried, f"q{i}") for i in range(100))))
            finally:
                await broken.close()
                await retried.close()

        failed, ok = asyncio.run(run())
        assert all(isinstance(r, InfraError) for r in failed)
        reasons = {next(w for w in ("content null", "error object", "no choices", "not JSON",
                                    "completions-shaped") if w in str(r)) for r in failed}
        assert len(reasons) == 5
        assert all(isinstance(r, Completion) and r.text.startswith("I am the benchgate simulator")
                   for r in ok)
        assert get_json(sim_root(flaky.url) + "/sim/stats")["faults"] >= 15
    finally:
        every.stop()
        flaky.stop()


def test_simulator_fault_flags() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert config_from_args(parser.parse_args([])).faults == DEFAULT_FAULTS == ("429", "500", "drop")
    chosen = config_from_args(parser.parse_args(["--sim-faults", "not-json,text-choice"]))
    assert chosen.faults == ("not-json", "text-choice")
    with pytest.raises(SystemExit, match="names no fault kind"):
        config_from_args(parser.parse_args(["--faults", ","]))
    with pytest.raises(InfraError, match="unknown fault kind 'nonsense'"):
        SimProcess(accuracy=0.7, latency_ms=0, fail_rate=0.5, faults=["500", "nonsense"])
