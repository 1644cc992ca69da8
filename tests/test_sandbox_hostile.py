"""Hostile candidates against the real HumanEval sandbox (bubblewrap + seccomp, two processes).

Each case is a candidate program that would make the item pass if its attack worked: escapes
and reads run at module level and raise when refused, then define a correct ``f``; forgeries
define a wrong ``f`` and try to turn the verdict green anyway. Every case asserts that the
item does not pass and that nothing is observable outside the sandbox: marker files under
``tmp_path`` are not created, listening sockets of this test see no connection or datagram,
secrets do not appear in the output, and no process is left behind.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchgate.sandbox import Check, ExecResult, availability, run_check

pytestmark = pytest.mark.skipif(availability() is not None,
                                reason=f"kernel sandbox unavailable: {availability()}")

REPO = Path(__file__).resolve().parents[1]
TEST = "def check(candidate):\n    assert candidate(2) == 4\n    assert candidate(-3) == -6\n"
RIGHT = "\ndef f(x):\n    return 2 * x\n"
WRONG = "\ndef f(x):\n    return x\n"

SPAWN = {
    "os-system": "import os\nassert os.system('touch {marker}') == 0\n",
    "subprocess-run": "import subprocess\nsubprocess.run(['/bin/sh', '-c', 'touch {marker}'], "
                      "check=True)\n",
    "os-execv": "import os\nos.execv('/bin/sh', ['sh', '-c', 'touch {marker}'])\n",
    "os-posix-spawn": "import os\npid = os.posix_spawn('/bin/sh', ['sh', '-c', 'touch {marker}'],"
                      " {{}})\nassert os.waitpid(pid, 0)[1] == 0\n",
    "posixsubprocess-extension-loader": """
import importlib.machinery, importlib.util, os, sys
path = [p for p in importlib.machinery.EXTENSION_SUFFIXES][0]
origin = next(os.path.join(d, '_posixsubprocess' + path) for d in sys.path
              if os.path.exists(os.path.join(d, '_posixsubprocess' + path)))
loader = importlib.machinery.ExtensionFileLoader('x._posixsubprocess', origin)
spec = importlib.util.spec_from_file_location('x._posixsubprocess', origin, loader=loader)
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
r, w = os.pipe()
pid = mod.fork_exec([b'/bin/sh', b'-c', b'touch {marker}'], [b'/bin/sh'], True, (w,), None,
                    None, -1, -1, -1, -1, -1, -1, r, w, True, False, -1, None, None, None, -1,
                    None, True)
assert os.waitpid(pid, 0)[1] == 0
""",
    "ctypes-execve": """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
argv = (ctypes.c_char_p * 4)(b'sh', b'-c', b'touch {marker}', None)
libc.execve(b'/bin/sh', argv, None)
raise OSError(ctypes.get_errno(), 'execve returned')
""",
    "ctypes-raw-fork-syscall": """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
pid = libc.syscall(57)  # SYS_fork on x86_64; ENOSYS elsewhere
assert pid >= 0, ctypes.get_errno()
if pid == 0:
    open('{marker}', 'w').close()
    os._exit(0)
""",
    "fork-bomb": "import os\nwhile True:\n    os.fork()\n",
    "forkpty": "import os\npid, fd = os.forkpty()\nif pid == 0:\n    os.execv('/bin/sh', ['sh', "
               "'-c', 'touch {marker}'])\n",
    "multiprocessing": "import multiprocessing as mp\nassert mp.Pool(2).map(abs, [-1]) == [1]\n"
                       "open('{marker}', 'w')\n",
}

FORGE = {
    "os-exit-zero": "import os\nos._exit(0)\n",
    "sys-exit-zero": "import sys\nsys.exit(0)\n",
    "print-pass-tokens": "import os\nfor fd in range(1, 256):\n    try:\n        os.write(fd, "
                         "b'R\\n{{\"v\": \"pass\", \"why\": \"\"}}\\n pass\\nOK\\n')\n"
                         "    except OSError:\n        pass\n",
    "patched-builtins": "import builtins\nbuiltins.AssertionError = type('A', (Exception,), {{}})\n"
                        "builtins.abs = lambda x: 0\n__builtins__ = {{}}\n",
    "always-true-eq": "class Yes(list):\n    def __eq__(self, other):\n        return True\n"
                      "WRONG_F = lambda x: Yes()\n",
    "int-subclass-eq": "class I(int):\n    __eq__ = lambda s, o: True\n    __hash__ = int.__hash__"
                       "\nWRONG_F = lambda x: I(0)\n",
    "exit-inside-the-call": "import os\nWRONG_F = lambda x: os._exit(0)\n",
    "memory-and-frames": """
