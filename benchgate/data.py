"""One loader API, three sources (README "Options"): the HF hub, ``--data-dir DIR``, ``--data sample``.

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
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from benchgate.errors import DataError, NotUtf8, decode_utf8

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


class _Files(dict[str, str]):
    """``name -> SHA-256`` of what was read, plus where each file lives and the rows parsed
    from it (kept so :func:`missing_field` can point at the row a loader choked on). A plain
    dict to everything else; sharing the object (``alias.files = data.files``) shares both."""

    def __init__(self) -> None:
        super().__init__()
        self.where: dict[str, str] = {}
        self.rows: dict[str, list[tuple[str, dict[str, Any]]]] = {}


def _kind(name: str) -> str:
    """The format of an upstream file, from its name (``.gz`` looked through)."""
    base = name[:-3] if name.endswith(".gz") else name
    return base.rsplit(".", 1)[-1] if "." in base else ""


def _what(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


class DataSource:
    """Where one benchmark's data comes from, and the record of what was read."""

    def __init__(self, benchmark: str, kind: str, root: Path | None = None) -> None:
        self.benchmark = benchmark
        self.kind = kind  # "hub" | "sample" | "dir"
        if kind == "sample" and root is None:  # the benchmark module passes its own folder
            root = REPO_ROOT / "benchmarks" / benchmark / "sample"
        self.root = root
        self.files: dict[str, str] = _Files()

    def describe(self) -> dict[str, Any]:
        """The report's ``run.data`` entry."""
        return {"source": self.kind, "files": dict(self.files)}

    def path(self, name: str) -> Path:
        """Absolute path of an upstream file for the dir/sample sources."""
        assert self.root is not None
        base = self.root if self.kind == "sample" else self.root / self.benchmark
        return base / name

    def _record(self, name: str, where: str, rows: list[tuple[str, dict[str, Any]]] | None) -> None:
        files = self.files
        if isinstance(files, _Files):
            files.where[name] = where
            if rows is not None:
                files.rows[name] = rows

    def _read(self, name: str, remote: Remote | None) -> tuple[bytes, str]:
        """The file's bytes, hashed into :attr:`files`, and how to name it in messages."""
        if self.kind == "hub":
            if remote is None:
                raise DataError(f"{self.benchmark}: {name} has no upstream location; use "
                                "--data-dir DIR or --data sample")
            data = _fetch(self.benchmark, remote.url)
            self.files[remote.url] = hashlib.sha256(data).hexdigest()
            self._record(remote.url, remote.url, None)
            return data, remote.url
        path = self.path(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            hint = ("pass --data-dir DIR with the upstream files under DIR/"
                    f"{self.benchmark}/, or --data sample") if self.kind == "dir" else \
                "the repo's sample data is incomplete"
            raise DataError(f"{self.benchmark}: missing data file {path} ({hint})") from None
        except OSError as exc:  # a directory, no permission, ...
            raise DataError(f"{self.benchmark}: cannot read data file {path}: "
                            f"{exc.strerror or exc}") from None
        self.files[name] = hashlib.sha256(data).hexdigest()
        self._record(name, str(path), None)
        return data, str(path)

    def read_bytes(self, name: str, remote: Remote | None = None) -> bytes:
        """Raw bytes of a file (dir/sample, or ``remote`` for the hub source), hashed."""
        return self._read(name, remote)[0]

    def _decode(self, name: str, data: bytes, where: str) -> str:
        if name.endswith(".gz"):
            try:
                data = gzip.decompress(data)
            except (OSError, EOFError, zlib.error) as exc:
                reason = str(exc) or type(exc).__name__
                raise DataError(f"{self.benchmark}: {where}: corrupt or truncated gzip file "
                                f"({reason})") from None
        try:
            return decode_utf8(data)
        except NotUtf8 as bad:
            raise DataError(f"{self.benchmark}: {where}: {bad}; upstream files are UTF-8") from None

    def text(self, name: str, remote: Remote | None = None) -> str:
        """A text file (gzip-decompressed when the name ends in .gz), UTF-8."""
        data, where = self._read(name, remote)
        return self._decode(name, data, where)

    def rows(self, name: str, hub: Hub | Remote | None = None) -> list[dict[str, Any]]:
        """Rows of an upstream JSONL/JSON/CSV file (optionally gzipped); for the hub source, of
        the HF dataset (``Hub``) or of the file at its upstream URL (``Remote``).

        A malformed row, a corrupt gzip, a non-UTF-8 or an empty file raise :class:`DataError`
        naming the file (and line)."""
        if self.kind == "hub" and not isinstance(hub, Remote):
            if hub is None:
                raise DataError(f"{self.benchmark}: {name} is not on the HF hub; use --data-dir DIR")
            return self._hub_rows(hub)
        remote = hub if isinstance(hub, Remote) else None
        data, where = self._read(name, remote)
        if _kind(name) not in ("jsonl", "json", "csv"):
            raise DataError(f"{self.benchmark}: unsupported file type {name} "
                            "(valid: .jsonl, .json, .csv, optionally .gz)")
        located = self._parse(name, self._decode(name, data, where), where)
        self._record(remote.url if remote else name, where, located)
        return [row for _, row in located]

    def _parse(self, name: str, text: str, where: str) -> list[tuple[str, dict[str, Any]]]:
        """``(location, row)`` pairs of a decoded file; location is ``line N`` or ``row N``."""
        out: list[tuple[str, dict[str, Any]]] = []
        kind = _kind(name)
        at = f"{self.benchmark}: {where}"
        if kind == "jsonl":
            # "\n" only: str.splitlines() also breaks on U+0085 etc. inside JSON strings
            for n, line in enumerate(text.split("\n"), 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(f"{at}: line {n}: malformed JSON ({exc.msg} at column "
                                    f"{exc.colno})") from None
                if not isinstance(row, dict):
                    raise DataError(f"{at}: line {n}: expected a JSON object, got {_what(row)}")
                out.append((f"line {n}", row))
        elif kind == "json":
            if not text.strip():
                raise DataError(f"{at}: empty data file (no rows)")
            try:
                loaded = json.loads(text)
            except json.JSONDecodeError as exc:
                raise DataError(f"{at}: line {exc.lineno}: malformed JSON ({exc.msg} at column "
                                f"{exc.colno})") from None
            for i, row in enumerate(loaded if isinstance(loaded, list) else [loaded], 1):
                if not isinstance(row, dict):
                    raise DataError(f"{at}: row {i}: expected a JSON object, got {_what(row)}")
                out.append((f"row {i}", row))
        else:
            reader = csv.DictReader(io.StringIO(text, newline=""))
            try:
                for row in reader:
                    n = reader.line_num
                    width = len(reader.fieldnames or ())
                    extra: Any = row.pop(None, None) or []  # type: ignore[call-overload]
                    got = width + len(extra) - sum(v is None for v in row.values())
                    if got != width:
                        raise DataError(f"{at}: line {n}: {got} field{'' if got == 1 else 's'}, the "
                                        f"header has {width}")
                    out.append((f"line {n}", dict(row)))
            except csv.Error as exc:
                raise DataError(f"{at}: line {reader.line_num}: malformed CSV ({exc})") from None
        if not out:
            raise DataError(f"{at}: empty data file (no rows)")
        return out

    def _hub_rows(self, hub: Hub) -> list[dict[str, Any]]:
        try:
            import datasets

            ds = datasets.load_dataset(hub.repo, hub.name, split=hub.split, revision=hub.revision)
        except Exception as exc:  # noqa: BLE001 - network, auth, revision: one message
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise DataError(f"{self.benchmark}: cannot load {hub.repo}@{hub.revision} from the HF "
                            f"hub ({reason}); offline, use --data-dir DIR or --data sample") from None
        label = f"hf://{hub.repo}@{hub.revision}/{hub.split}"
        self.files[label] = str(ds._fingerprint)
        rows = [dict(row) for row in ds]
        if not rows:
            raise DataError(f"{self.benchmark}: {label}: empty dataset split (no rows)")
        self._record(label, label, [(f"row {i}", row) for i, row in enumerate(rows, 1)])
        return rows

    def missing_field(self, key: str) -> DataError:
        """After a loader raised ``KeyError(key)``: a :class:`DataError` naming the first row,
        among the files read so far, that lacks ``key`` (file, line and field)."""
        files = self.files
        where: dict[str, str] = getattr(files, "where", {})
        parsed: dict[str, list[tuple[str, dict[str, Any]]]] = getattr(files, "rows", {})
        for name in list(files):
            located = parsed.get(name)
            if located is None and name in where and _kind(name) == "jsonl" \
                    and not where[name].startswith(("http://", "https://")):
                try:  # read with text() and parsed by the loader itself: parse it here
                    raw = Path(where[name]).read_bytes()
                    located = self._parse(name, self._decode(name, raw, where[name]), where[name])
                except (OSError, DataError):
                    located = None
            for location, row in located or ():
                if key not in row:
                    return DataError(f"{self.benchmark}: {where.get(name, name)}: {location}: "
                                     f"missing field {key!r}")
        read = ", ".join(where.get(n, n) for n in files) or "no files"
        return DataError(f"{self.benchmark}: a data row lacks field {key!r} (read: {read})")


def missing_field(source: DataSource, key: str) -> DataError:
    """The one-line :class:`DataError` for a loader's ``KeyError(key)`` on ``source``'s rows:
    names the file, line and field of the first row lacking ``key``."""
    return source.missing_field(key)


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
