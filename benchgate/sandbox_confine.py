"""Confinement of a sandboxed child, before any untrusted byte is compiled (part of the
in-sandbox script; stdlib only, nothing imported from benchgate).

:func:`confine` sets the rlimits (CPU, file size, open files, processes, no core dumps, no
locked memory or message queues); under bubblewrap as root, leaves uid 0 for the per-run
unprivileged uid and gid it was given (no supplementary groups) and checks that uid 0 cannot
be taken back; sets ``no_new_privs`` and loads the seccomp filter compiled by
``sandbox_seccomp.py`` (through ctypes: the only way to call ``prctl`` from the stdlib), then
checks the kernel reports seccomp filter mode for this process; last, the address-space limit.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PR_SET_NO_NEW_PRIVS, PR_GET_SECCOMP, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 21, 22, 2


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


def confine(cfg: dict[str, Any]) -> None:
    """Rlimits, leave uid 0, the seccomp filter, then the address-space limit; raises when
    one cannot be had (except the filter of an unsandboxed run, which is best effort)."""
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
