"""The sandbox against real subprocesses: honest programs, hostile programs, the sentinel.

Every hostile program must end cleanly (a non-passing status), within bounded time, and
leave no trace outside its temporary directory. Cases that matter for the audit-hook
fallback also run with ``namespaces=False``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest

from benchgate.sandbox import ExecResult, isolation, run_many, run_program

CHECKED = """
def double(x):
    return {body}


def check(candidate):
    assert candidate(2) == 4
    assert candidate(-3) == -6


check(double)
"""
MODES = [pytest.param(None, id="auto"), pytest.param(False, id="fallback")]


def run(program: str, **kwargs: object) -> ExecResult:
    kwargs.setdefault("timeout_s", 5.0)
    result = run_program(program, **kwargs)  # type: ignore[arg-type]
    assert result.duration_s < float(kwargs["timeout_s"]) + 5  # type: ignore[arg-type]
    return result


def test_passing_program_and_output() -> None:
    result = run(CHECKED.format(body="2 * x") + "\nprint('héllo')")
    assert result.passed and result.status == "passed" and result.returncode == 0
    assert result.stdout == "héllo\n" and result.detail == ""


@pytest.mark.parametrize("program,status,needle", [
    (CHECKED.format(body="x + 2"), "failed", "AssertionError"),
    ("def f(:\n    pass", "failed", "SyntaxError"),
    ("import sys\nsys.exit(0)\n" + CHECKED.format(body="x"), "failed", "SystemExit: 0"),
    ("raise KeyboardInterrupt", "failed", "KeyboardInterrupt"),
    ("x = input()", "failed", "EOFError"),
    ("import os, sys\nsys.stdout.flush()\nos._exit(0)\n" + CHECKED.format(body="x"), "failed", ""),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "failed", "os.kill"),
    ("x = bytearray(10 * 1024 ** 3)", "failed", "MemoryError"),
    ("import ctypes", "failed", "import is not allowed"),
])
def test_programs_that_must_not_pass(program: str, status: str, needle: str) -> None:
    result = run(program)
    assert not result.passed and result.status == status
    assert needle in result.stderr or needle in result.detail


def test_os_exit_zero_before_the_asserts_is_not_a_pass() -> None:
    result = run("import os\nos._exit(0)\n" + CHECKED.format(body="x"))
    assert result.returncode == 0 and result.status == "failed"
    assert "sentinel" in result.detail


def test_infinite_loop_times_out() -> None:
    start = time.monotonic()
    result = run("while True:\n    pass", timeout_s=1.5)
    assert result.status == "timeout" and not result.passed
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("namespaces", MODES)
def test_fork_bomb_and_subprocesses_are_refused(namespaces: bool | None) -> None:
    bomb = "import os\nwhile True:\n    os.fork()"
    spawn = "import subprocess\nsubprocess.run(['sh', '-c', 'echo escaped'])"
    pool = "import multiprocessing as mp\nprint(mp.Pool(2).map(abs, [-1]))"
    for program in (bomb, spawn, pool):
        result = run(program, timeout_s=3, namespaces=namespaces)
        assert not result.passed and "escaped" not in result.stdout
        assert result.status in {"failed", "killed"}


@pytest.mark.parametrize("namespaces", MODES)
def test_no_writes_outside_the_sandbox(tmp_path: Path, namespaces: bool | None) -> None:
    target = tmp_path / "escaped.txt"
    attempts = [
        f"open({str(target)!r}, 'w').write('x')",
        f"open('../../../../../../..{target}', 'w').write('x')",
        f"import os\nfd = os.open({str(tmp_path)!r}, os.O_RDONLY)\n"
        f"os.close(os.open('escaped.txt', os.O_WRONLY | os.O_CREAT, dir_fd=fd))",
        f"import os\nopen('inside', 'w').write('x')\nos.rename('inside', {str(target)!r})",
        f"import shutil\nopen('inside', 'w').write('x')\nshutil.copy('inside', {str(target)!r})",
        f"import os\nos.symlink({str(target)!r}, 'link')\nopen('link', 'w').write('x')",
        f"import os\nos.mkdir({str(tmp_path / 'dir')!r})",
        f"import sqlite3\nsqlite3.connect({str(target)!r}).execute('create table t(x)')",
    ]
    for program in attempts:
        result = run(program, namespaces=namespaces)
        assert not result.passed, program
        assert "benchgate sandbox" in result.stderr, program
    assert sorted(tmp_path.iterdir()) == []


def test_removal_outside_is_refused(tmp_path: Path) -> None:
    keep = tmp_path / "keep.txt"
    keep.write_text("data")
    result = run(f"import os\nos.remove({str(keep)!r})")
    assert not result.passed and keep.read_text() == "data"


def test_fresh_private_directory_removed_afterwards() -> None:
    program = ("import os, tempfile\nopen('scratch.txt', 'w').write('ok')\nprint(os.getcwd(), "
               "os.environ['HOME'], tempfile.gettempdir(), sorted(os.listdir()))")
    result = run(program)
    cwd, home, tmp, listing = result.stdout.split(" ", 3)
    assert result.passed and cwd == home == tmp
    assert listing.strip() == "['main.py', 'scratch.txt']"
    assert not Path(cwd).exists()


@pytest.mark.parametrize("namespaces", MODES)
def test_no_network_to_a_listening_port(namespaces: bool | None) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        port = server.getsockname()[1]
        for module in ("socket", "_socket"):
            program = (f"import {module}\ns = {module}.socket()\n"
                       f"s.connect(('127.0.0.1', {port}))\ns.send(b'hi')")
            result = run(program, namespaces=namespaces)
            assert not result.passed
        unix = "import socket\nsocket.socket(socket.AF_UNIX).connect('/run/any.sock')"
        assert "socket.connect is not allowed" in run(unix, namespaces=namespaces).stderr
        with pytest.raises(BlockingIOError):
            server.accept()


@pytest.mark.parametrize("namespaces", MODES)
def test_cannot_kill_the_parent(namespaces: bool | None) -> None:
    for program in ("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",
                    "import os, signal\nos.killpg(os.getpgid(os.getppid()), signal.SIGKILL)",
                    "import posix\nposix.kill(posix.getppid(), 9)"):
        result = run(program, namespaces=namespaces)
        assert not result.passed and "not allowed" in result.stderr
    # this process is still here to assert it


@pytest.mark.parametrize("namespaces", MODES)
def test_pidfd_signal_to_the_parent_hits_a_throwaway_shell(namespaces: bool | None) -> None:
    # pidfd_send_signal raises no audit event; the program's parent is always a throwaway
    # sh (the PID namespace's init, immune to it, or a plain sh whose death ends the run).
    program = ("import os, signal\nprint(os.getppid(), flush=True)\n"
               "signal.pidfd_send_signal(os.pidfd_open(os.getppid()), signal.SIGKILL)")
    result = run(program, namespaces=namespaces)
    assert int(result.stdout.split()[0]) != os.getpid()
    assert result.status in {"passed", "killed"}


LEGIT = """
import asyncio, collections, dataclasses, doctest, logging, tempfile, threading, typing

