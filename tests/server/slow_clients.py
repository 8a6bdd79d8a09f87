"""Slow clients on loopback: sockets that send headers and half a POST body, or half the headers
(slowloris), and then say nothing more. Used by the server tests and to measure what they do to
``GET /`` (python -m tests.server.slow_clients HOST PORT [N])."""

from __future__ import annotations

import socket
import ssl
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

_HALF_A_BODY = (
    b"POST /log-ind/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 2000\r\n\r\n" + b"a" * 1000
)
_HALF_THE_HEADERS = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


@contextmanager
def slow_clients(
    host: str,
    port: int,
    *,
    half_bodies: int = 40,
    half_headers: int = 20,
    tls: ssl.SSLContext | None = None,
) -> Iterator[list[socket.socket]]:
    """Open the sockets, send their part, keep them open (and silent) while the block runs."""
    sockets: list[socket.socket] = []
    try:
        for data in [_HALF_A_BODY] * half_bodies + [_HALF_THE_HEADERS] * half_headers:
            s = connect(host, port, timeout=5, tls=tls)
            s.sendall(data)
            sockets.append(s)
        time.sleep(0.5)  # let the server read what they sent (and hand them to its workers)
        yield sockets
    finally:
        for s in sockets:
            with suppress(OSError):
                s.close()


def connect(
    host: str, port: int, *, timeout: float, tls: ssl.SSLContext | None = None
) -> socket.socket:
    s = socket.create_connection((host, port), timeout=timeout)
    return tls.wrap_socket(s, server_hostname=host) if tls else s


def get_root(
    host: str, port: int, *, timeout: float, tls: ssl.SSLContext | None = None
) -> tuple[int | None, float]:
    """``GET /`` on a fresh connection; return (status or None if no answer in time, seconds)."""
    start = time.monotonic()
    with connect(host, port, timeout=timeout, tls=tls) as s:
        s.settimeout(timeout)
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        try:
            first = s.recv(64)
        except TimeoutError:
            return None, time.monotonic() - start
    took = time.monotonic() - start
    if not first.startswith(b"HTTP/1."):
        return None, took
    return int(first.split()[1]), took


if __name__ == "__main__":
    h, p = sys.argv[1], int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    print("idle:", get_root(h, p, timeout=30))
    with slow_clients(h, p, half_bodies=n, half_headers=n // 2):
        print(f"{n} half bodies + {n // 2} half headers:", get_root(h, p, timeout=30))
    time.sleep(0.5)
    print("after they left:", get_root(h, p, timeout=30))
