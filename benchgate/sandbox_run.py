"""One run of :mod:`benchgate.sandbox` and what it came to: a program, or a check in two.

:func:`exec_program` runs a whole program in one child; :func:`exec_check` runs the candidate
and the checker in two, joined by two pipes, and reads the checker's verdict from the status
pipe only the checker holds. Both take ``sandboxed`` from the caller (the gate in
``sandbox_gate.py`` decides it) and turn the children's exit, the kill reason and the verdict
into an :class:`ExecResult`.
"""

from __future__ import annotations

import json
import os
import signal
import tempfile
import time
from dataclasses import dataclass
from typing import Literal

from benchgate.sandbox_process import Proc, drive, kill, spawn
from benchgate.sandbox_seccomp import SeccompUnavailable

Status = Literal["passed", "failed", "timeout", "error", "killed"]


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


# Their public home, where they are imported from (reprs and pickles name it).
ExecResult.__module__ = Check.__module__ = "benchgate.sandbox"


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


def _failure(start: float, exc: Exception) -> ExecResult:
    """The sandbox itself failed (a child could not start, no seccomp filter)."""
    return ExecResult(False, "error", None, "", "", time.monotonic() - start,
                      f"sandbox failure: {exc}")


def exec_program(program: str, timeout_s: float, memory_mb: int, output_limit: int, *,
                 sandboxed: bool) -> ExecResult:
    """:func:`benchgate.sandbox.run_program`, with ``sandboxed`` decided by the caller."""
    start = time.monotonic()
    scratch = _workdir(sandboxed)
    try:
        proc = spawn("program", "program", {"source": program}, {}, timeout_s, memory_mb,
                     sandboxed, scratch.name if scratch else "/")
        reason = drive([proc], start, timeout_s, output_limit)
    except (OSError, SeccompUnavailable) as exc:
        return _failure(start, exc)
    finally:
        if scratch:
            scratch.cleanup()
    out, err, rc = _text(proc.out), _text(proc.err), proc.returncode
    status, detail = _classify(reason, proc, sandboxed)
    if status is None:
        status, detail = ("passed", "") if rc == 0 else ("failed", f"exit status {rc}")
    return ExecResult(status == "passed", status, rc, out, err, time.monotonic() - start,
                      detail)


def _classify(reason: str, proc: Proc, sandboxed: bool) -> tuple[Status | None, str]:
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


def exec_check(check: Check, timeout_s: float, memory_mb: int, output_limit: int, *,
               sandboxed: bool) -> ExecResult:
    """:func:`benchgate.sandbox.run_check`, with ``sandboxed`` decided by the caller."""
    start = time.monotonic()
    scratch = _workdir(sandboxed)
    pipes: list[int] = []
    procs: list[Proc] = []
    try:
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        pipes = [req_r, req_w, resp_r, resp_w]
        cwd = scratch.name if scratch else "/"
        candidate = spawn("candidate", "candidate",
                          {"source": check.candidate, "entry_point": check.entry_point},
                          {"req": req_r, "resp": resp_w}, timeout_s, memory_mb, sandboxed,
                          cwd)
        procs.append(candidate)
        checker = spawn("checker", "checker",
                        {"prelude": check.prelude, "test": check.test,
                         "entry_point": check.entry_point},
                        {"req": req_w, "resp": resp_r}, timeout_s, memory_mb, sandboxed, cwd)
        procs.append(checker)
        for fd in pipes:
            os.close(fd)
        pipes = []
        reason = drive(procs, start, timeout_s, output_limit,
                       done=lambda p, kind: p is checker and kind == "status")
    except (OSError, SeccompUnavailable) as exc:
        for p in procs:
            kill(p.popen)
            p.popen.wait()
        return _failure(start, exc)
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


def _verdict(reason: str, candidate: Proc, checker: Proc,
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
