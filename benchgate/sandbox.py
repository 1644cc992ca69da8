"""Sandboxed execution of untrusted Python (HumanEval-style functional checks).

Verdicts follow openai/human-eval (``human_eval/execution.py``, Chen et al. 2021,
arXiv:2107.03374): a sample passes when the dataset's ``check(candidate)`` returns without
raising within the time limit. Unlike the reference, which ``exec``s prompt, completion and
test in one forked worker guarded only by ``reliability_guard``, the trusted checker and the
untrusted candidate never share a process (:func:`run_check`):

* the **candidate** sandbox runs prompt + completion and serves the entry point;
* the **checker** sandbox runs the prompt (its helper functions) and the test, and calls the
  candidate through a proxy across two pipes. Arguments and results cross as plain data only
  (numbers, strings, bytes, bools, None, lists, tuples, dicts, sets; a tagged JSON encoding,
  never pickle; see ``sandbox_child.py``); a result that is not plain data fails the item;
* the verdict is written by the checker on a pipe only the checker holds. Nothing the
  candidate does to its own process (``os._exit(0)``, printing a token, patching builtins or
  ``AssertionError``, an always-true ``__eq__``, reading its own memory) reaches the checker.

Isolation is the kernel's, not a Python deny list. Mechanisms compared:

* **bubblewrap** (``bwrap``, Debian ``bubblewrap``; used): the well-kept namespace tool of
  Flatpak. Own mount namespace over a read-only root holding only the interpreter, its
  stdlib and the system shared libraries (no ``/etc``, no home, no checkout, no ``/proc``),
  ``/dev`` reduced to null/zero/random/urandom, a private size-capped tmpfs as cwd, ``HOME``
  and ``/tmp`` (it disappears with the sandbox), new PID, network (no interface but a down
  loopback: no TCP/UDP, no abstract UNIX sockets of the host), IPC and UTS namespaces, a
  scrubbed environment, ``--die-with-parent`` and a new session. Without root it runs in a
  new user namespace as uid 65534 with further user namespaces disabled; as root (CI) it
  keeps only CAP_SETUID/CAP_SETGID so the child can switch to a fresh unprivileged uid and
  gid for this one run (no capabilities left, nothing on the host owned by it);
* **seccomp** (libseccomp's compiler, ``sandbox_seccomp.py``; used): loaded inside the
  sandbox before the untrusted code compiles (bwrap's own ``--seccomp`` applies before its
  ``execve`` of Python, so it could not forbid ``execve``): no new programs, processes,
  sockets, mounts, namespaces, ptrace, device nodes, xattrs, io_uring, bpf, keyrings;
  PyPI ``pyseccomp`` is a ctypes binding over the same library, so it adds a dependency and
  nothing else;
* **Landlock**: would restrict paths and TCP ports from inside, but the mount namespace
  already shows nothing writable or secret, and its availability depends on the kernel's LSM
  list (not enabled on every distribution kernel); not needed on top of the above;
* a Python audit hook / import deny list (the previous design): bypassable from Python
  (``_posixsubprocess`` through ``ExtensionFileLoader``), not used.

Limits (rlimits set in the sandbox before the untrusted code runs): CPU seconds, address
space (``memory_mb``), file size, open files, processes/threads, no core dumps; output is
read incrementally and capped, a program that keeps writing far past the cap is killed, and
the wall-clock limit kills the whole tree (the PID namespace's init dies, the kernel kills
everything in it). Nothing survives a run: no process, file, mount or socket.

Where the kernel or the machine cannot give this (no ``bwrap``, no libseccomp, user
namespaces disabled), :func:`require` raises :class:`SandboxUnavailable` with one line naming
what is missing, unless :func:`set_unsafe` (``--unsafe-no-sandbox``) allowed running with
process separation, rlimits and (best effort) seccomp only.
"""

from __future__ import annotations

import asyncio
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
import sysconfig
import tempfile
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from benchgate.errors import ConfigError
from benchgate.sandbox_seccomp import SeccompUnavailable, filter_bpf

Status = Literal["passed", "failed", "timeout", "error", "killed"]

_CHILD = Path(__file__).with_name("sandbox_child.py")
_FSIZE_BYTES = 16 * 1024 * 1024
_TMPFS_BYTES = 64 * 1024 * 1024
_NPROC = 64
_GRACE_S = 2.0
_FLUSH_S = 0.5
_CONFINE_FAILED = 70
_state = {"unsafe": False}


