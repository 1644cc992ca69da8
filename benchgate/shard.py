"""``--shard I/N``: a deterministic slice of every benchmark's items, for runs spread over
several machines (CI matrix, Slurm array, Kubernetes Indexed Job).

Within each benchmark the items are ordered by the SHA-256 of their id and dealt round-robin
to the N shards, starting at a shard chosen by the benchmark's name, so each benchmark's
shards differ in size by at most one item, the remainders spread over the shards, and every
machine computes the same slice without talking to the others (no ``PYTHONHASHSEED``, no
dependence on collection order). ``I`` counts from 0, as ``JOB_COMPLETION_INDEX`` and
``SLURM_ARRAY_TASK_ID`` (``--array=0-3``) do. The slice is taken after ``--limit`` and
``--per-category``, so shards of a subset run compose.

Every record of a sharded run carries ``{"index", "count", "items"}`` (``items``: how many
items the unsharded run would have), and the report section's ``run.shard`` sums them up;
``benchgate merge`` (:mod:`benchgate.merge`) checks completeness from both.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from benchgate import options

ENV_VAR = "BENCHGATE_SHARD"
"""Environment fallback for ``--shard`` (after ``benchgate_shard`` in pytest.ini)."""


class ShardError(ValueError, argparse.ArgumentTypeError):
    """A ``--shard`` value that is not ``I/N`` with ``0 <= I < N``."""


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (``index`` from 0)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse(text: str) -> Shard:
    """``"1/4"`` -> ``Shard(1, 4)``; anything else raises :class:`ShardError` with one line."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", str(text))
    if match is None:
        raise ShardError(f"--shard {text!r}: expected I/N, e.g. 0/4 (I counts from 0)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1:
        raise ShardError(f"--shard {text!r}: N must be 1 or more")
    if index >= count:
        raise ShardError(f"--shard {text!r}: I counts from 0, so it must be 0..{count - 1}")
    return Shard(index, count)


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def assign(benchmark: str, ids: Iterable[str], count: int) -> dict[str, int]:
    """Item id -> shard index for one benchmark's items (see the module docstring)."""
    order = sorted({str(i) for i in ids}, key=lambda i: (_hash(i), i))
    start = int(_hash(benchmark), 16) % count
    return {item: (start + pos) % count for pos, item in enumerate(order)}


SPEC = pytest.StashKey["Shard | None"]()
TOTALS = pytest.StashKey[dict[str, int]]()
EMPTY = pytest.StashKey[set[str]]()


class _DropEmpty:
    """Deselects the placeholder test pytest makes for a benchmark with no item in this shard
    (more shards than items), so it is neither run nor reported."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        from benchgate.task import task_of

        empty = self.config.stash.get(EMPTY, set())
        drop = [i for i in items if (t := task_of(i)) is not None and t.name in empty]
        if drop:
            items[:] = [i for i in items if i not in drop]
            self.config.hook.pytest_deselected(items=drop)


def configure(config: pytest.Config) -> Shard | None:
    """Read ``--shard`` (or ``benchgate_shard``, or ``$BENCHGATE_SHARD``) once; a bad value is
    a usage error."""
    value = options.get(config, "shard")
    if isinstance(value, str):
        try:
            value = parse(value)
        except ShardError as exc:
            raise pytest.UsageError(f"benchgate: {exc}") from None
    config.stash[SPEC] = value if isinstance(value, Shard) else None
    config.stash[TOTALS] = {}
    config.stash[EMPTY] = set()
    if config.stash[SPEC] is not None:
        config.pluginmanager.register(_DropEmpty(config), "benchgate-shard")
    return config.stash[SPEC]


def current(config: pytest.Config) -> Shard | None:
    """This session's shard, or None for an unsharded run."""
    return config.stash.get(SPEC, None)


def pick(config: pytest.Config, benchmark: str, items: Sequence[Any]) -> list[Any]:
    """The items of ``benchmark`` this shard runs (all of them when unsharded)."""
    spec = current(config)
    if spec is None:
        return list(items)
    config.stash[TOTALS][benchmark] = len(items)
    owner = assign(benchmark, (str(i.id) for i in items), spec.count)
    mine = [i for i in items if owner[str(i.id)] == spec.index]
    if not mine:
        config.stash[EMPTY].add(benchmark)
    return mine


def tag(config: pytest.Config, benchmark: str, records: list[dict[str, Any]]) -> None:
    """Mark a sharded run's records with their shard and the unsharded item count."""
    spec = current(config)
    if spec is None:
        return
    total = config.stash.get(TOTALS, {}).get(benchmark)
    for rec in records:
        rec["shard"] = {"index": spec.index, "count": spec.count, "items": total}


def run_block(records: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """A section's ``run.shard``: the shard count, the indices its records come from and the
    unsharded item count; None when no record is from a sharded run."""
    tags = [r["shard"] for r in records if isinstance(r.get("shard"), dict)]
    if not tags:
        return None
    return {"count": tags[0]["count"], "indices": sorted({t["index"] for t in tags}),
            "items": tags[0].get("items")}
