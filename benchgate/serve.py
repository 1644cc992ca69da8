"""A model server the suite starts itself (``serve:`` in the models file).

:class:`Server` runs the command in its own process group (``start_new_session``) with its
output streamed to a log file (secrets redacted), waits until ``GET <endpoint>/models``
answers 200, and stops the whole group (SIGTERM, then SIGKILL after a grace period). A
server that exits or does not answer within ``ready_timeout`` is an
:class:`~benchgate.errors.InfraError` whose one-line message carries the log's last lines.
Every started server is also stopped at interpreter exit (``atexit``), so an error or Ctrl-C
anywhere never leaves a GPU held.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import weakref
from pathlib import Path
from typing import Any

from benchgate.errors import InfraError
from benchgate.redact import redact
from benchgate.serve_config import ServeSpec

STOP_GRACE_S = 15.0
POLL_S = 0.2
TAIL_LINES = 5
_live: weakref.WeakSet[Server] = weakref.WeakSet()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` non-empty lines of ``path``, joined with `` | `` (redacted)."""
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, path.stat().st_size - 16384))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return redact(" | ".join(kept))


class Server:
    """One started server: ``url`` (its ``.../v1`` endpoint), ``log`` path, ``pid``.

    ``started_at``/``ready_at``/``stopped_at`` are ``time.time()`` stamps (the sweep's
    one-at-a-time figures come from them)."""

    def __init__(self, name: str, spec: ServeSpec, log: Path, *, path: str | None = None,
                 served: str | None = None, api_key: str | None = None) -> None:
        self.name = name
        self.spec = spec
        self.log = log
        self.port = free_port()
        self.url = spec.url(self.port)
        self.argv = spec.argv(self.port, path, served or name)
        self.api_key = api_key
        self.proc: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None
        self.started_at = self.ready_at = self.stopped_at = 0.0

    def start(self) -> Server:
        """Start the command and wait until it answers; :class:`InfraError` if it does not."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.spec.env}
        out = self.log.open("w", encoding="utf-8")
        try:
            self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=env, start_new_session=True)
        except OSError as exc:
            out.close()
            raise InfraError(redact(f"server for {self.name} did not start: {self.argv[0]}: "
                                    f"{exc.strerror or exc}")) from None
        self._pump = threading.Thread(target=_copy, args=(self.proc, out), daemon=True,
                                      name=f"benchgate-serve-log-{self.name}")
        self._pump.start()
        self.started_at = time.time()
        _live.add(self)
        try:
            self._wait_ready()
        except BaseException:  # InfraError, Ctrl-C: never leave it running
            self.stop()
            raise
        self.ready_at = time.time()
        return self

    def _wait_ready(self) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + self.spec.ready_timeout
        headers = {"Authorization": f"Bearer {self.api_key or 'EMPTY'}"}
        while True:
            code = self.proc.poll()
            if code is not None:
                raise InfraError(self._problem(f"exited with status {code} before "
                                               f"{self.url}/models answered"))
            try:
                request = urllib.request.Request(f"{self.url}/models", headers=headers)
                with urllib.request.urlopen(request, timeout=5) as resp:
                    if resp.status == 200:
                        return
            except (OSError, urllib.error.URLError, ValueError):
                pass
            if time.monotonic() > deadline:
                raise InfraError(self._problem(f"did not answer {self.url}/models within "
                                               f"{self.spec.ready_timeout:g} s"))
            time.sleep(POLL_S)

    def _problem(self, what: str) -> str:
        if self._pump is not None and self.proc is not None and self.proc.poll() is not None:
            self._pump.join(2)  # the log's last lines are the server's last words
        last = tail(self.log)
        return redact(f"server for {self.name} {what} (log {self.log}"
                      f"{': ' + last if last else ', empty'})")

    def stop(self) -> None:
        """Stop the whole process group: SIGTERM, SIGKILL after :data:`STOP_GRACE_S`."""
        proc = self.proc
        if proc is None:
            return
        _signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        while proc.poll() is None or _group_alive(proc.pid):  # poll() reaps the leader
            if time.monotonic() > deadline:
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
                break
            time.sleep(0.05)
        if self._pump is not None:
            self._pump.join(5)
        if not self.stopped_at:
            self.stopped_at = time.time()
        _live.discard(self)


def _copy(proc: subprocess.Popen[bytes], out: Any) -> None:
    """Stream the server's output into its log, line by line, with secrets redacted."""
    assert proc.stdout is not None
    with out:
        for raw in iter(proc.stdout.readline, b""):
            out.write(redact(raw.decode("utf-8", "replace")))
            out.flush()
    proc.stdout.close()


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


@atexit.register
def _stop_all() -> None:
    for server in list(_live):
        server.stop()