class SandboxUnavailable(ConfigError):
    """The machine cannot give the isolation HumanEval needs (one-line reason)."""


@dataclass(frozen=True)
class ExecResult:
    """Outcome of one sandboxed run.

    ``status``: ``passed`` (the checker's verdict, or for :func:`run_program` exit 0),
    ``failed`` (a check raised, the candidate failed or returned something that is not plain
    data), ``timeout`` (wall or CPU limit), ``killed`` (died by a signal, or by us for
    runaway output), ``error`` (the sandbox itself failed, or the check cannot run across the
    process boundary). ``stdout`` is the candidate's; ``stderr`` is the candidate's followed
    by the checker's (whose last line names the failed assertion).
    """

    passed: bool
    status: Status
    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    detail: str = ""


@dataclass(frozen=True)
class Check:
    """One functional check: ``candidate`` (prompt + completion) must define ``entry_point``;
    ``test`` defines ``check(candidate)``; ``prelude`` (the prompt) is trusted code run before
    ``test`` in the checker, for helper functions the test uses."""

    candidate: str
    test: str
    entry_point: str
    prelude: str = ""


def set_unsafe(flag: bool) -> None:
    """``--unsafe-no-sandbox``: when the kernel cannot sandbox, run code anyway (unconfined)."""
    _state["unsafe"] = bool(flag)


def _unprivileged_args() -> list[str]:
    if os.geteuid() == 0:
        return ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return ["--unshare-user", "--uid", "65534", "--gid", "65534", "--disable-userns"]


@functools.cache
def _root_binds() -> tuple[str, ...]:
    """Read-only binds of the interpreter, its stdlib and the system shared libraries."""
    args: list[str] = []
    seen: set[str] = set()

    def bind(path: str) -> None:
        real = os.path.realpath(path)
        for p in dict.fromkeys((path, real)):
            if p in seen or not os.path.exists(p):
                continue
            seen.add(p)
            if os.path.islink(p):
                args.extend(["--symlink", os.readlink(p), p])
            else:
                args.extend(["--ro-bind", p, p])

    for top in ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/lib32", "/libx32"):
        if os.path.lexists(top):
            bind(top)
    paths = sysconfig.get_paths()
    bind(os.path.realpath(sys.executable))
    bind(paths["stdlib"])  # the base interpreter's (a venv's site-packages stays out)
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    for name in (sysconfig.get_config_var("INSTSONAME"), sysconfig.get_config_var("LDLIBRARY")):
        if libdir and name and ".so" in str(name):
            bind(os.path.join(libdir, str(name)))
    # Parents bwrap would create with the source's mode (a 0700 home hides the interpreter
    # from the unprivileged uid): made world-traversable, empty but for what is bound.
    parents = sorted({str(parent) for p in seen for parent in Path(p).parents
                      if str(parent) != "/" and str(parent) not in seen})
    dirs = [a for d in parents for a in ("--perms", "0755", "--dir", d)]
    return tuple(dirs + args)


def _bwrap_prefix(bwrap: str) -> list[str]:
    return [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", *_unprivileged_args(), "--die-with-parent",
            "--new-session", "--clearenv", "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR",
            "/tmp", "--setenv", "LC_ALL", "C.UTF-8", "--setenv", "PATH", "/nonexistent",
            "--hostname", "sandbox", *_root_binds(), "--dev", "/dev", "--perms", "1777",
            "--size", str(_TMPFS_BYTES), "--tmpfs", "/tmp", "--remount-ro", "/", "--chdir",
            "/tmp", "--"]


@functools.cache
def _child_source() -> str:
    return _CHILD.read_text(encoding="utf-8")


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
    result = _run_program(probe, 20.0, 256, 4000, sandboxed=True)
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


# ---------------------------------------------------------------- processes


@dataclass
class _Proc:
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
        return self.status.startswith(b"R\n")


def _kill(proc: subprocess.Popen[bytes]) -> None:
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


