"""Sandboxed execution of untrusted Python programs (HumanEval-style functional checks).

Follows the execution model of openai/human-eval (``human_eval/execution.py``, Chen et al.
2021, arXiv:2107.03374): the assembled program ``prompt + completion + test + check(f)``
passes when it runs to the end without raising within the time limit. Unlike the reference,
which ``exec``s in a forked multiprocessing worker guarded only by ``reliability_guard``,
each program gets its own interpreter here, in layers:

* a fresh temporary directory as cwd, ``HOME`` and ``TMPDIR``, removed afterwards;
* Linux namespaces when ``unshare`` works (probed once per process, then cached): a user and
  network namespace (no network at all) and a PID namespace whose init is a throwaway ``sh``,
  so the program can neither see nor signal any process outside, and everything it left
  behind dies with it. Without them (``namespaces=False`` or a failed probe) the audit-hook
  guard below is the only barrier; it blocks sockets, process creation and signals too, and
  the program's parent is still a throwaway ``sh``, never this process;
* its own session/process group, SIGKILLed as a whole on timeout or runaway output;
* ``python -I -S`` (isolated: no environment variables, no user site, no ``.pth`` code; the
  interpreter's site-packages are appended to ``sys.path`` so e.g. numpy still imports);
* rlimits set before the program runs: RLIMIT_AS (``memory_mb``), RLIMIT_CPU, RLIMIT_FSIZE,
  RLIMIT_CORE=0, RLIMIT_NOFILE. RLIMIT_NPROC is not used: it counts every process of the
  user on the host (threads included), so no value is both safe and useful; forks are
  refused by the guard and the PID namespace reaps anything that slips through;
* an audit hook (``sys.addaudithook``, irremovable from Python) installed by
  ``sandbox_child.py``: no fork/exec/spawn/kill, no sockets, no ctypes, no tracing or
  gc/frame walking of the guard, writes only inside the sandbox directory, no ``/proc``.

"passed" requires exit status 0 *and* the per-run sentinel on a private result pipe, written
only after ``exec`` of the whole program returned (see ``sandbox_child.py`` for why the
program can neither print nor reach it): ``sys.exit(0)`` or ``os._exit(0)`` before the
asserts, a killed interpreter or rebound builtins do not pass. Output is read incrementally
and capped; a program that keeps writing far past the cap is killed.
"""

from __future__ import annotations

import asyncio
import functools
import math
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Status = Literal["passed", "failed", "timeout", "error", "killed"]

_CHILD = Path(__file__).with_name("sandbox_child.py")
_FSIZE_BYTES = 64 * 1024 * 1024
_GRACE_S = 2.0


@dataclass(frozen=True)
class ExecResult:
    """Outcome of one sandboxed run.

    ``status``: ``passed`` (exit 0 and sentinel seen), ``failed`` (the program raised, exited
    early or non-zero), ``timeout`` (wall or CPU limit), ``killed`` (died by a signal, or by
    us for runaway output), ``error`` (the sandbox itself failed before the program started).
    """

    passed: bool
    status: Status
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    detail: str = ""


_SH_SCRIPT = '"$@"; exit $?'  # not `exec`: sh stays the parent (and the PID namespace's init)


