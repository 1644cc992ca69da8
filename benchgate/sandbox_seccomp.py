"""The seccomp filter of :mod:`benchgate.sandbox`, compiled by libseccomp (through ctypes).

libseccomp (Debian ``libseccomp2``, a dependency of apt and systemd, so present on every
Debian-like machine) owns the per-architecture syscall tables, the architecture check and the
x32 ABI trap, which a hand-written BPF program would have to keep right by hand. The filter is
exported as raw classic BPF (``seccomp_export_bpf``) once per process and loaded inside the
sandbox by ``sandbox_child.py`` before any untrusted byte is compiled (a filter cannot be
lifted once loaded, and it is inherited by every thread). It is an allow-by-default filter
with a deny list: the sandbox's mount, PID, network and IPC namespaces already hide the host,
so the filter's job is to close the kernel interfaces that reach past them or that would let
the program start anything new:

* no new programs and no new processes: ``execve``/``execveat``, ``fork``/``vfork``, and
  ``clone`` unless it makes a thread (``CLONE_THREAD`` set, no ``CLONE_NEW*`` flag);
  ``clone3`` answers ENOSYS, so glibc falls back to ``clone`` for threads;
* no sockets at all (``socket``, ``connect``, ``bind``, ``listen``, ``accept``); only
  ``socketpair`` stays, which makes an already connected pair (asyncio's self-pipe);
* no debugging or memory access of other processes (``ptrace``, ``process_vm_*``,
  ``pidfd_*``, ``kcmp``), no namespaces or mounts (``unshare``, ``setns``, ``mount`` and the
  new mount API, ``pivot_root``, ``chroot``), no device nodes (``mknod``), no extended
  attributes, no ``io_uring`` (its operations bypass seccomp), no ``bpf``/``perf``/
  ``userfaultfd``/keyrings/modules/``kexec``, no ``memfd_create`` (unaccounted memory).

Denied calls fail with EPERM (ENOSYS for ``clone3``) instead of killing the process, so the
program sees an ordinary ``PermissionError`` and its run ends as a plain failure.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os

SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_MASKED_EQ = 7
CLONE_THREAD = 0x00010000
CLONE_NEW_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                   0x40000000)  # NEWNS NEWCGROUP NEWUTS NEWIPC NEWUSER NEWPID NEWNET

DENIED = (
    "execve", "execveat", "fork", "vfork", "ptrace", "process_vm_readv", "process_vm_writev",
    "pidfd_open", "pidfd_getfd", "pidfd_send_signal", "kcmp", "socket", "connect", "bind",
    "listen", "accept", "accept4", "mount", "umount", "umount2", "mount_setattr", "move_mount",
    "open_tree", "fsopen", "fsconfig", "fsmount", "fspick", "pivot_root", "chroot", "unshare",
    "setns", "mknod", "mknodat", "setxattr", "lsetxattr", "fsetxattr", "removexattr",
    "lremovexattr", "fremovexattr", "io_uring_setup", "io_uring_enter", "io_uring_register",
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key", "kexec_load",
    "kexec_file_load", "init_module", "finit_module", "delete_module", "reboot", "swapon",
    "swapoff", "acct", "quotactl", "quotactl_fd", "open_by_handle_at", "name_to_handle_at",
    "fanotify_init", "memfd_create", "memfd_secret", "personality", "syslog", "vhangup",
    "iopl", "ioperm", "modify_ldt", "uselib", "lookup_dcookie", "settimeofday",
    "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname",
    "migrate_pages", "move_pages", "nfsservctl",
)


class SeccompUnavailable(RuntimeError):
    """libseccomp is missing or refused to build the filter."""


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def _errno_action(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


@functools.cache
def _lib() -> ctypes.CDLL:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError:
        raise SeccompUnavailable("libseccomp2 (libseccomp.so.2) not found") from None
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                           ctypes.c_uint, ctypes.POINTER(_ArgCmp)]
    lib.seccomp_export_bpf.argtypes = [ctypes.c_void_p, ctypes.c_int]
    return lib


def _add(lib: ctypes.CDLL, ctx: int, action: int, name: str, *cmps: _ArgCmp) -> None:
    nr = lib.seccomp_syscall_resolve_name(name.encode())
    if nr < 0:  # not a syscall on this architecture (e.g. fork on aarch64)
        return
    array = (_ArgCmp * max(1, len(cmps)))(*cmps)
    rc = lib.seccomp_rule_add_array(ctx, action, nr, len(cmps), array)
    if rc < 0:
        raise SeccompUnavailable(f"libseccomp refused the rule for {name}: {os.strerror(-rc)}")


@functools.cache
def filter_bpf() -> bytes:
    """The sandbox's filter as raw ``struct sock_filter`` records (cached per process)."""
    lib = _lib()
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        raise SeccompUnavailable("seccomp_init failed")
    try:
        deny = _errno_action(errno.EPERM)
        for name in DENIED:
            _add(lib, ctx, deny, name)
        _add(lib, ctx, _errno_action(errno.ENOSYS), "clone3")
        _add(lib, ctx, deny, "clone", _ArgCmp(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0))
        for flag in CLONE_NEW_FLAGS:
            _add(lib, ctx, deny, "clone", _ArgCmp(0, SCMP_CMP_MASKED_EQ, flag, flag))
        read_fd, write_fd = os.pipe()
        try:
            rc = lib.seccomp_export_bpf(ctx, write_fd)
            os.close(write_fd)
            write_fd = -1
            if rc < 0:
                raise SeccompUnavailable(f"seccomp_export_bpf failed: {os.strerror(-rc)}")
            chunks = []
            while chunk := os.read(read_fd, 65536):
                chunks.append(chunk)
        finally:
            os.close(read_fd)
            if write_fd >= 0:
                os.close(write_fd)
    finally:
        lib.seccomp_release(ctx)
    program = b"".join(chunks)
    if not program or len(program) % 8:
        raise SeccompUnavailable("libseccomp exported an empty or malformed filter")
    return program
