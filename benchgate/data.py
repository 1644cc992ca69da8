"""One loader API, three sources (SPEC §3): the HF hub, ``--data-dir DIR``, ``--data sample``.

A benchmark's loader asks its :class:`DataSource` for rows by upstream file name and names the
hub dataset it comes from; the source decides where they are read and records what was used
(file SHA-256 digests, or the hub repo and pinned revision) for the report.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import random
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from benchgate.errors import DataError

T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("hub", "sample")


@dataclass(frozen=True)
class Hub:
    """An upstream HF dataset pinned to a revision."""

    repo: str
    revision: str
    split: str
    name: str | None = None


@dataclass(frozen=True)
class Remote:
    """An upstream file outside the HF hub (e.g. a GitHub raw URL at a pinned commit)."""

    url: str


CACHE_HOME = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "benchgate"


def _fetch(benchmark: str, url: str) -> bytes:
    cached = CACHE_HOME / "remote" / hashlib.sha256(url.encode()).hexdigest()
    if cached.exists():
        return cached.read_bytes()
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            data: bytes = resp.read()
    except (OSError, ValueError) as exc:
        raise DataError(f"{benchmark}: cannot fetch {url} ({exc}); offline, use --data-dir DIR "
                        "or --data sample") from None
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(data)
    return data


class DataSource:
    """Where one benchmark's data comes from, and the record of what was read."""

    def __init__(self, benchmark: str, kind: str, root: Path | None = None) -> None:
        self.benchmark = benchmark
        self.kind = kind  # "hub" | "sample" | "dir"
        if kind == "sample":
            root = REPO_ROOT / "benchmarks" / benchmark / "sample"
        self.root = root
        self.files: dict[str, str] = {}

    def describe(self) -> dict[str, Any]:
        """The report's ``run.data`` entry."""
        return {"source": self.kind, "files": dict(self.files)}

    def path(self, name: str) -> Path:
        """Absolute path of an upstream file for the dir/sample sources."""
        assert self.root is not None
        base = self.root if self.kind == "sample" else self.root / self.benchmark
        return base / name

    def read_bytes(self, name: str, remote: Remote | None = None) -> bytes:
        """Raw bytes of a file (dir/sample, or ``remote`` for the hub source), hashed."""
        if self.kind == "hub":
            if remote is None:
                raise DataError(f"{self.benchmark}: {name} has no upstream location; use "
                                "--data-dir DIR or --data sample")
            data = _fetch(self.benchmark, remote.url)
            self.files[remote.url] = hashlib.sha256(data).hexdigest()
            return data
        path = self.path(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            hint = ("pass --data-dir DIR with the upstream files under DIR/"
                    f"{self.benchmark}/, or --data sample") if self.kind == "dir" else \
                "the repo's sample data is incomplete"
            raise DataError(f"{self.benchmark}: missing data file {path} ({hint})") from None
        self.files[name] = hashlib.sha256(data).hexdigest()
        return data

    def text(self, name: str, remote: Remote | None = None) -> str:
        """A text file (gzip-decompressed when the name ends in .gz)."""
        data = self.read_bytes(name, remote)
        if name.endswith(".gz"):
            data = gzip.decompress(data)
        return data.decode("utf-8-sig")

    def rows(self, name: str, hub: Hub | Remote | None = None) -> list[dict[str, Any]]:
        """Rows of an upstream JSONL/JSON/CSV file; for the hub source, of the HF dataset
        (``Hub``) or of the file at its upstream URL (``Remote``)."""
        if self.kind == "hub" and not isinstance(hub, Remote):
            if hub is None:
                raise DataError(f"{self.benchmark}: {name} is not on the HF hub; use --data-dir DIR")
            return self._hub_rows(hub)
        text = self.text(name, hub if isinstance(hub, Remote) else None)
        try:
            if name.endswith((".jsonl", ".jsonl.gz")):
                # "\n" only: str.splitlines() also breaks on U+0085 etc. inside JSON strings
                return [json.loads(line) for line in text.split("\n") if line.strip()]
            if name.endswith(".json"):
                loaded = json.loads(text)
                return loaded if isinstance(loaded, list) else [loaded]
            if name.endswith(".csv"):
                return list(csv.DictReader(io.StringIO(text)))
        except (json.JSONDecodeError, csv.Error) as exc:
            raise DataError(f"{self.benchmark}: malformed data file {self.path(name)}: {exc}") from None
        raise DataError(f"{self.benchmark}: unsupported file type {name}")

    def _hub_rows(self, hub: Hub) -> list[dict[str, Any]]:
        try:
            import datasets

            ds = datasets.load_dataset(hub.repo, hub.name, split=hub.split, revision=hub.revision)
        except Exception as exc:  # noqa: BLE001 - network, auth, revision: one message
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise DataError(f"{self.benchmark}: cannot load {hub.repo}@{hub.revision} from the HF "
                            f"hub ({reason}); offline, use --data-dir DIR or --data sample") from None
        self.files[f"hf://{hub.repo}@{hub.revision}/{hub.split}"] = str(ds._fingerprint)
        return [dict(row) for row in ds]


def select(items: Sequence[T], *, limit: int | None, per_category: int | None,
           seed: int | None, category: Callable[[T], str | None]) -> list[T]:
    """Deterministic subset: ``per_category`` first, then ``limit``; ``seed`` samples instead
    of taking the first ones. Collection order is kept."""
    order = list(range(len(items)))
    if seed is not None:
        random.Random(seed).shuffle(order)
    if per_category is not None:
        seen: dict[str | None, int] = {}
        kept = []
        for i in order:
            cat = category(items[i])
            if seen.get(cat, 0) < per_category:
                seen[cat] = seen.get(cat, 0) + 1
                kept.append(i)
        order = kept
    if limit is not None:
        order = order[:limit]
    return [items[i] for i in sorted(order)]
