"""In-flight request limits: fixed, or adaptive (``--concurrency auto``).

The adaptive limit works like TCP congestion control and inspect_ai's adaptive connections:
slow start (one more slot per fast success, doubling each round trip) until the first sign of
congestion, then additive increase (about one slot per round trip) while latency stays within
1.5x the best seen; a 429 or a latency over 2x the best halves it (at most once per window).
Never below 1 or above ``ceiling``. Waiters are woken first in, first out, one per free slot.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Limiter:
    """An async counting limit whose size may change while requests are in flight."""

    def __init__(self, limit: int, adaptive: bool = False, ceiling: int = 256) -> None:
        self.adaptive = adaptive
        self.limit = float(4 if adaptive else limit)
        self.ceiling = ceiling if adaptive else limit
        self.inflight = 0
        self.peak = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._best: float | None = None
        self._cooldown = 0
        self._slow_start = adaptive

    async def acquire(self) -> None:
        """Wait for a free slot."""
        if self.inflight < int(self.limit) and not self._waiters:
            self._take()
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.inflight -= 1  # the slot was handed over: give it back
                self._wake()
            raise

    def _take(self) -> None:
        self.inflight += 1
        self.peak = max(self.peak, self.inflight)

    def _wake(self) -> None:
        while self._waiters and self.inflight < int(self.limit):
            fut = self._waiters.popleft()
            if not fut.done():
                self._take()
                fut.set_result(None)

    def release(self, latency_s: float | None, throttled: bool) -> None:
        """Free a slot and, when adaptive, adjust the limit from the outcome."""
        self.inflight -= 1
        if self.adaptive:
            self._adjust(latency_s, throttled)
        self._wake()

    def _adjust(self, latency_s: float | None, throttled: bool) -> None:
        if latency_s is not None:
            self._best = latency_s if self._best is None else min(self._best, latency_s)
        self._cooldown = max(0, self._cooldown - 1)
        slow = latency_s is not None and self._best is not None and latency_s > 2 * self._best
        if throttled or slow:
            self._slow_start = False
            if self._cooldown == 0:
                self.limit = max(1.0, self.limit / 2)
                self._cooldown = int(self.limit) + 1
            return
        if latency_s is not None and self._best is not None and latency_s <= 1.5 * self._best:
            step = 1.0 if self._slow_start else 1 / self.limit
            self.limit = min(float(self.ceiling), self.limit + step)
