"""The bubblewrap command line of :mod:`benchgate.sandbox`: what the sandbox sees and is.

:func:`bwrap_prefix` is the ``bwrap … --`` part of every sandboxed child's argv: new PID,
network, IPC, UTS (and, where possible, cgroup) namespaces; an unprivileged identity
(:func:`unprivileged_args`); ``--die-with-parent`` and a new session; a scrubbed environment;
a read-only root holding only the interpreter, its stdlib and the system shared libraries
(:func:`root_binds`); ``/dev`` reduced to bwrap's minimal set; a private size-capped tmpfs as
cwd, ``HOME`` and ``/tmp``.
"""

from __future__ import annotations

import functools
import os
import sys
import sysconfig
from pathlib import Path

TMPFS_BYTES = 64 * 1024 * 1024


def unprivileged_args() -> list[str]:
    """Without root: a new user namespace as uid/gid 65534, further user namespaces disabled.
    As root: only CAP_SETUID/CAP_SETGID kept, so the child can switch to its per-run uid."""
    if os.geteuid() == 0:
        return ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return ["--unshare-user", "--uid", "65534", "--gid", "65534", "--disable-userns"]


@functools.cache
def root_binds() -> tuple[str, ...]:
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


def bwrap_prefix(bwrap: str) -> list[str]:
    """``bwrap`` (its path) and every option, ending with ``--``: the command follows."""
    return [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", *unprivileged_args(), "--die-with-parent",
            "--new-session", "--clearenv", "--setenv", "HOME", "/tmp", "--setenv", "TMPDIR",
            "/tmp", "--setenv", "LC_ALL", "C.UTF-8", "--setenv", "PATH", "/nonexistent",
            "--hostname", "sandbox", *root_binds(), "--dev", "/dev", "--perms", "1777",
            "--size", str(TMPFS_BYTES), "--tmpfs", "/tmp", "--remount-ro", "/", "--chdir",
            "/tmp", "--"]
