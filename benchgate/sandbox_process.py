"""The sandboxed children of :mod:`benchgate.sandbox`: start them, talk to them, stop them.

:func:`spawn` starts one child (``python -I -S -c`` of :func:`child_source`, under bubblewrap
when sandboxed) with its configuration ready for stdin; :func:`drive` feeds the configurations
of a group of children, reads their stdout, stderr and status pipes incrementally (capped),
kills the group on the wall-clock limit or on runaway output, and waits for every one.
"""

from __future__ import annotations

import functools
import json
import math
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchgate.sandbox_bwrap import bwrap_prefix
from benchgate.sandbox_seccomp import SeccompUnavailable, filter_bpf

# The in-sandbox program, in the order its parts are joined (see :func:`child_source`).
CHILD_PARTS = ("sandbox_wire.py", "sandbox_confine.py", "sandbox_child.py")
_FUTURE = "from __future__ import annotations\n"
_FSIZE_BYTES = 16 * 1024 * 1024
_NPROC = 64
_GRACE_S = 2.0
_FLUSH_S = 0.5
_CONFINE_FAILED = 70  # the child's exit status when confinement fails (sandbox_child.py)


@functools.cache
def child_source() -> str:
    """The in-sandbox program as one script: :data:`CHILD_PARTS` joined, in order.

    The sandbox holds only the interpreter and its stdlib (not benchgate), so the parts cannot
    import each other there: they run as one ``-c`` script sharing one namespace (each part
    imports the others only when imported as a module, outside). Their common ``from
    __future__ import annotations`` line, allowed only at the top, is written once, first.
    """
    texts = [Path(__file__).with_name(name).read_text(encoding="utf-8") for name in CHILD_PARTS]
    return _FUTURE + "".join(text.replace(_FUTURE, "", 1) for text in texts)


@dataclass
class Proc:
    """One started child: its pipes, the configuration still to write, what it wrote back."""

    name: str
    popen: subprocess.Popen[bytes]
    config: bytes
    status_fd: int
    out: bytearray = field(default_factory=bytearray)
    err: bytearray = field(default_factory=bytearray)
    status: bytearray = field(default_factory=bytearray)
    returncode: int | None = None

    @property
    def ready(self) -> bool:
        """The child wrote ``R``: confinement was in place before any untrusted code ran."""
        return self.status.startswith(b"R\n")


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the child's process group (its whole tree), then the child itself."""
    for target in (lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill):
        try:
            target()
        except (ProcessLookupError, PermissionError, OSError):
            pass


def _config(role: str, cfg: dict[str, Any], fds: dict[str, int], timeout_s: float,
            memory_mb: int, sandboxed: bool) -> bytes:
    drop = None
    if sandboxed and os.geteuid() == 0:
        uid = 0x60000000 + secrets.randbelow(1 << 24)
        drop = [uid, uid]
    full = {**cfg, "role": role, "fds": fds, "cpu_s": math.ceil(timeout_s) + 1,
            "as_bytes": memory_mb * 1024 * 1024, "fsize": _FSIZE_BYTES, "nproc": _NPROC,
            "drop_to": drop, "sandboxed": sandboxed,
            "bpf": filter_bpf().hex() if sandboxed else _bpf_or_empty()}
    return json.dumps(full, ensure_ascii=True).encode("ascii")


def _bpf_or_empty() -> str:
    try:
        return filter_bpf().hex()
    except SeccompUnavailable:
        return ""


