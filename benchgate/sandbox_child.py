"""The in-sandbox program of :mod:`benchgate.sandbox`: confinement, then one role.

``sandbox_process.py`` runs it with ``python -I -S -c`` inside bubblewrap, as one script
joined from ``sandbox_wire.py`` (the plain-data encoding and frames), ``sandbox_confine.py``
and this file, last: the sandbox holds the stdlib but not benchgate, so nothing here imports
benchgate there (the imports below are for this file imported as a module, outside). stdin
carries one JSON object (the configuration, then EOF); it is read whole before anything else,
then stdin is pointed at ``/dev/null``. Before any untrusted byte is compiled this code

1. sets the rlimits (CPU, address space, file size, open files, processes, no core dumps);
2. under bubblewrap as root, leaves uid 0 for the per-run unprivileged uid and gid it was
   given (no supplementary groups), and checks that uid 0 cannot be taken back;
3. sets ``no_new_privs`` and loads the seccomp filter compiled by ``sandbox_seccomp.py``
   (through ctypes: the only way to call ``prctl`` from the stdlib), then checks the kernel
   reports seccomp filter mode for this process;
4. writes ``R`` on its status fd, the parent's proof that confinement is in place.

Then it plays one role:

* ``program``: run the source, exit 0 when it ran to the end (not a verdict: the program
  shares this process and can fake that; verdicts come only from ``checker``);
* ``candidate``: run the candidate program (prompt + completion), close the status fd, and
  serve its entry point: each request on the request fd is a call, each answer goes back on
  the answer fd. Everything crosses as plain data (``sandbox_wire.py``);
* ``checker``: run the trusted prelude (the prompt: helper functions the tests use) and the
  test (``def check(candidate)``), bind the entry point name to a proxy that calls the
  candidate across the pipes, call ``check(proxy)`` and write the verdict on the status fd.
  The candidate is another process in another sandbox: nothing it does to its own
  interpreter (``os._exit(0)``, printed tokens, patched builtins, reading its own memory)
  reaches the checker, and what it returns is decoded into fresh builtin objects, so an
  object with an always-true ``__eq__`` cannot even be sent.

Mutable arguments: after each call the candidate sends the arguments back, and the proxy
copies their new contents into the checker's top-level list, dict and set arguments, so a
check that inspects an argument after the call sees what an in-process call would show.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

if __name__ != "__main__":  # imported as a module; in the sandbox the parts are one script
    from benchgate.sandbox_confine import confine
    from benchgate.sandbox_wire import PlainDataError, decode, encode, recv, send


# ---------------------------------------------------------------- roles


def _print_exception(exc: BaseException) -> None:
    import traceback

    try:
        sys.stdout.flush()
    except BaseException:  # noqa: BLE001 - the program may have broken stdout
        pass
    traceback.print_exception(exc)
    sys.stderr.flush()


def _run_program(source: str) -> None:
    import os

    g: dict[str, object] = {"__name__": "__main__"}
    try:
        exec(compile(source, "main.py", "exec", dont_inherit=True), g)
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException as exc:  # noqa: BLE001 - SystemExit ends the run as a failure too
        _print_exception(exc)
        os._exit(1)
    os._exit(0)


def _error(exc: BaseException) -> dict[str, str]:
    return {"err": type(exc).__name__, "msg": str(exc)[:2000]}


def _serve(cfg: dict[str, Any]) -> None:
    """The candidate: run its program, then answer calls until the checker hangs up."""
    import os

    req_fd, resp_fd = cfg["fds"]["req"], cfg["fds"]["resp"]
    os.close(cfg["fds"]["status"])
    fn: Any = None
    failure: dict[str, str] | None = None
    g: dict[str, object] = {"__name__": "__candidate__"}
    try:
        exec(compile(cfg["source"], "candidate.py", "exec", dont_inherit=True), g)
        fn = g.get(cfg["entry_point"])
        if not callable(fn):
            failure = {"err": "NameError", "msg": f"name {cfg['entry_point']!r} is not defined"}
    except BaseException as exc:  # noqa: BLE001 - reported to the checker, which fails
        _print_exception(exc)
        failure = _error(exc)
    while True:
        try:
            request = recv(req_fd)
        except (EOFError, OSError, PlainDataError):
            break
        if failure is not None:
            answer: object = failure
        else:
            try:
                args = decode(request["a"])
                kwargs = decode(request["k"])
                result = fn(*args, **kwargs)
                answer = {"ok": encode(result)}
                if any(type(a) in (list, dict, set) for a in args):
                    answer["after"] = encode(args)
            except BaseException as exc:  # noqa: BLE001 - the call failed; so does the check
                answer = _error(exc)
        try:
            send(resp_fd, answer)
        except (OSError, PlainDataError, ValueError, TypeError):
            try:
                send(resp_fd, {"err": "TypeError", "msg": "result could not be sent"})
            except OSError:
                break
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(0)


class CandidateError(Exception):
    """The candidate failed in a way that has no builtin exception to mirror."""


def _sync(target: object, after: object) -> None:
    if type(target) is list and type(after) is list:
        target[:] = after  # type: ignore[index]
    elif type(target) in (dict, set) and type(after) is type(target):
        target.clear()  # type: ignore[attr-defined]
        target.update(after)  # type: ignore[attr-defined]


def _proxy(req_fd: int, resp_fd: int) -> Any:
    import builtins

    def candidate(*args: object, **kwargs: object) -> object:
        try:
            request = {"a": encode(list(args)), "k": encode(dict(kwargs))}
        except PlainDataError as exc:
            raise _Unsupported(
                f"the check passes an argument that is not plain data: {exc}") from None
        try:
            send(req_fd, request)
            answer = recv(resp_fd)
        except (EOFError, BrokenPipeError):
            raise CandidateError("the candidate process ended before answering") from None
        if type(answer) is not dict:
            raise PlainDataError("malformed answer from the candidate")
        if "ok" in answer:
            result = decode(answer["ok"])
            after = decode(answer["after"]) if "after" in answer else None
            if type(after) is list and len(after) == len(args):
                for target, new in zip(args, after, strict=True):
                    _sync(target, new)
            return result
        name, msg = str(answer.get("err", "CandidateError")), str(answer.get("msg", ""))
        kind = getattr(builtins, name, None)
        if isinstance(kind, type) and issubclass(kind, Exception):
            raise kind(msg)
        raise CandidateError(f"{name}: {msg}")

    return candidate


class _Unsupported(Exception):
    """The check cannot be run across the process boundary."""


def _compile_prelude(prelude: str) -> Any:
    """The prompt as code; a prompt that ends at a bare signature gets a ``pass`` body."""
    try:
        return compile(prelude, "prompt.py", "exec", dont_inherit=True)
    except SyntaxError:
        return compile(prelude.rstrip("\n") + "\n    pass\n", "prompt.py", "exec",
                       dont_inherit=True)


def _check(cfg: dict[str, Any]) -> None:
    """The checker: the trusted test against the candidate proxy; the verdict on the status fd."""
    import os

    status = cfg["fds"]["status"]
    entry = cfg["entry_point"]
    g: dict[str, object] = {"__name__": "__checker__"}
    try:
        exec(_compile_prelude(cfg["prelude"]), g)
        exec(compile(cfg["test"], "test.py", "exec", dont_inherit=True), g)
        check = g["check"]
    except BaseException as exc:  # noqa: BLE001 - bad dataset code is an error, not a fail
        _print_exception(exc)
        os.write(status, b'{"v": "error", "why": "the test code did not load"}\n')
        os._exit(0)
    proxy = _proxy(cfg["fds"]["req"], cfg["fds"]["resp"])
    g[entry] = proxy
    import json

    try:
        check(proxy)  # type: ignore[operator]
        verdict = {"v": "pass", "why": ""}
    except _Unsupported as exc:
        verdict = {"v": "error", "why": str(exc)}
    except BaseException as exc:  # noqa: BLE001 - any exception of the check is a fail
        _print_exception(exc)
        verdict = {"v": "fail", "why": f"{type(exc).__name__}: {exc}"[:300]}
    os.write(status, json.dumps(verdict).encode() + b"\n")
    os._exit(0)


def _main() -> None:
    import json
    import os

    raw = b""
    while chunk := os.read(0, 1 << 20):
        raw += chunk
    cfg = json.loads(raw.decode("utf-8", errors="surrogatepass"))
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    del raw
    import ctypes  # noqa: F401 - loaded before the address-space limit and the filter
    import traceback  # noqa: F401

    try:
        confine(cfg)
    except BaseException as exc:  # noqa: BLE001 - no confinement, no run
        print(f"benchgate sandbox: confinement failed: {exc!r}", file=sys.stderr)
        os._exit(70)
    os.write(cfg["fds"]["status"], b"R\n")
    role = cfg["role"]
    if role == "candidate":
        _serve(cfg)
    elif role == "checker":
        _check(cfg)
    else:
        os.close(cfg["fds"]["status"])
        _run_program(cfg["source"])


if __name__ == "__main__":
    _main()