@functools.cache
def _namespace_prefix() -> tuple[str, ...]:
    """The ``unshare ... sh`` command line that works here, or () when none does (probed once)."""
    unshare, sh = shutil.which("unshare"), shutil.which("sh")
    if not unshare or not sh:
        return ()
    for flags in (("-rn", "--pid", "--fork", "--kill-child"), ("-rn",)):
        prefix = (unshare, *flags, sh, "-c", _SH_SCRIPT, "sh")
        try:
            probe = subprocess.run([*prefix, sys.executable, "-I", "-S", "-c", "pass"],
                                   capture_output=True, timeout=20, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        if probe.returncode == 0:
            return prefix
    return ()


def _prefix(namespaces: bool | None) -> tuple[str, ...]:
    # Without namespaces, a throwaway sh is still the program's parent, so signalling its
    # parent (e.g. through a pidfd, which raises no audit event) cannot reach this process.
    if namespaces is not False and _namespace_prefix():
        return _namespace_prefix()
    sh = shutil.which("sh")
    return (sh, "-c", _SH_SCRIPT, "sh") if sh else ()


def isolation() -> str:
    """``"namespaces"`` when unshare-based isolation is in use, else ``"audit-hook"``."""
    return "namespaces" if _namespace_prefix() else "audit-hook"


@functools.cache
def _child_source() -> str:
    return _CHILD.read_text(encoding="utf-8")


@functools.cache
def _site_dirs() -> str:
    paths = sysconfig.get_paths()
    dirs = dict.fromkeys(p for p in (paths.get("purelib"), paths.get("platlib")) if p)
    return ":".join(d for d in dirs if ":" not in d)


def _kill(proc: subprocess.Popen[bytes]) -> None:
    for target in (lambda: os.killpg(proc.pid, signal.SIGKILL), proc.kill):
        try:
            target()
        except (ProcessLookupError, PermissionError, OSError):
            pass


def run_program(program: str, timeout_s: float = 10.0, memory_mb: int = 1024,
                output_limit: int = 64_000, *, namespaces: bool | None = None) -> ExecResult:
    """Run ``program`` in a fresh sandbox and report how it ended.

    ``timeout_s`` bounds wall time (interpreter start included); ``memory_mb`` is the address
    space limit; stdout and stderr keep at most ``output_limit`` bytes each, and a program
    writing more than 16 times that (at least 1 MiB) is killed. ``namespaces``: None (or
    True) uses them when the probe succeeded, False forces the audit-hook-only fallback.
    """
    start = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="benchgate-sbx-")).resolve()
    try:
        (root / "main.py").write_text(program, encoding="utf-8", errors="surrogatepass")
        return _run(root, start, timeout_s, memory_mb, output_limit,
                    _prefix(namespaces))
    except OSError as exc:
        return ExecResult(False, "error", None, "", "", time.monotonic() - start,
                          f"sandbox failure: {exc}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run(root: Path, start: float, timeout_s: float, memory_mb: int,
         output_limit: int, prefix: tuple[str, ...]) -> ExecResult:
    token = secrets.token_hex(16).encode()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(root),
           "TMPDIR": str(root), "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    read_fd, write_fd = os.pipe()
    argv = [*prefix, sys.executable, "-I", "-S", "-c", _child_source(), str(root),
            str(write_fd), str(math.ceil(timeout_s) + 1), str(memory_mb * 1024 * 1024),
            str(_FSIZE_BYTES), _site_dirs()]
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=root, env=env,
                                start_new_session=True, pass_fds=(write_fd,))
    except OSError:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        proc.stdin.write(token + b"\n")
        proc.stdin.close()
    except OSError:
        pass
    keep = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    result = bytearray()
    runaway = max(16 * output_limit, 1 << 20)
    written, reason = 0, ""
    deadline = start + timeout_s
    with selectors.DefaultSelector() as sel:
        for fd in (*keep, read_fd):
            sel.register(fd, selectors.EVENT_READ)
        while sel.get_map():
            now = time.monotonic()
            if now >= deadline:
                if not reason:
                    reason = "timeout"
                    _kill(proc)
                    deadline = now + _GRACE_S
                else:
                    break
            for key, _ in sel.select(timeout=max(0.0, deadline - now)):
                fd = int(key.fd)
                chunk = os.read(fd, 65536)
                if not chunk:
                    sel.unregister(fd)
                elif fd == read_fd:
                    result += chunk[: 4096 - len(result)]
                else:
                    written += len(chunk)
                    keep[fd] += chunk[: output_limit - len(keep[fd])]
                    if written > runaway and not reason:
                        reason = "output"
                        _kill(proc)
                        deadline = time.monotonic() + _GRACE_S
    os.close(read_fd)
    proc.stdout.close()  # the file objects own these fds; never os.close() them behind their back
    proc.stderr.close()
    try:
        returncode: int | None = proc.wait(timeout=_GRACE_S)
    except subprocess.TimeoutExpired:
        _kill(proc)
        returncode = proc.wait()
    duration = time.monotonic() - start
    out, err = (bytes(b).decode("utf-8", errors="replace") for b in keep.values())
    lines = set(bytes(result).splitlines())
    status, detail = _classify(returncode, reason, token + b" start" in lines,
                               token + b" pass" in lines, prefix[-1:] == ("sh",))
    return ExecResult(status == "passed", status, returncode, out, err, duration, detail)


def _classify(rc: int | None, reason: str, started: bool, sentinel: bool,
              via_sh: bool) -> tuple[Status, str]:
    if reason == "timeout":
        return "timeout", "wall-clock limit exceeded"
    if reason == "output":
        return "killed", "output limit exceeded"
    if not started:
        return "error", f"sandbox did not start the program (exit status {rc})"
    # Under the PID namespace the status comes from sh: 128+N means killed by signal N.
    signum = -rc if rc is not None and rc < 0 else (rc - 128 if via_sh and rc and rc > 128 else 0)
    if signum == signal.SIGXCPU:
        return "timeout", "CPU time limit exceeded"
    if signum:
        return "killed", f"killed by signal {signum}"
    if rc == 0 and sentinel:
        return "passed", ""
    if rc == 0:
        return "failed", "exited 0 without the pass sentinel (early exit or tampering)"
    return "failed", f"exit status {rc}"


async def run_many(programs: Iterable[str], timeout_s: float = 10.0, memory_mb: int = 1024,
                   output_limit: int = 64_000, parallelism: int | None = None, *,
                   namespaces: bool | None = None) -> list[ExecResult]:
    """Run ``programs`` concurrently (at most ``parallelism``, default the CPU count) on worker
    threads, never blocking the event loop; results come back in input order."""
    items = list(programs)
    if not items:
        return []
    workers = max(1, min(parallelism or os.cpu_count() or 1, len(items)))
    loop = asyncio.get_running_loop()
    run = functools.partial(run_program, timeout_s=timeout_s, memory_mb=memory_mb,
                            output_limit=output_limit, namespaces=namespaces)
    await loop.run_in_executor(None, _namespace_prefix)  # probe off the loop, once
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="benchgate-sbx")
    try:
        return list(await asyncio.gather(
            *(loop.run_in_executor(executor, run, p) for p in items)))
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