def _spawn(name: str, role: str, cfg: dict[str, Any], fds: dict[str, int], timeout_s: float,
           memory_mb: int, sandboxed: bool, cwd: str) -> _Proc:
    """Start one child; ``fds`` are the child's ends (closed here once it has them)."""
    status_r, status_w = os.pipe()
    child_fds = {**fds, "status": status_w}
    python = os.path.realpath(sys.executable)
    argv = [python, "-I", "-S", "-c", _child_source()]
    if sandboxed:
        bwrap = shutil.which("bwrap") or "bwrap"
        argv = [*_bwrap_prefix(bwrap), *argv]
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
    return _Proc(name, popen, config, status_r)


def _drive(procs: list[_Proc], start: float, timeout_s: float, output_limit: int,
           done: Any = None) -> str:
    """Feed configs, collect output and status until all exit; returns the kill reason."""
    runaway = max(16 * output_limit, 1 << 20)
    written, reason, finishing, killed = 0, "", False, False
    deadline = start + timeout_s
    sel = selectors.DefaultSelector()
    buffers: dict[int, tuple[_Proc, str]] = {}
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
            _kill(q.popen)
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
                _kill(p.popen)
                p.returncode = p.popen.wait()
    return reason


def _signal_of(rc: int | None, sandboxed: bool) -> int:
    if rc is None:
        return 0
    if rc < 0:
        return -rc
    return rc - 128 if sandboxed and rc > 128 else 0


def _text(buf: bytearray) -> str:
    return bytes(buf).decode("utf-8", errors="replace")


def _workdir(sandboxed: bool) -> tempfile.TemporaryDirectory[str] | None:
    return None if sandboxed else tempfile.TemporaryDirectory(prefix="benchgate-unsafe-")


def _sandboxed() -> bool:
    require()
    return availability() is None


def _run_program(program: str, timeout_s: float, memory_mb: int, output_limit: int, *,
                 sandboxed: bool) -> ExecResult:
    start = time.monotonic()
    scratch = _workdir(sandboxed)
    try:
        proc = _spawn("program", "program", {"source": program}, {}, timeout_s, memory_mb,
                      sandboxed, scratch.name if scratch else "/")
        reason = _drive([proc], start, timeout_s, output_limit)
    except (OSError, SeccompUnavailable) as exc:
        return ExecResult(False, "error", None, "", "", time.monotonic() - start,
                          f"sandbox failure: {exc}")
    finally:
        if scratch:
            scratch.cleanup()
    out, err, rc = _text(proc.out), _text(proc.err), proc.returncode
    status, detail = _classify(reason, proc, sandboxed)
    if status is None:
        status, detail = ("passed", "") if rc == 0 else ("failed", f"exit status {rc}")
    return ExecResult(status == "passed", status, rc, out, err, time.monotonic() - start,
                      detail)


def _classify(reason: str, proc: _Proc, sandboxed: bool) -> tuple[Status | None, str]:
    if reason == "timeout":
        return "timeout", "wall-clock limit exceeded"
    if reason == "output":
        return "killed", "output limit exceeded"
    if not proc.ready:
        tail = (_text(proc.err).strip().splitlines() or [""])[-1][:200]
        return "error", f"sandbox did not start the {proc.name} (exit status " \
                        f"{proc.returncode}) {tail}".rstrip()
    signum = _signal_of(proc.returncode, sandboxed)
    if signum == signal.SIGXCPU:
        return "timeout", f"CPU time limit exceeded ({proc.name})"
    if signum:
        return "killed", f"{proc.name} killed by signal {signum}"
    return None, ""


def run_program(program: str, timeout_s: float = 10.0, memory_mb: int = 1024,
                output_limit: int = 64_000) -> ExecResult:
    """Run a whole ``program`` in one sandbox; ``passed`` means it exited 0.

    Not a verdict: the program could exit 0 on purpose. Use :func:`run_check` to grade.
    ``timeout_s`` bounds wall time; ``memory_mb`` the address space; stdout and stderr keep
    at most ``output_limit`` bytes each, and writing more than 16 times that (at least
    1 MiB) gets the program killed. Raises :class:`SandboxUnavailable` (see :func:`require`).
    """
    return _run_program(program, timeout_s, memory_mb, output_limit, sandboxed=_sandboxed())


