"""The in-sandbox half of :mod:`benchgate.sandbox`: limits, guard and the unforgeable sentinel.

Never imported by the suite: ``sandbox.py`` passes this source to ``python -I -S -c``, so it
runs inside the sandbox before the untrusted program, which it reads from ``main.py`` in the
sandbox directory. argv: sandbox root, result fd, CPU seconds, address-space bytes, file-size
bytes, ``:``-joined site-packages dirs. stdin carries one line, the per-run token, then EOF.

Sentinel. The result fd receives ``<token> start`` before the program is compiled and
``<token> pass`` only after ``exec`` of the whole program (``check(...)`` is its last
statement) returned normally. No namespace the program can reach holds the token: stdin is
drained before the program starts, and the token lives only as a local of a suspended
generator (``_holder``), whose frame is reachable solely through ``gi_frame`` or
``gc.get_referents``, both denied by the audit hook (a hook cannot be removed from Python).
The generator writes only when its caller chain is exactly hook <- ``_main`` <- the ``-c``
module, which exists only when ``_main`` raises the ``benchgate.done`` event after ``exec``
returned. Resumed from anywhere else (a program that raised the event itself, or found the
generator), it stops for good, so the run cannot pass. It also refuses when a builtin was
rebound or ``__builtins__`` replaced (``builtins.abs = lambda x: 0`` to defeat the asserts of
``check``). ``check`` itself cannot be swapped: the test defines it after the completion.
``sys.exit``, ``os._exit`` or a signal before ``check`` returned leaves no ``pass`` line.
Everything the hook and the generator use is bound before the program runs, and the hook
never calls code the program could have replaced (arguments are type-checked with
``issubclass(type(x), str)`` and handled with unbound ``str`` methods).

Residual risk, documented rather than closed: a Python signal handler receives the frame it
interrupted; timed to fire inside the hook, it can reach the generator, and timed again on
the generator's single resume, its locals. That is a deliberate, racy attack on this harness,
not a model writing wrong or destructive code; return-value tricks (objects whose ``__eq__``
is always true) are out of scope here, as in the reference.

Guard (audit hook; a second layer under the namespaces of ``sandbox.py``, the only one in
its fallback mode): no process creation or signalling (``_posixsubprocess``, whose
``fork_exec`` raises no audit event, is replaced by a stub so ``subprocess``/``asyncio`` still
import), no sockets other than unconnected AF_UNIX pairs, no ctypes or subinterpreters, no
tracing or gc walking, no rlimit changes, chdir, symlinks or hard links, no ``/proc`` (nor
files on its device reached through symlinks such as ``/dev/fd/../mem``); writes, removals,
renames and chmods only inside the sandbox directory, and directories outside it cannot be
opened at all (closing the ``dir_fd`` route). ``os.mkfifo`` and ``os.mknod`` raise no audit
event and are not covered.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Generator
    from types import CodeType, FrameType, ModuleType
    from typing import Any


def _holder(tok: bytes, fd: int, write: Callable[[int, bytes], int],
            getframe: Callable[[int], FrameType], hook_code: CodeType, main_code: CodeType,
            g: dict[str, object], bmod: ModuleType, snap: tuple[tuple[str, object], ...],
            get: Callable[..., object], len_: Callable[[Any], int],
            ) -> Generator[None, None, None]:
    # Only parameters are used: the program can rebind builtins and this module's globals,
    # not the locals of a suspended generator.
    yield
    hook_frame, main_frame = getframe(1), getframe(2)
    if hook_frame.f_code is not hook_code or main_frame.f_code is not main_code:
        return
    module_frame = main_frame.f_back
    if module_frame is None or module_frame.f_back is not None:
        return
    bdict = bmod.__dict__
    if get(g, "__builtins__") is not bmod or len_(bdict) != len_(snap):
        return
    for key, value in snap:
        if get(bdict, key, snap) is not value:
            return
    write(fd, tok + b" pass\n")


def _make_hook(root: str, box: list[Generator[None, None, None]],
               stat: Callable[[str], object]) -> Callable[[str, tuple[object, ...]], None]:
    """Build the audit hook; ``box`` receives the sentinel generator afterwards."""
    import posix

    deny_always = frozenset({
        "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.exec", "os.system",
        "subprocess.Popen", "os.kill", "os.killpg", "os.startfile", "pty.spawn",
        "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
        "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
        "socket.getnameinfo", "socket.sethostname", "sys._current_frames", "sys.settrace",
        "sys.setprofile", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
        "resource.setrlimit", "resource.prlimit", "os.chdir", "os.symlink", "os.link",
        "sqlite3.enable_load_extension",
    })
    deny_imports = frozenset({
        "ctypes", "_ctypes", "_posixsubprocess", "_testcapi", "_testinternalcapi",
        "_xxsubinterpreters", "_xxinterpchannels",
    })
    # event -> (positions of path arguments, positions of dir_fd arguments)
    fs_events = {
        "os.mkdir": ((0,), (2,)), "os.remove": ((0,), (1,)), "os.rmdir": ((0,), (1,)),
        "os.rename": ((0, 1), (2, 3)), "os.chmod": ((0,), (2,)), "os.chown": ((0,), (3,)),
        "os.utime": ((0,), (3,)), "os.truncate": ((0,), ()), "sqlite3.connect": ((0,), ()),
    }
    wbits = posix.O_WRONLY | posix.O_RDWR | posix.O_CREAT | posix.O_TRUNC | posix.O_APPEND
    prefix = root + "/"
    af_unix = 1  # AF_UNIX on Linux
    devices = ("/dev/null", "/dev/stdout", "/dev/stderr")
    try:
        proc_dev = getattr(stat("/proc"), "st_dev", -1)
    except OSError:
        proc_dev = -1
    subclass, typeof, str_, bytes_, int_, len_ = issubclass, type, str, bytes, int, len
    getattr_, denied, import_error, stop = getattr, PermissionError, ImportError, StopIteration

    def text(path: object) -> str | None:
        if subclass(typeof(path), bytes_):
            return bytes_.decode(path, "utf-8", "surrogateescape")  # type: ignore[arg-type]
        if subclass(typeof(path), str_):
            return str_.__str__(path)  # type: ignore[arg-type]
        return None

    def resolve(path: str | None) -> str | None:
        # Lexical normalisation against the sandbox root (the cwd, which cannot change).
        if path is None:
            return None
        if not path.startswith("/"):
            path = prefix + path
        parts: list[str] = []
        for part in path.split("/"):
            if part == "..":
                if parts:
                    parts.pop()
            elif part and part != ".":
                parts.append(part)
        return "/" + "/".join(parts)

    def inside(norm: str | None) -> bool:
        return norm is not None and (norm == root or norm.startswith(prefix))

    def check_open(path: object, flags: object) -> None:
        if subclass(typeof(path), int_):
            return
        raw = text(path)
        norm = resolve(raw)
        if raw is None or norm is None or norm == "/proc" or norm.startswith("/proc/"):
            raise denied("benchgate sandbox: cannot open this path")
        if inside(norm) or norm in devices:
            return
        if typeof(flags) is not int_ or flags & wbits:  # type: ignore[operator]
            raise denied("benchgate sandbox: write outside the sandbox directory")
        try:  # the kernel's view: symlinks such as /dev/fd/../mem lead into /proc too
            st = stat(raw)
        except OSError:
            return
        mode = getattr_(st, "st_mode", 0)
        if getattr_(st, "st_dev", -2) == proc_dev or mode & 0o170000 == 0o040000:
            raise denied("benchgate sandbox: cannot open this path outside the sandbox")

    def check_fs(event: str, args: tuple[object, ...]) -> None:
        paths, dirfds = fs_events[event]
        for pos in dirfds:
            if pos < len_(args) and args[pos] is not None and args[pos] != -1:
                raise denied("benchgate sandbox: dir_fd is not allowed")
        for pos in paths:
            if pos >= len_(args):
                continue
            arg = args[pos]
            if event == "sqlite3.connect" and typeof(arg) is str_ and arg in ("", ":memory:"):
                continue
            if not inside(resolve(text(arg))):
                raise denied("benchgate sandbox: outside the sandbox directory")

    def hook(event: str, args: tuple[object, ...]) -> None:
        event = str_.__str__(event)
        if event in deny_always:
            raise denied("benchgate sandbox: " + event + " is not allowed")
        if event == "open":
            check_open(args[0], args[2])
        elif event == "socket.__new__":
            # socketpair()-style AF_UNIX sockets (asyncio's self-pipe) only: connect, bind,
            # sendto and sendmsg are denied for every family.
            if len_(args) < 2 or typeof(args[1]) is not int_ or args[1] != af_unix:
                raise denied("benchgate sandbox: sockets are not allowed")
        elif event in fs_events:
            check_fs(event, args)
        elif event == "import":
            if typeof(args[0]) is not str_ or args[0] in deny_imports:
                raise import_error("benchgate sandbox: this import is not allowed")
        elif event == "object.__getattr__":
            if args and box and args[0] is box[0]:
                raise denied("benchgate sandbox: not allowed")
        elif event.startswith("ctypes."):
            raise denied("benchgate sandbox: ctypes is not allowed")
        elif event == "benchgate.done" and box:
            try:
                box[0].send(None)
            except stop:
                pass

    return hook


def _limits(cpu_s: int, as_bytes: int, fsize: int) -> None:
    import resource

    for name, value in (("RLIMIT_CPU", cpu_s), ("RLIMIT_AS", as_bytes),
                        ("RLIMIT_FSIZE", fsize), ("RLIMIT_CORE", 0), ("RLIMIT_NOFILE", 256)):
        limit = getattr(resource, name, None)
        if limit is not None:
            _, hard = resource.getrlimit(limit)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(limit, (value, value))


def _stub_process_spawning() -> None:
    # _posixsubprocess.fork_exec raises no audit event, so the real module must never load
    # (its import is denied); this stand-in keeps ``import subprocess``/``asyncio`` working.
    def fork_exec(*args: object) -> None:
        raise PermissionError("benchgate sandbox: process creation is not allowed")

    stub = type(sys)("_posixsubprocess")
    stub.fork_exec = fork_exec  # type: ignore[attr-defined]
    sys.modules["_posixsubprocess"] = stub


def _read_token() -> bytes:
    # A helper, so that no stray local of _main (a read buffer) keeps a copy of the token.
    import posix

    tok = b""
    while not tok.endswith(b"\n"):
        chunk = posix.read(0, 64)
        if not chunk:
            posix._exit(3)
        tok += chunk
    return tok.strip()


def _main() -> None:
    import builtins
    import posix

    audit, getframe, write, exit_ = sys.audit, sys._getframe, posix.write, posix._exit
    root, fd = sys.argv[1], int(sys.argv[2])
    tok = _read_token()
    _limits(int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    sys.path.extend(p for p in sys.argv[6].split(":") if p)
    sys.argv[:] = ["main.py"]
    with open(root + "/main.py", "rb") as f:
        source = f.read()
    g: dict[str, object] = {"__name__": "__sandbox__", "__builtins__": builtins}
    box: list[Generator[None, None, None]] = []
    hook = _make_hook(root, box, posix.stat)
    snap = tuple(builtins.__dict__.items())
    box.append(_holder(tok, fd, write, getframe, hook.__code__,  # type: ignore[attr-defined]
                       getframe(0).f_code, g, builtins, snap, dict.get, len))
    next(box[0])
    sys.addaudithook(hook)
    _stub_process_spawning()
    write(fd, tok + b" start\n")
    del tok, hook, box, snap
    try:
        exec(compile(source, "main.py", "exec", dont_inherit=True, optimize=0), g)
    except BaseException as exc:  # noqa: BLE001 - SystemExit before check() fails too
        try:
            import traceback

            sys.stdout.flush()
            traceback.print_exception(exc)
            sys.stderr.flush()
        finally:
            exit_(1)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001
        exit_(1)
    audit("benchgate.done")
    exit_(0)


if __name__ == "__main__":
    _main()
