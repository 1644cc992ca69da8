"""The in-sandbox half of :mod:`benchgate.sandbox`: confinement, then one role.

``sandbox.py`` runs this source with ``python -I -S -c`` inside bubblewrap. stdin carries one
JSON object (the configuration, then EOF); it is read whole before anything else, then stdin
is pointed at ``/dev/null``. Before any untrusted byte is compiled this code

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
  the answer fd. Everything crosses as plain data in the tagged encoding below;
* ``checker``: run the trusted prelude (the prompt: helper functions the tests use) and the
  test (``def check(candidate)``), bind the entry point name to a proxy that calls the
  candidate across the pipes, call ``check(proxy)`` and write the verdict on the status fd.
  The candidate is another process in another sandbox: nothing it does to its own
  interpreter (``os._exit(0)``, printed tokens, patched builtins, reading its own memory)
  reaches the checker, and what it returns is decoded into fresh builtin objects, so an
  object with an always-true ``__eq__`` cannot even be sent.

Encoding (:func:`encode` / :func:`decode`): JSON whose strings are ``str``, ``null``/
``true``/``false`` are None/bools, JSON arrays are lists, and every other value is a
one-key object: ``{"i": hex}`` int, ``{"f": float.hex}`` float (inf and nan included),
``{"c": [re, im]}`` complex, ``{"b": hex}`` bytes, ``{"t": [...]}`` tuple, ``{"d": [[k, v],
...]}`` dict, ``{"s": [...]}`` set, ``{"fs": [...]}`` frozenset. Only exact builtin types are
encoded (subclasses are not plain data); decoding accepts nothing else. Frames are a 4-byte
big-endian length and the JSON text, at most 64 MiB.

Mutable arguments: after each call the candidate sends the arguments back, and the proxy
copies their new contents into the checker's top-level list, dict and set arguments, so a
check that inspects an argument after the call sees what an in-process call would show.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_FRAME = 64 * 1024 * 1024
PR_SET_NO_NEW_PRIVS, PR_GET_SECCOMP, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 21, 22, 2


class PlainDataError(TypeError):
    """A value that is not plain data (or a malformed encoding of one)."""


def encode(value: object, depth: int = 0) -> object:
    """``value`` (exact builtin types only) as JSON-ready data; raises :class:`PlainDataError`."""
    if depth > 200:
        raise PlainDataError("nested too deeply")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return {"i": format(value, "x")}  # type: ignore[arg-type]
    if kind is float:
        return {"f": float.hex(value)}  # type: ignore[arg-type]
    if kind is complex:
        return {"c": [float.hex(value.real), float.hex(value.imag)]}  # type: ignore[attr-defined]
    if kind is bytes:
        return {"b": bytes.hex(value)}  # type: ignore[arg-type]
    if kind is list:
        return [encode(v, depth + 1) for v in value]  # type: ignore[attr-defined]
    if kind is tuple:
        return {"t": [encode(v, depth + 1) for v in value]}  # type: ignore[attr-defined]
    if kind is dict:
        pairs: list[tuple[object, object]] = list(dict.items(value))  # type: ignore[arg-type]
        return {"d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in pairs]}
    if kind is set or kind is frozenset:
        return {"s" if kind is set else "fs": [encode(v, depth + 1) for v in value]}  # type: ignore[attr-defined]
    raise PlainDataError(f"{kind.__name__} is not plain data")


def _hexint(text: object) -> int:
    if type(text) is not str or not text or len(text) > 1_000_000:
        raise PlainDataError("malformed int")
    return int(text, 16)


def _hexfloat(text: object) -> float:
    if type(text) is not str or len(text) > 64:
        raise PlainDataError("malformed float")
    return float.fromhex(text)


def decode(data: object, depth: int = 0) -> Any:
    """The value :func:`encode` produced ``data`` from; anything else raises PlainDataError."""
    if depth > 200:
        raise PlainDataError("nested too deeply")
    kind = type(data)
    if data is None or kind is bool or kind is str:
        return data
    if kind is list:
        return [decode(v, depth + 1) for v in data]  # type: ignore[attr-defined]
    if kind is not dict or len(data) != 1:  # type: ignore[arg-type]
        raise PlainDataError(f"malformed value of type {kind.__name__}")
    [(tag, body)] = data.items()  # type: ignore[attr-defined]
    try:
        if tag == "i":
            return _hexint(body)
        if tag == "f":
            return _hexfloat(body)
        if tag == "b" and type(body) is str:
            return bytes.fromhex(body)
        if type(body) is not list:
            raise PlainDataError("malformed container")
        if tag == "c" and len(body) == 2:
            return complex(_hexfloat(body[0]), _hexfloat(body[1]))
        if tag == "t":
            return tuple(decode(v, depth + 1) for v in body)
        if tag == "s":
            return {decode(v, depth + 1) for v in body}
        if tag == "fs":
            return frozenset(decode(v, depth + 1) for v in body)
        if tag == "d":
            out = {}
            for pair in body:
                if type(pair) is not list or len(pair) != 2:
                    raise PlainDataError("malformed dict")
                out[decode(pair[0], depth + 1)] = decode(pair[1], depth + 1)
            return out
    except (ValueError, OverflowError, TypeError) as exc:
        if isinstance(exc, PlainDataError):
            raise
        raise PlainDataError(f"malformed value: {exc}") from None
    raise PlainDataError(f"unknown tag {tag!r}")


def send(fd: int, message: object) -> None:
    """Write one frame (``message`` must already be JSON-ready)."""
    import json
    import os

    body = json.dumps(message, ensure_ascii=True, allow_nan=False).encode("ascii")
    if len(body) > MAX_FRAME:
        raise PlainDataError("message too large")
    view = memoryview(len(body).to_bytes(4, "big") + body)
    while view:
        view = view[os.write(fd, view):]


def _read_exact(fd: int, size: int) -> bytes:
    import os

    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the pipe")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv(fd: int) -> Any:
    """Read one frame; raises EOFError when the pipe closed, PlainDataError when malformed."""
    import json

    size = int.from_bytes(_read_exact(fd, 4), "big")
    if size > MAX_FRAME:
        raise PlainDataError("message too large")
    try:
        return json.loads(_read_exact(fd, size).decode("ascii"))
    except (ValueError, RecursionError) as exc:
        raise PlainDataError(f"malformed message: {exc}") from None


# ---------------------------------------------------------------- confinement


def _limits(cfg: dict[str, Any]) -> None:
    import resource

    wanted = {"RLIMIT_CPU": cfg["cpu_s"], "RLIMIT_FSIZE": cfg["fsize"], "RLIMIT_CORE": 0,
              "RLIMIT_NOFILE": 64, "RLIMIT_NPROC": cfg["nproc"], "RLIMIT_AS": cfg["as_bytes"],
              "RLIMIT_MEMLOCK": 0, "RLIMIT_MSGQUEUE": 0}
    for name, value in wanted.items():
        limit = getattr(resource, name, None)
        if limit is None or value is None:
            continue
        _, hard = resource.getrlimit(limit)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(limit, (value, value))


def _drop_root(uid: int, gid: int) -> None:
    import os

    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    try:
        os.setuid(0)
    except PermissionError:
        return
    raise SystemExit("benchgate sandbox: uid 0 could be taken back")


def _seccomp(bpf: bytes) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p, ctypes.c_ulong,
                           ctypes.c_ulong]

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    buf = ctypes.create_string_buffer(bpf, len(bpf))
    prog = Prog(len(bpf) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, None, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")
    if libc.prctl(PR_GET_SECCOMP, 0, None, 0, 0) != SECCOMP_MODE_FILTER:
        raise OSError("seccomp filter mode not reported after loading the filter")


def _confine(cfg: dict[str, Any]) -> None:
    import os

    _limits({**cfg, "as_bytes": None})
    if cfg["drop_to"] is not None:
        _drop_root(*cfg["drop_to"])
    if cfg["sandboxed"] and os.getuid() == 0:
        raise SystemExit("benchgate sandbox: still uid 0")
    try:
        _seccomp(bytes.fromhex(cfg["bpf"]))
    except OSError:
        if cfg["sandboxed"]:
            raise
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (cfg["as_bytes"], cfg["as_bytes"]))


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
    elif type(target) is dict and type(after) is dict:
        target.clear()  # type: ignore[attr-defined]
        target.update(after)  # type: ignore[attr-defined]
    elif type(target) is set and type(after) is set:
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
        _confine(cfg)
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