def run_check(check: Check, timeout_s: float = 10.0, memory_mb: int = 1024,
              output_limit: int = 64_000) -> ExecResult:
    """Run ``check`` (candidate and checker in two sandboxes); the checker gives the verdict.

    Limits as :func:`run_program`, for each of the two processes; ``timeout_s`` bounds the
    whole exchange. Raises :class:`SandboxUnavailable` (see :func:`require`).
    """
    sandboxed = _sandboxed()
    start = time.monotonic()
    scratch = _workdir(sandboxed)
    pipes: list[int] = []
    procs: list[_Proc] = []
    try:
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        pipes = [req_r, req_w, resp_r, resp_w]
        cwd = scratch.name if scratch else "/"
        candidate = _spawn("candidate", "candidate",
                           {"source": check.candidate, "entry_point": check.entry_point},
                           {"req": req_r, "resp": resp_w}, timeout_s, memory_mb, sandboxed,
                           cwd)
        procs.append(candidate)
        checker = _spawn("checker", "checker",
                         {"prelude": check.prelude, "test": check.test,
                          "entry_point": check.entry_point},
                         {"req": req_w, "resp": resp_r}, timeout_s, memory_mb, sandboxed, cwd)
        procs.append(checker)
        for fd in pipes:
            os.close(fd)
        pipes = []
        reason = _drive(procs, start, timeout_s, output_limit,
                        done=lambda p, kind: p is checker and kind == "status")
    except (OSError, SeccompUnavailable) as exc:
        for p in procs:
            _kill(p.popen)
            p.popen.wait()
        return ExecResult(False, "error", None, "", "", time.monotonic() - start,
                          f"sandbox failure: {exc}")
    finally:
        for fd in pipes:
            os.close(fd)
        if scratch:
            scratch.cleanup()
    duration = time.monotonic() - start
    out = _text(candidate.out)
    err = _text(candidate.err) + _text(checker.err)
    status, detail = _verdict(reason, candidate, checker, sandboxed)
    return ExecResult(status == "passed", status, checker.returncode, out, err, duration,
                      detail)


def _verdict(reason: str, candidate: _Proc, checker: _Proc,
             sandboxed: bool) -> tuple[Status, str]:
    for proc in (checker, candidate):
        status, detail = _classify(reason, proc, sandboxed)
        if status is not None and (status != "killed" or proc is checker or reason):
            return status, detail
    lines = bytes(checker.status[2:]).splitlines()
    try:
        verdict = json.loads(lines[0]) if lines else {}
    except ValueError:
        verdict = {}
    if not isinstance(verdict, dict) or verdict.get("v") not in ("pass", "fail", "error"):
        return "failed", f"the checker ended without a verdict (exit status {checker.returncode})"
    why = str(verdict.get("why", ""))
    if verdict["v"] == "pass" and checker.returncode == 0:
        return "passed", ""
    if verdict["v"] == "error":
        return "error", f"check cannot run in the sandbox: {why}"
    return "failed", why


def _run_sync_many(fn: Any, items: list[Any], parallelism: int | None) -> Any:
    async def main() -> list[ExecResult]:
        workers = max(1, min(parallelism or os.cpu_count() or 1, len(items)))
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, availability)  # probe off the loop, once
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="benchgate-sbx")
        try:
            return list(await asyncio.gather(
                *(loop.run_in_executor(executor, fn, x) for x in items)))
        finally:
            executor.shutdown(wait=False, cancel_futures=True)

    return main()


async def run_many(programs: Iterable[str], timeout_s: float = 10.0, memory_mb: int = 1024,
                   output_limit: int = 64_000,
                   parallelism: int | None = None) -> list[ExecResult]:
    """:func:`run_program` for each of ``programs`` on worker threads (at most
    ``parallelism``, default the CPU count), never blocking the event loop; input order."""
    items = list(programs)
    if not items:
        return []
    run = functools.partial(run_program, timeout_s=timeout_s, memory_mb=memory_mb,
                            output_limit=output_limit)
    return list(await _run_sync_many(run, items, parallelism))


async def run_checks(checks: Iterable[Check], timeout_s: float = 10.0, memory_mb: int = 1024,
                     output_limit: int = 64_000,
                     parallelism: int | None = None) -> list[ExecResult]:
    """:func:`run_check` for each of ``checks``, as :func:`run_many` does for programs."""
    items = list(checks)
    if not items:
        return []
    run = functools.partial(run_check, timeout_s=timeout_s, memory_mb=memory_mb,
                            output_limit=output_limit)
    return list(await _run_sync_many(run, items, parallelism))
