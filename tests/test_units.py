"""Pure parts of the runtime: intervals, percentiles, cache keys and storage, subsets."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from benchgate.aggregate import mean_interval, percentile, wilson
from benchgate.cache import Cache, cache_key
from benchgate.client import split_reasoning
from benchgate.data import select


def test_wilson_known_values() -> None:
    # Reference values from statsmodels.stats.proportion.proportion_confint(method="wilson").
    assert wilson(0.5, 10) == pytest.approx((0.236593, 0.763407), abs=1e-6)
    assert wilson(12 / 14, 14) == pytest.approx((0.600586, 0.959906), abs=1e-6)
    assert wilson(0.0, 20) == pytest.approx((0.0, 0.161125), abs=1e-6)
    assert wilson(1.0, 0) == (0.0, 0.0)


@given(st.integers(min_value=1, max_value=5000), st.data())
def test_wilson_contains_p_and_stays_in_unit_interval(n: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(min_value=0, max_value=n))
    lo, hi = wilson(k / n, n)
    assert 0.0 <= lo <= k / n <= hi <= 1.0


def test_mean_interval_and_percentile() -> None:
    lo, hi = mean_interval([6.0, 8.0, 7.0, 9.0])
    assert lo < 7.5 < hi and hi - lo == pytest.approx(2 * 1.959964 * 1.290994 / 2, rel=1e-5)
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile([5.0], 0.95) == 5.0 and percentile([], 0.5) == 0.0


def test_cache_key_changes_with_every_component() -> None:
    ident = {"name": "m", "served": "s", "revision": "r"}
    msgs = [{"role": "user", "content": "hi"}]
    base = cache_key(ident, msgs, {"temperature": 0}, 0)
    assert base == cache_key(dict(reversed(ident.items())), msgs, {"temperature": 0}, 0)
    assert base != cache_key({**ident, "revision": "r2"}, msgs, {"temperature": 0}, 0)
    assert base != cache_key(ident, [{"role": "user", "content": "hi!"}], {"temperature": 0}, 0)
    assert base != cache_key(ident, msgs, {"temperature": 0.7}, 0)
    assert base != cache_key(ident, msgs, {"temperature": 0}, 1)


def test_cache_key_digest_is_pinned() -> None:
    # existing caches stay valid only while the key's canonical JSON never changes
    key = cache_key({"model": "m", "served": "x", "revision": None},
                    [{"role": "user", "content": 'Janet\u2019s ducks \u00e9 "q"'}],
                    {"temperature": 0.0, "seed": 3, "max_tokens": 5}, 2)
    assert key == "c2499a5f90e1a971052628ce8189c82ed8050a1aec0a05702f6d5c521e696b77"


def test_cache_roundtrip_across_connections(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    first, second = Cache(path), Cache(path)
    first.put("k", {"text": "é", "n": 1})
    assert second.get("k") == {"text": "é", "n": 1}
    assert second.get_many(["k", "missing"]) == {"k": {"text": "é", "n": 1}}
    assert Cache(None).get("k") is None


class _Msg:
    def __init__(self, content: str, reasoning_content: str | None = None) -> None:
        self.content = content
        self.reasoning_content = reasoning_content


def test_reasoning_is_split_from_the_answer() -> None:
    assert split_reasoning(_Msg("<think>2+2 is 4</think>\nThe answer is 4")) == \
        ("The answer is 4", "2+2 is 4")
    assert split_reasoning(_Msg("4", "because")) == ("4", "because")


def test_select_is_deterministic() -> None:
    items = [(i, "ab"[i % 2]) for i in range(10)]
    cat = lambda x: x[1]  # noqa: E731
    assert select(items, limit=3, per_category=None, seed=None, category=cat) == items[:3]
    sampled = select(items, limit=3, per_category=None, seed=5, category=cat)
    assert sampled == select(items, limit=3, per_category=None, seed=5, category=cat)
    assert sampled == sorted(sampled)
    per = select(items, limit=None, per_category=2, seed=None, category=cat)
    assert per == [(0, "a"), (1, "b"), (2, "a"), (3, "b")]


def test_adaptive_limiter_grows_then_backs_off() -> None:
    import asyncio

    from benchgate.limiter import Limiter

    async def scenario() -> tuple[float, float, float, int]:
        lim = Limiter(32, adaptive=True)
        start = lim.limit
        for _ in range(20):  # fast successes: slow start
            await lim.acquire()
            lim.release(0.1, throttled=False)
        grown = lim.limit
        await lim.acquire()
        lim.release(None, throttled=True)
        halved = lim.limit
        fixed = Limiter(3)
        for _ in range(3):
            await fixed.acquire()
        waiter = asyncio.ensure_future(fixed.acquire())
        await asyncio.sleep(0)
        assert not waiter.done()
        fixed.release(0.1, throttled=False)
        await asyncio.sleep(0)
        assert waiter.done()
        return start, grown, halved, fixed.peak

    start, grown, halved, peak = asyncio.run(scenario())
    assert start == 4 and grown == 24 and halved == 12 and peak == 3
