"""Reading a socket option on the server's side of a connection, in the server's own process.

Linux's ``pidfd_getfd`` copies a file descriptor out of another process (for a process of the same
user that one may trace): the test finds, among the server process's sockets, the one whose peer is
the test's client socket, and asks it with ``getsockopt``. Where the system does not allow this, the
test is skipped with the reason.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket
import sys
import time
from pathlib import Path

import pytest

__all__ = ["accepted_socket_option"]

_PIDFD_GETFD = 438  # the system call's number, the same on x86-64 and arm64


def _copy_descriptor(pidfd: int, descriptor: int) -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    copied = int(libc.syscall(_PIDFD_GETFD, pidfd, descriptor, 0))
    if copied < 0:
        code = ctypes.get_errno()
        if code in (errno.ENOSYS, errno.EPERM):
            pytest.skip(f"pidfd_getfd is not allowed here ({errno.errorcode[code]}): cannot read the server's socket")
        raise OSError(code, os.strerror(code))
    return copied


def accepted_socket_option(
    pid: int, client: socket.socket, level: int, option: int, *, expected: int, timeout: float = 30
) -> int | None:
    """``getsockopt(level, option)`` on the socket process ``pid`` accepted for ``client``'s connection, read
    until it is ``expected`` or ``timeout`` s have passed (a server sets its options just after accepting a
    connection, so the first reads may come too early); the last value read, None if never accepted."""
    if not sys.platform.startswith("linux") or not hasattr(os, "pidfd_open"):
        pytest.skip("reading another process's socket needs Linux's pidfd_getfd")
    deadline = time.monotonic() + timeout
    while True:
        value = _option_of_accepted(pid, client.getsockname(), level, option)
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def _option_of_accepted(pid: int, wanted: tuple[str, int], level: int, option: int) -> int | None:
    pidfd = os.pidfd_open(pid)
    try:
        for descriptor in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if not str(descriptor.readlink()).startswith("socket:"):
                    continue
            except FileNotFoundError:
                continue  # closed meanwhile
            try:
                copied = _copy_descriptor(pidfd, int(descriptor.name))
            except OSError:
                continue  # closed since it was listed
            try:
                server_side = socket.socket(fileno=copied)
            except OSError:
                os.close(copied)
                continue  # reused by something that is not a socket since it was listed
            with server_side:
                try:
                    peer = server_side.getpeername()
                except OSError:
                    continue  # a listening or unconnected socket
                if peer[:2] == wanted[:2]:
                    return server_side.getsockopt(level, option)
    finally:
        os.close(pidfd)
    return None
