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
  never pickle; see ``sandbox_wire.py``); a result that is not plain data fails the item;
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

Layout: this module is the public face; the work is done in

* ``sandbox_gate.py``: the availability probe, :func:`require`, the unsafe opt-in, and the
  public runs :func:`run_program` and :func:`run_check`;
* ``sandbox_pool.py``: :func:`run_many` and :func:`run_checks` (many runs from async code);
* ``sandbox_run.py``: one program or one check and its :class:`ExecResult` (the verdict);
* ``sandbox_process.py``: starting the children, feeding and reading their pipes, limits;
* ``sandbox_bwrap.py``: the bubblewrap command line; ``sandbox_seccomp.py``: the filter;
* in the sandbox, one script joined from ``sandbox_wire.py`` (the plain-data encoding and
  frames), ``sandbox_confine.py`` (rlimits, uid, seccomp) and ``sandbox_child.py`` (the
  roles), since the sandbox holds the stdlib but not benchgate.
"""

from __future__ import annotations

from benchgate.sandbox_gate import (
    SandboxUnavailable,
    _probe,  # noqa: F401 - the cached probe; tests clear it to re-probe
    availability,
    isolation,
    require,
    run_check,
    run_program,
    set_unsafe,
)
from benchgate.sandbox_pool import run_checks, run_many
from benchgate.sandbox_run import Check, ExecResult, Status

__all__ = ["Check", "ExecResult", "SandboxUnavailable", "Status", "availability", "isolation",
           "require", "run_check", "run_checks", "run_many", "run_program", "set_unsafe"]
