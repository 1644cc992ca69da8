"""Many runs of :mod:`benchgate.sandbox` at once, from async code: :func:`run_many` and
:func:`run_checks` run :func:`run_program` / :func:`run_check` on worker threads (each run
waits on its children, not on the CPU), never blocking the event loop, results in input order.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from benchgate.sandbox_gate import availability, run_check, run_program
from benchgate.sandbox_run import Check, ExecResult


async def _run_sync_many(run: Callable[..., ExecResult], items: list[Any],
                         parallelism: int | None, **limits: Any) -> list[ExecResult]:
    """``run(item, **limits)`` for each of ``items`` on at most ``parallelism`` threads."""
    if not items:
        return []
    fn = functools.partial(run, **limits)
    workers = max(1, min(parallelism or os.cpu_count() or 1, len(items)))
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, availability)  # probe off the loop, once
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="benchgate-sbx")
    try:
        return list(await asyncio.gather(
            *(loop.run_in_executor(executor, fn, x) for x in items)))
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


async def run_many(programs: Iterable[str], timeout_s: float = 10.0, memory_mb: int = 1024,
                   output_limit: int = 64_000,
                   parallelism: int | None = None) -> list[ExecResult]:
    """:func:`run_program` for each of ``programs`` on worker threads (at most
    ``parallelism``, default the CPU count), never blocking the event loop; input order."""
    return await _run_sync_many(run_program, list(programs), parallelism, timeout_s=timeout_s,
                                memory_mb=memory_mb, output_limit=output_limit)


async def run_checks(checks: Iterable[Check], timeout_s: float = 10.0, memory_mb: int = 1024,
                     output_limit: int = 64_000,
                     parallelism: int | None = None) -> list[ExecResult]:
    """:func:`run_check` for each of ``checks``, as :func:`run_many` does for programs."""
    return await _run_sync_many(run_check, list(checks), parallelism, timeout_s=timeout_s,
                                memory_mb=memory_mb, output_limit=output_limit)
