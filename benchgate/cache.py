"""Persistent response cache, safe for several processes at once (xdist workers).

SQLite in WAL mode: each response is committed the moment it arrives, so a run killed at any
point resumes without repeating finished calls; concurrent writers wait on SQLite's lock.
Keys are SHA-256 digests of the canonical JSON of model identity, messages, sampling parameters
and repeat index, so any change to one of them is a different entry.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

SCHEMA = "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT, created REAL)"


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def cache_key(identity: Mapping[str, Any], messages: Sequence[Mapping[str, Any]],
              params: Mapping[str, Any], repeat: int) -> str:
    """Digest identifying one call; stable across processes and Python versions."""
    blob = _CANONICAL.encode({"identity": identity, "messages": messages, "params": params,
                              "repeat": repeat})
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class Cache:
    """Key -> JSON value store. ``path=None`` keeps nothing (``--no-cache``)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=60.0, check_same_thread=False,
                                       isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(SCHEMA)

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Fetch all present keys in a few queries."""
        if self._db is None:
            return {}
        wanted = list(dict.fromkeys(keys))
        found: dict[str, dict[str, Any]] = {}
        with self._lock:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, value FROM responses WHERE key IN ({marks})", chunk)
                found.update((k, json.loads(v)) for k, v in rows)
        return found

    def get(self, key: str) -> dict[str, Any] | None:
        """One entry or None (one query: a cached rerun makes one per call)."""
        if self._db is None:
            return None
        with self._lock:
            row = self._db.execute("SELECT value FROM responses WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def put(self, key: str, value: Mapping[str, Any]) -> None:
        """Store (and commit) one entry."""
        if self._db is None:
            return
        blob = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?)",
                             (key, blob, time.time()))

    def close(self) -> None:
        """Close the database."""
        if self._db is not None:
            with self._lock:
                self._db.close()
            self._db = None
