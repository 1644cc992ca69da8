"""The gate in front of every run of :mod:`benchgate.sandbox`: sandbox, or refuse.

Whether bubblewrap + seccomp sandboxes work on this machine is probed once (a real sandboxed
run: not root, no ``/proc``, no sockets); :func:`require` raises :class:`SandboxUnavailable`
when they do not, unless :func:`set_unsafe` (``--unsafe-no-sandbox``) opted in to unconfined
runs. :func:`run_program` and :func:`run_check`, the public runs, pass through it.
"""

from __future__ import annotations

import functools
import shutil
import threading

from benchgate.errors import ConfigError
from benchgate.sandbox_run import Check, ExecResult, exec_check, exec_program
from benchgate.sandbox_seccomp import SeccompUnavailable, filter_bpf

_state = {"unsafe": False}


class SandboxUnavailable(ConfigError):
    """The machine cannot give the isolation HumanEval needs (one-line reason)."""


SandboxUnavailable.__module__ = "benchgate.sandbox"  # its public home (tracebacks name it)


def set_unsafe(flag: bool) -> None:
    """``--unsafe-no-sandbox``: when the kernel cannot sandbox, run code anyway (unconfined)."""
    _state["unsafe"] = bool(flag)


_probe_lock = threading.Lock()


@functools.cache
def _probe() -> str | None:
    """None when bubblewrap + seccomp sandboxes work here, else what is missing (cached)."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return "bubblewrap (bwrap) is not installed (apt-get install bubblewrap)"
    try:
        filter_bpf()
    except SeccompUnavailable as exc:
        return f"seccomp filter unavailable: {exc} (apt-get install libseccomp2)"
    probe = ("import os, socket\nassert os.getuid() != 0\nassert not os.path.exists('/proc/1')\n"
             "try:\n    socket.socket()\nexcept PermissionError:\n    pass\n"
             "else:\n    raise SystemExit('socket allowed')\n")
    result = exec_program(probe, 20.0, 256, 4000, sandboxed=True)
    if result.passed:
        return None
    last = (result.stderr.strip().splitlines() or [result.detail or result.status])[-1]
    return f"bubblewrap cannot create the sandbox here (user namespaces disabled?): {last[:200]}"


def availability() -> str | None:
    """None when the kernel sandbox is available, else a one-line reason."""
    with _probe_lock:
        return _probe()


def require() -> None:
    """Raise :class:`SandboxUnavailable` unless the sandbox works or unsafe mode is on."""
    missing = availability()
    if missing and not _state["unsafe"]:
        raise SandboxUnavailable(f"HumanEval sandbox unavailable: {missing}; refusing to run "
                                 "model code (pass --unsafe-no-sandbox to run it unconfined)")


def isolation() -> str:
    """``"bubblewrap+seccomp"``, or ``"unsafe"`` when running unconfined (opted in)."""
    if availability() is None:
        return "bubblewrap+seccomp"
    require()
    return "unsafe"


def _sandboxed() -> bool:
    require()
    return availability() is None


def run_program(program: str, timeout_s: float = 10.0, memory_mb: int = 1024,
                output_limit: int = 64_000) -> ExecResult:
    """Run a whole ``program`` in one sandbox; ``passed`` means it exited 0.

    Not a verdict: the program could exit 0 on purpose. Use :func:`run_check` to grade.
    ``timeout_s`` bounds wall time; ``memory_mb`` the address space; stdout and stderr keep
    at most ``output_limit`` bytes each, and writing more than 16 times that (at least
    1 MiB) gets the program killed. Raises :class:`SandboxUnavailable` (see :func:`require`).
    """
    return exec_program(program, timeout_s, memory_mb, output_limit, sandboxed=_sandboxed())


def run_check(check: Check, timeout_s: float = 10.0, memory_mb: int = 1024,
              output_limit: int = 64_000) -> ExecResult:
    """Run ``check`` (candidate and checker in two sandboxes); the checker gives the verdict.

    Limits as :func:`run_program`, for each of the two processes; ``timeout_s`` bounds the
    whole exchange. Raises :class:`SandboxUnavailable` (see :func:`require`).
    """
    return exec_check(check, timeout_s, memory_mb, output_limit, sandboxed=_sandboxed())
