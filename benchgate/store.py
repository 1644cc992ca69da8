"""``report.json`` and its ``<benchmark>.items.jsonl`` files as one transaction.

Writers take an exclusive ``flock`` on ``.report.lock`` beside the report, read what is there,
merge, write every new file to a temp name, then rename them all with SIGINT and SIGTERM
blocked, so two runs merging into one report never drop each other's sections and Ctrl-C never
leaves half a commit. Each benchmark section names its items file and that file's SHA-256;
:func:`read_report` takes the shared lock, so a reader never sees a report without its items.
Temp files left by a killed writer are removed by the next writer (it holds the lock, so they
are nobody's).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import signal
import tempfile
import threading
from collections.abc import Callable, Container, Iterable, Iterator
from json.decoder import scanstring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from benchgate.jsontext import LINE

LOCK = ".report.lock"


def empty_report() -> dict[str, Any]:
    """A report with no benchmarks."""
    return {"schema_version": 1, "model": {}, "benchmarks": {}, "gates": []}


@contextlib.contextmanager
def locked(folder: Path, shared: bool = False) -> Iterator[None]:
    """Hold the folder's report lock."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return empty_report()
    return data if isinstance(data, dict) and data.get("schema_version") == 1 else empty_report()


_ID_KEY = '"id": "'  # as LINE writes a record's third key; never inside a string value,
# where a quote is escaped


def read_items(path: Path, skip: Container[str] = ()) -> list[dict[str, Any]]:
    """The records of an items file (absent or unreadable: none), but those whose ``id`` is
    in ``skip`` (a rerun replaces every record of its items); most are found by their ``id``
    and left out unparsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    out = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        at = line.find(_ID_KEY) if skip else -1
        if at > 0:
            try:
                if scanstring(line, at + len(_ID_KEY))[0] in skip:
                    continue
            except ValueError:
                pass
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not (skip and isinstance(record, dict) and record.get("id") in skip):
            out.append(record)
    return out


def read_report(path: Path) -> dict[str, Any]:
    """The report at ``path``, read under the shared lock."""
    with locked(path.parent, shared=True):
        return _load(path)


def _sweep(folder: Path) -> None:
    for stale in folder.glob(".*.tmp-*"):
        with contextlib.suppress(OSError):
            stale.unlink()


@contextlib.contextmanager
def _no_signals() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    blocked = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _temp(target: Path, text: str) -> Path:
    return _temp_lines(target, [text])[0]


def _temp_lines(target: Path, lines: Iterable[str]) -> tuple[Path, str]:
    """A synced temp file beside ``target`` holding ``lines``, and its sha256. Lines are
    written as they come: a 12,000-item file never exists as one string in memory."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.tmp-")
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as fh:
            for line in lines:
                data = line.encode("utf-8")
                digest.update(data)
                fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return Path(name), digest.hexdigest()


Update = Callable[[dict[str, Any], Callable[[str, Container[str]], list[dict[str, Any]]]],
                  tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]]


def commit(path: Path, update: Update) -> dict[str, Any]:
    """Under the lock: ``update(report, old_items) -> (report, {benchmark: records})``, then
    write the items files and the report atomically together. ``old_items(benchmark, skip=())``
    reads a benchmark's current items file, leaving out the records of the ids in ``skip``."""
    folder = path.parent
    with locked(folder):
        _sweep(folder)
        def old_items(bench: str, skip: Container[str] = ()) -> list[dict[str, Any]]:
            return read_items(folder / f"{bench}.items.jsonl", skip)

        report, items = update(_load(path), old_items)
        temps: list[tuple[Path, Path]] = []
        try:
            for bench, records in items.items():
                target = folder / f"{bench}.items.jsonl"
                temp, sha = _temp_lines(target, (LINE.encode(r) + "\n"
                                                 for r in records))
                temps.append((temp, target))
                section = report["benchmarks"].get(bench)
                if isinstance(section, dict):
                    section["items"] = {"file": target.name, "count": len(records),
                                        "sha256": sha}
            temps.append((_temp(path, json.dumps(report, indent=2, ensure_ascii=False) + "\n"),
                          path))
            with _no_signals():
                for temp, target in temps:
                    os.replace(temp, target)
        finally:
            for temp, _ in temps:
                with contextlib.suppress(OSError):
                    temp.unlink()
    return report
