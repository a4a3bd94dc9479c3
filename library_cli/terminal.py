"""An interactive session over a Docker stream: the local terminal in raw mode, keystrokes
to the container, its output to the screen, the window size followed (as `docker run -it`).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import sys
import termios
import tty
from collections.abc import Callable, Iterator
from typing import Any


def interactive() -> bool:
    """A terminal on both ends: the session can be interactive."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def raw_socket(response: Any) -> Any:
    """The connection under a hijacked HTTP response (attach, exec start) of any transport:
    unix, tcp, TLS, or the ssh command connection (docker_engine.py). The caller keeps `response`
    referenced while it uses the socket: the connection closes with it."""
    return response.raw._fp.fp.raw._sock


@contextlib.contextmanager
def _raw_terminal(fd: int) -> Iterator[None]:
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def pump(sock: Any, resize: Callable[[int, int], None]) -> None:
    """Copy stdin to `sock` and `sock` to stdout until the container's side closes; `resize(height,
    width)` is called now and on every SIGWINCH."""

    def on_winch(*_: Any) -> None:
        size = shutil.get_terminal_size()
        with contextlib.suppress(Exception):  # the session may have just ended
            resize(size.lines, size.columns)

    sock.settimeout(None)
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()
    previous = signal.signal(signal.SIGWINCH, on_winch)
    on_winch()
    try:
        with _raw_terminal(stdin):
            reading = [stdin, sock]
            while True:
                ready, _, _ = select.select(reading, [], [])
                if sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    os.write(stdout, data)
                if stdin in ready:
                    data = os.read(stdin, 4096)
                    if data:
                        sock.sendall(data)
                    else:
                        reading = [sock]
    finally:
        signal.signal(signal.SIGWINCH, previous)
        with contextlib.suppress(OSError):
            sock.close()