import gc, os, re, sys
seen = set()
for obj in gc.get_objects():
    if isinstance(obj, (bytes, str)):
        seen.update(re.findall(r'[0-9a-f]{{32}}', str(obj)))
for name in ('/proc/self/mem', '/proc/1/mem', '/proc/self/environ'):
    try:
        open(name, 'rb').read(1)
    except OSError:
        pass
f = sys._getframe()
while f is not None:
    f = f.f_back
for fd in range(3, 256):
    try:
        os.write(fd, b'{{"v": "pass", "why": ""}}\\n')
    except OSError:
        pass
""",
    "signal-every-pid": "import os\nfor pid in range(1, 4096):\n    try:\n        os.kill(pid, 9)"
                        "\n    except OSError:\n        pass\n",
    "ptrace-and-process-vm": """
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
for pid in range(1, 64):
    assert libc.ptrace(16, pid, None, None) != 0  # PTRACE_ATTACH refused
buf = ctypes.create_string_buffer(8)
assert libc.process_vm_readv(1, None, 0, None, 0, 0) == -1
""",
}

OUTSIDE = {
    "read-secret-file": "print(open('{secret}').read())\n",
    "read-ssh-key": "import os\nprint(open(os.path.expanduser('~/.ssh/id_rsa')).read())\n",
    "read-etc-shadow": "print(open('/etc/shadow').read())\n",
    "read-etc-passwd": "print(open('/etc/passwd').read())\n",
    "sqlite-uri-rw": "import sqlite3\ndb = sqlite3.connect('file:{db}?mode=rw', uri=True)\n"
                     "db.execute(\"update t set v = 'pwned'\")\ndb.commit()\n",
    "mknod-fifo-in-cwd": "import os, stat\nos.mknod('node', stat.S_IFIFO | 0o600)\n",
    "mknod-outside": "import os, stat\nos.mknod('{marker}', stat.S_IFIFO | 0o600)\n",
    "write-into-repo": "open('{repo_marker}', 'w').write('x')\n",
    "makedirs-into-repo": "import os\nos.makedirs('{repo_dir}', exist_ok=True)\n"
                          "open('{repo_marker}', 'w').write('x')\n",
    "symlink-out": "import os\nos.symlink('{tmp}', 'out')\nopen('out/escaped', 'w').write('x')\n",
    "write-read-only-root": "open('/usr/lib/escaped', 'w').write('x')\n",
    "other-processes": "import os\nprint(os.listdir('/proc'))\n",
    "dev-shm-write": "open('/dev/shm/x', 'w').write('x')\n",
}

SOCKETS = {
    "tcp-connect": "import socket\ns = socket.create_connection(('127.0.0.1', {tcp}), 2)\n"
                   "s.sendall(b'hi')\n",
    "udp-sendto": "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
                  "s.sendto(b'hi', ('127.0.0.1', {udp}))\n",
    "unix-filesystem": "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect('{unix}')\n",
    "unix-abstract": "import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect('\\0{abstract}')\n",
    "netlink": "import socket\nsocket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)\n",
    "raw-ip": "import socket\nsocket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)\n",
    "ctypes-socket-syscall": "import ctypes\nlibc = ctypes.CDLL(None)\n"
                             "assert libc.socket(2, 1, 0) >= 0\n",
}

EXHAUST = {
    "memory": "x = bytearray(8 * 1024 ** 3)\n",
    "disk-fill-tmp": "import os\nchunk = b'x' * (1 << 20)\nfor i in range(2048):\n"
                     "    with open(f'/tmp/fill{{i}}', 'wb') as h:\n        h.write(chunk)\n",
    "output-flood": "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)\n",
    "infinite-loop": "while True:\n    pass\n",
    "many-threads": "import threading, time\nts = [threading.Thread(target=time.sleep, args=(30,))"
                    " for _ in range(5000)]\nfor t in ts:\n    t.start()\n",
    "huge-result": "WRONG_F = lambda x: list(range(10 ** 8))\n",
}


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, object]]:
    """Markers, a secret, a database and listening sockets the sandbox must not reach."""
    secret = "SECRET-" + secrets.token_hex(8)
    (tmp_path / "secret.txt").write_text(secret)
    db = tmp_path / "cache.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("create table t(v)")
        conn.execute("insert into t values ('original')")
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(tmp_path / "s.sock"))
    unix.listen()
    abstract_name = "benchgate-test-" + secrets.token_hex(6)
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind("\0" + abstract_name)
    abstract.listen()
    listeners = [tcp, udp, unix, abstract]
    for s in listeners:
        s.setblocking(False)
    repo_dir = REPO / f".sandbox-escape-{secrets.token_hex(4)}"
    values: dict[str, object] = {
        "marker": tmp_path / "escaped", "secret": tmp_path / "secret.txt", "secret_text": secret,
        "db": db, "tmp": tmp_path, "repo_dir": repo_dir, "repo_marker": repo_dir / "m",
        "tcp": tcp.getsockname()[1], "udp": udp.getsockname()[1], "unix": tmp_path / "s.sock",
        "abstract": abstract_name, "listeners": listeners}
    try:
        yield values
    finally:
        for s in listeners:
            s.close()
        shutil.rmtree(repo_dir, ignore_errors=True)


def _children() -> list[str]:
    pid = os.getpid()
    kids: list[str] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += (task / "children").read_text().split()
    return kids


def _assert_nothing_outside(env: dict[str, object], result: ExecResult, tmp: Path) -> None:
    assert not Path(str(env["marker"])).exists()
    assert not Path(str(env["repo_dir"])).exists()
    assert sorted(p.name for p in tmp.iterdir()) == ["cache.sqlite", "s.sock", "secret.txt"]
    with sqlite3.connect(str(env["db"])) as conn:
        assert conn.execute("select v from t").fetchall() == [("original",)]
    seen = result.stdout + result.stderr + result.detail
    assert str(env["secret_text"]) not in seen
    assert "root:" not in seen  # /etc/passwd or /etc/shadow
    listeners = env["listeners"]
    assert isinstance(listeners, list)
    for s in listeners:
        with pytest.raises(BlockingIOError):
            s.recv(1) if s.type == socket.SOCK_DGRAM else s.accept()
    assert _children() == []  # no process of the run survives


CASES = ([pytest.param(code, RIGHT, id=f"spawn-{k}") for k, code in SPAWN.items()]
         + [pytest.param(code, WRONG, id=f"forge-{k}") for k, code in FORGE.items()]
         + [pytest.param(code, RIGHT, id=f"outside-{k}") for k, code in OUTSIDE.items()]
         + [pytest.param(code, RIGHT, id=f"socket-{k}") for k, code in SOCKETS.items()]
         + [pytest.param(code, RIGHT, id=f"exhaust-{k}") for k, code in EXHAUST.items()])


@pytest.mark.parametrize("attack,tail", CASES)
def test_hostile_candidate_fails_and_leaves_no_trace(attack: str, tail: str,
                                                     env: dict[str, object],
                                                     tmp_path: Path) -> None:
    source = attack.format(**{k: v for k, v in env.items() if k != "listeners"})
    if "WRONG_F" in source:
        tail = "\nf = WRONG_F\n"
    disk_before = shutil.disk_usage("/tmp").used
    start = time.monotonic()
    result = run_check(Check(source + tail, TEST, "f"), timeout_s=3.0, output_limit=2000)
    assert time.monotonic() - start < 10
    assert not result.passed, (result.status, result.detail, result.stderr[-500:])
    assert result.status in {"failed", "timeout", "killed"}, (result.status, result.detail)
    _assert_nothing_outside(env, result, tmp_path)
    assert shutil.disk_usage("/tmp").used - disk_before < 32 * 1024 * 1024


def test_the_table_is_wide() -> None:
    assert len(CASES) >= 25


def test_the_same_candidate_honest_passes() -> None:
    # The harness around the table is not failing everything.
    assert run_check(Check(RIGHT, TEST, "f")).passed


def test_files_do_not_survive_between_runs() -> None:
    write = run_check(Check("open('/tmp/persist', 'w').write('x')\n" + RIGHT, TEST, "f"))
    assert write.passed
    read = run_check(Check("open('/tmp/persist').read()\n" + RIGHT, TEST, "f"))
    assert not read.passed and "FileNotFoundError" in read.stderr


def test_a_thread_left_running_dies_with_the_run(tmp_path: Path) -> None:
    source = ("import threading, time\n"
              "threading.Thread(target=lambda: time.sleep(60), daemon=False).start()\n" + RIGHT)
    start = time.monotonic()
    result = run_check(Check(source, TEST, "f"), timeout_s=5.0)
    assert result.passed and time.monotonic() - start < 5
    assert _children() == []