async def three():
    return 3

Point = collections.namedtuple("Point", "x y")
box = []
worker = threading.Thread(target=box.append, args=(asyncio.run(three()),))
worker.start()
worker.join()
with tempfile.TemporaryDirectory() as scratch:
    with open(scratch + "/f.txt", "w") as handle:
        handle.write("ok")
logging.getLogger("x").warning("logged")
print(box[0], Point(1, 2).y)
"""


def test_ordinary_stdlib_use_works() -> None:
    result = run(LEGIT)
    assert result.passed, result.stderr
    assert result.stdout == "3 2\n" and "logged" in result.stderr


def test_printing_a_gigabyte_is_cut_short() -> None:
    start = time.monotonic()
    result = run("import sys\nchunk = 'x' * 2**20\nfor _ in range(1024):\n"
                 "    sys.stdout.write(chunk)", output_limit=1000)
    assert result.status == "killed" and result.detail == "output limit exceeded"
    assert result.stdout == "x" * 1000 and time.monotonic() - start < 5


def test_large_but_legal_output_is_truncated() -> None:
    result = run("print('y' * 5000)", output_limit=100)
    assert result.passed and result.stdout == "y" * 100


@pytest.mark.parametrize("prefix", [
    pytest.param("check = lambda candidate: None\n", id="redefine-check-first"),
    pytest.param("import builtins\nbuiltins.check = lambda candidate: None\n",
                 id="builtins-check"),
    pytest.param("import builtins\nbuiltins.AssertionError = None\n", id="rebind-assertion"),
])
def test_check_cannot_be_monkeypatched_away(prefix: str) -> None:
    assert not run(prefix + CHECKED.format(body="x")).passed


@pytest.mark.parametrize("program", [
    pytest.param("import builtins\nbuiltins.abs = lambda x: 0\n"
                 "def check(c):\n    assert abs(c(1) - 5) < 1e-9\ncheck(lambda x: x)",
                 id="rebound-builtin"),
    pytest.param("__builtins__ = {'abs': lambda x: 0}\n"
                 "def check(c):\n    assert abs(c(1) - 5) < 1e-9\ncheck(lambda x: x)",
                 id="replaced-builtins"),
    pytest.param("import sys\nsys.audit('benchgate.done')", id="raises-the-done-event"),
])
def test_tampering_is_not_a_pass(program: str) -> None:
    result = run(program)
    assert not result.passed and result.returncode == 0


FORGER = r"""
import gc, os, re, sys
found = set()

