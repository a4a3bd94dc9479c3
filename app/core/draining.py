"""Drain a replica's listening socket before it is stopped (Linux).

New connections are refused (a socket filter drops their SYNs) and the accept
queue is left to empty, so that stopping the replica resets no connection the
proxy has already sent a request on. Run by the deployment's helper container
as ``python -m core.draining --port 8000``: docs/app.md#draining-a-replicas-listener.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import socket
import struct
import sys
import time
from collections.abc import Iterable

SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)
SYS_PIDFD_GETFD = 438  # the same number on every Linux architecture

#: Classic BPF, run on the TCP header of each segment reaching the listener:
#: drop a segment whose flags have SYN without ACK (a new connection),
#: keep everything else (handshakes completing, data).
_TCP_FLAGS_OFFSET = 13
_SYN, _ACK = 0x02, 0x10
_SYN_DROP_PROGRAM = (
    # (code, jump if true, jump if false, k)
    (0x30, 0, 0, _TCP_FLAGS_OFFSET),  # ldb [13]       A = TCP flags
    (0x54, 0, 0, _SYN | _ACK),  # and #SYN|ACK
    (0x15, 0, 1, _SYN),  # jeq #SYN       only SYN set?
    (0x06, 0, 0, 0),  # ret #0         yes: drop
    (0x06, 0, 0, 0xFFFFFFFF),  # ret #-1        no: keep the whole segment
)

# struct tcp_info: for a listening socket, tcpi_unacked is the number of
# established connections waiting to be accepted (the kernel's sk_ack_backlog).
_TCP_INFO_SIZE = 104
_TCPI_UNACKED_OFFSET = 24
_TCP_LISTEN = "0A"


class DrainError(Exception):
    """The listener could not be drained; the message says why."""


def refuse_new_connections(listener: socket.socket) -> None:
    """Drop every new connection attempt to ``listener`` from now on.

    Needs CAP_NET_ADMIN; raises DrainError without it.
    """
    program = (ctypes.c_uint64 * len(_SYN_DROP_PROGRAM))()
    packed = b"".join(struct.pack("HBBI", *instruction) for instruction in _SYN_DROP_PROGRAM)
    ctypes.memmove(program, packed, len(packed))
    # struct sock_fprog { unsigned short len; struct sock_filter *filter; }
    # (the kernel copies the instructions during the call)
    fprog = struct.pack("HL", len(_SYN_DROP_PROGRAM), ctypes.addressof(program))
    try:
        listener.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)
    except PermissionError:
        raise DrainError("attaching a socket filter needs CAP_NET_ADMIN") from None


def accept_queue_length(listener: socket.socket) -> int:
    """Connections established and waiting for accept() on ``listener``."""
    info = listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, _TCP_INFO_SIZE)
    return struct.unpack_from("I", info, _TCPI_UNACKED_OFFSET)[0]


def wait_until_drained(
    listeners: Iterable[socket.socket],
    *,
    quiet_seconds: float = 0.2,
    limit_seconds: float = 5.0,
    poll_seconds: float = 0.02,
) -> bool:
    """Wait until no listener has had a connection waiting for ``quiet_seconds``.

    The quiet period covers handshakes that were under way when new
    connections started being refused (on a container network they complete
    in microseconds). Returns False if ``limit_seconds`` passed first.
    """
    listeners = list(listeners)
    deadline = time.monotonic() + limit_seconds
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        if any(accept_queue_length(listener) for listener in listeners):
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_seconds:
            return True
        time.sleep(poll_seconds)
    return False


def find_listener(port: int, proc: str = "/proc") -> tuple[int, int]:
    """(pid, fd) of a process holding the TCP socket listening on ``port``
    in this network namespace."""
    inodes = set()
    for table in ("net/tcp", "net/tcp6"):
        try:
            with open(os.path.join(proc, table)) as f:
                rows = f.read().splitlines()[1:]
        except FileNotFoundError:
            continue
        for row in rows:
            fields = row.split()
            if fields[3] == _TCP_LISTEN and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        raise DrainError(f"nothing listens on TCP port {port} here")
    for pid in sorted((int(p) for p in os.listdir(proc) if p.isdigit()), reverse=True):
        if pid == os.getpid():
            continue
        fd_dir = os.path.join(proc, str(pid), "fd")
        try:
            for fd in os.listdir(fd_dir):
                if os.readlink(os.path.join(fd_dir, fd)) in inodes:
                    return pid, int(fd)
        except (FileNotFoundError, ProcessLookupError):
            continue  # the process has gone
        except PermissionError:
            raise DrainError(f"cannot read {fd_dir}: needs CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH") from None
    raise DrainError(
        f"no process visible here holds the socket listening on port {port} (share the replica's PID namespace)"
    )


def borrow_socket(pid: int, fd: int) -> socket.socket:
    """The socket behind another process's ``fd`` (pidfd_getfd: the same
    open socket, so a filter attached here applies to its owner)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        borrowed = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if borrowed < 0:
            errno = ctypes.get_errno()
            raise DrainError(f"pidfd_getfd({pid}, {fd}) failed: {os.strerror(errno)}")
    finally:
        os.close(pidfd)
    return socket.socket(fileno=borrowed)


def drain(port: int, *, quiet_seconds: float = 0.2, limit_seconds: float = 10.0) -> dict:
    """Refuse new connections to whatever listens on ``port`` here and wait
    until its accept queue is empty. Returns what was done (for the log)."""
    started = time.monotonic()
    pid, fd = find_listener(port)
    with borrow_socket(pid, fd) as listener:
        refuse_new_connections(listener)
        drained = wait_until_drained([listener], quiet_seconds=quiet_seconds, limit_seconds=limit_seconds)
    return {"port": port, "pid": pid, "drained": drained, "seconds": round(time.monotonic() - started, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.draining", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--quiet-seconds", type=float, default=0.2)
    parser.add_argument("--limit-seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    try:
        result = drain(args.port, quiet_seconds=args.quiet_seconds, limit_seconds=args.limit_seconds)
    except DrainError as error:
        print(json.dumps({"port": args.port, "error": str(error)}), flush=True)
        return 1
    print(json.dumps(result), flush=True)
    return 0 if result["drained"] else 1


if __name__ == "__main__":
    sys.exit(main())