def spawn(name: str, role: str, cfg: dict[str, Any], fds: dict[str, int], timeout_s: float,
          memory_mb: int, sandboxed: bool, cwd: str) -> Proc:
    """Start one child; ``fds`` are the child's ends (closed here once it has them)."""
    status_r, status_w = os.pipe()
    child_fds = {**fds, "status": status_w}
    python = os.path.realpath(sys.executable)
    argv = [python, "-I", "-S", "-c", child_source()]
    if sandboxed:
        bwrap = shutil.which("bwrap") or "bwrap"
        argv = [*bwrap_prefix(bwrap), *argv]
    env = {"HOME": cwd, "TMPDIR": cwd, "LC_ALL": "C.UTF-8", "PATH": "/nonexistent"}
    try:
        popen = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, cwd=cwd, env=env,
                                 start_new_session=True, pass_fds=tuple(child_fds.values()))
    except OSError:
        os.close(status_r)
        raise
    finally:
        os.close(status_w)
    config = _config(role, cfg, child_fds, timeout_s, memory_mb, sandboxed)
    return Proc(name, popen, config, status_r)


def drive(procs: list[Proc], start: float, timeout_s: float, output_limit: int,
          done: Callable[[Proc, str], bool] | None = None) -> str:
    """Feed configs, collect output and status until all exit; returns the kill reason.

    ``done(proc, kind)`` is asked when one of ``proc``'s pipes (``out``, ``err``, ``status``)
    closes; true means the result is in, and the others get a moment to flush, then go.
    """
    runaway = max(16 * output_limit, 1 << 20)
    written, reason, finishing, killed = 0, "", False, False
    deadline = start + timeout_s
    sel = selectors.DefaultSelector()
    buffers: dict[int, tuple[Proc, str]] = {}
    pending: dict[int, memoryview] = {}
    stdin_of: dict[int, Any] = {}
    for p in procs:
        assert p.popen.stdin and p.popen.stdout and p.popen.stderr
        stdin = p.popen.stdin.fileno()
        os.set_blocking(stdin, False)
        pending[stdin] = memoryview(p.config)
        stdin_of[stdin] = p.popen.stdin
        sel.register(stdin, selectors.EVENT_WRITE)
        for fd, kind in ((p.popen.stdout.fileno(), "out"), (p.popen.stderr.fileno(), "err"),
                         (p.status_fd, "status")):
            buffers[fd] = (p, kind)
            sel.register(fd, selectors.EVENT_READ)

    def kill_all(why: str) -> None:
        nonlocal reason, deadline, killed
        reason, killed = reason or why, True
        for q in procs:
            kill(q.popen)
        deadline = time.monotonic() + _GRACE_S

    try:
        while sel.get_map():
            now = time.monotonic()
            if now >= deadline:
                if killed:
                    break
                kill_all("" if finishing else "timeout")
            for key, _ in sel.select(timeout=max(0.0, min(deadline - now, 0.5))):
                fd = int(key.fd)
                if fd in pending:
                    try:
                        n = os.write(fd, pending[fd][:65536])
                    except (BrokenPipeError, OSError):
                        n = len(pending[fd])
                    pending[fd] = pending[fd][n:]
                    if not pending[fd]:
                        sel.unregister(fd)
                        del pending[fd]
                        stdin_of[fd].close()
                    continue
                chunk = os.read(fd, 65536)
                proc, kind = buffers[fd]
                if not chunk:
                    sel.unregister(fd)
                    if done is not None and done(proc, kind) and not reason:
                        # The verdict is in: the others get a moment to flush, then go.
                        finishing = True
                        deadline = min(deadline, time.monotonic() + _FLUSH_S)
                    continue
                if kind == "status":
                    proc.status += chunk[: 4096 - len(proc.status)]
                    continue
                written += len(chunk)
                buf = proc.out if kind == "out" else proc.err
                buf += chunk[: output_limit - len(buf)]
                if written > runaway and not killed:
                    kill_all("output")
    finally:
        sel.close()
        for p in procs:
            for f in (p.popen.stdin, p.popen.stdout, p.popen.stderr):
                if f is not None and not f.closed:
                    f.close()
            os.close(p.status_fd)
            try:
                p.returncode = p.popen.wait(timeout=_GRACE_S)
            except subprocess.TimeoutExpired:
                kill(p.popen)
                p.returncode = p.popen.wait()
    return reason