def scan(obj, depth=0):
    try:
        if isinstance(obj, (bytes, bytearray, str)):
            data = obj.encode() if isinstance(obj, str) else bytes(obj)
            found.update(re.findall(rb'[0-9a-f]{32}', data))
        elif depth < 3 and isinstance(obj, (list, tuple, set, frozenset, dict)):
            for item in list(obj.values() if isinstance(obj, dict) else obj):
                scan(item, depth + 1)
        elif depth < 3 and type(getattr(obj, '__closure__', None)) is tuple:
            for cell in obj.__closure__:
                scan(cell.cell_contents, depth + 1)
        elif depth < 3 and hasattr(type(obj), 'gi_frame'):
            scan(obj.gi_frame.f_locals, depth + 1)
    except Exception:
        pass

frame = sys._getframe()
while frame is not None:
    scan(frame.f_locals)
    scan(frame.f_globals)
    frame = frame.f_back
for module in list(sys.modules.values()):
    scan(getattr(module, '__dict__', {}))
for attempt in (gc.get_objects, lambda: open('/proc/self/mem', 'rb'),
                lambda: open('/dev/fd/../environ', 'rb')):
    try:
        scan(attempt())
    except PermissionError:
        pass
for token in found:
    for fd in range(3, 64):
        try:
            os.write(fd, token + b' start\n' + token + b' pass\n')
        except OSError:
            pass
os._exit(0)
"""


def test_sentinel_cannot_be_forged_by_introspection() -> None:
    result = run(FORGER)
    assert result.returncode == 0 and result.status == "failed"


def test_run_many_keeps_order_and_does_not_block_the_loop() -> None:
    programs = [f"import time\ntime.sleep(0.3)\nprint({i})" for i in range(4)]
    programs.append("raise SystemExit(2)")

    async def main() -> tuple[list[ExecResult], int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        results = await run_many(programs, timeout_s=5, parallelism=2)
        task.cancel()
        return results, ticks

    results, ticks = asyncio.run(main())
    assert [r.stdout for r in results[:4]] == [f"{i}\n" for i in range(4)]
    assert [r.passed for r in results] == [True] * 4 + [False]
    assert ticks >= 20
    assert asyncio.run(run_many([])) == []


def test_isolation_is_reported() -> None:
    assert isolation() in {"namespaces", "audit-hook"}
    assert os.path.exists("/proc/self") or isolation() == "audit-hook"
