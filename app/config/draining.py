"""Drain a listening socket without resetting a connection (Linux).

Why: a replica being replaced must stop taking connections *before* it
stops listening. Closing a listening socket resets every connection still
waiting in its accept queue; the reverse proxy has already sent a request on
such a connection and, rightly, never resends a write (POST) it sent, so the
client would get a 502. Refusing new connections by closing first only
shrinks that window to an instant.

The order that leaves no window:
1. ``refuse_new_connections``: a socket filter on the listener drops every
   new SYN. A client (the proxy) that connects now sends nothing: its
   connect times out or, once the listener is gone, is refused, and the
   proxy tries another replica, writes included (nothing was sent).
   Handshakes already under way still complete.
2. Keep accepting until ``accept_queue_length`` has stayed 0 for a moment
   (``wait_until_drained``): every connection made before step 1 is served.
3. Only then stop accepting and close (gunicorn's graceful exit).

Unprivileged: a classic BPF socket filter needs no capability, so it works
in a container with every capability dropped.
"""
from __future__ import annotations

import ctypes
import socket
import struct
import time
from collections.abc import Iterable

SO_ATTACH_FILTER = getattr(socket, "SO_ATTACH_FILTER", 26)

#: Classic BPF, run on the TCP header of each segment reaching the listener:
#: drop a segment whose flags have SYN without ACK (a new connection),
#: keep everything else (handshakes completing, data).
_TCP_FLAGS_OFFSET = 13
_SYN, _ACK = 0x02, 0x10
_SYN_DROP_PROGRAM = (
    # (code, jump if true, jump if false, k)
    (0x30, 0, 0, _TCP_FLAGS_OFFSET),  # ldb [13]       A = TCP flags
    (0x54, 0, 0, _SYN | _ACK),        # and #SYN|ACK
    (0x15, 0, 1, _SYN),               # jeq #SYN       only SYN set?
    (0x06, 0, 0, 0),                  # ret #0         yes: drop
    (0x06, 0, 0, 0xFFFFFFFF),         # ret #-1        no: keep the whole segment
)

# struct tcp_info: for a listening socket, tcpi_unacked is the number of
# established connections waiting to be accepted (the kernel's sk_ack_backlog).
_TCP_INFO_SIZE = 104
_TCPI_UNACKED_OFFSET = 24


def refuse_new_connections(listener: socket.socket) -> None:
    """Drop every new connection attempt to ``listener`` from now on.

    Raises OSError where socket filters are not supported (not Linux).
    """
    program = (ctypes.c_uint64 * len(_SYN_DROP_PROGRAM))()
    packed = b"".join(struct.pack("HBBI", *instruction) for instruction in _SYN_DROP_PROGRAM)
    ctypes.memmove(program, packed, len(packed))
    # struct sock_fprog { unsigned short len; struct sock_filter *filter; }
    # (the kernel copies the instructions during the call)
    fprog = struct.pack("HL", len(_SYN_DROP_PROGRAM), ctypes.addressof(program))
    listener.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)


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
