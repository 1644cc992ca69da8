"""Per-item records from xdist workers to the controller, beside JUnit rather than inside it.

The controller makes a spool folder and hands its path to every worker (``workerinput``);
each worker appends one JSON line per finished test to its own file, flushed at once, so the
controller reads every record, exactly once: as the run goes when a hook wants the records
(:meth:`Spool.tests` returns what is new since its last call), and the rest when the workers
are done (even after Ctrl-C or a crashed worker: what was written stays). A serial run keeps
its records in memory.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from benchgate.jsontext import LINE


class Spool:
    """A folder of ``<worker>.jsonl`` files."""

    def __init__(self, path: Path | None = None) -> None:
        self.owner = path is None
        self.path = Path(tempfile.mkdtemp(prefix="benchgate-spool-")) if path is None else path
        self._out: IO[str] | None = None
        self._read: dict[Path, int] = {}  # bytes of each file already read

    def append(self, worker: str, records: Sequence[dict[str, Any]]) -> None:
        """Write one test's records as one line (a reader never sees half of a test)."""
        if self._out is None:
            self._out = open(self.path / f"{worker}.jsonl", "a", encoding="utf-8")
        self._out.write(LINE.encode(list(records)) + "\n")
        self._out.flush()

    def tests(self) -> Iterator[list[dict[str, Any]]]:
        """Each test's records written by any worker since the last call, one list per test
        (a line not yet ended is left for the next call; one that never ends, torn by a
        killed worker, is never read)."""
        for file in sorted(self.path.glob("*.jsonl")):
            with open(file, "rb") as fh:
                fh.seek(self._read.get(file, 0))
                for line in fh:
                    if not line.endswith(b"\n"):
                        break
                    self._read[file] = fh.tell()
                    try:
                        yield json.loads(line)
                    except ValueError:
                        continue

    def close(self) -> None:
        """Close this process's file; the owner (controller) removes the folder."""
        if self._out is not None:
            self._out.close()
            self._out = None
        if self.owner:
            shutil.rmtree(self.path, ignore_errors=True)
