"""A SIP2 (3M Standard Interchange Protocol 2.00) client: framing, checksums, connections.

Our own code on purpose: it shares nothing with the third-party server the tests talk to.
One message is a two-digit command, a fixed-width part, and identified fields ``XXvalue|``;
with error detection on, ``AY<seq>AZ<checksum>`` closes it, then a carriage return.

Every exchange runs against one deadline: connect, login and each read get what is left of it,
never a fresh timeout each. Connections are pooled per endpoint and handed to one thread at a
time; one that failed in any way is closed, never reused (its next bytes could belong to the
answer we gave up on).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import logging
import math
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from biblogin.integrations.library_systems.protocol import (
    BorrowerNotFound,
    LibrarySystemTimeout,
    LibrarySystemUnavailable,
    RequestRefused,
)

logger = logging.getLogger(__name__)

DELIMITER = "|"
MAX_FRAME_BYTES = 256 * 1024
# A caller's "no limit" still ends: an ILS that never answers must not hold a thread forever.
MAX_TIMEOUT_SECONDS = 60.0
# Idle connections older than this are closed rather than reused: ILSs drop idle sessions.
MAX_IDLE_SECONDS = 60.0
MAX_IDLE_PER_ENDPOINT = 4


class Sip2Timeout(LibrarySystemTimeout):
    """The SIP2 server did not answer within the caller's timeout."""


class Sip2Unreachable(LibrarySystemUnavailable):
    """The SIP2 server could not be reached, or dropped the connection."""


class Sip2MalformedAnswer(LibrarySystemUnavailable):
    """The SIP2 server answered something that is not the SIP2 message we asked for."""


class Sip2LoginRefused(LibrarySystemUnavailable):
    """The SIP2 server refused our login (93): the registry's credentials are wrong."""


@dataclass(frozen=True)
class Sip2Endpoint:
    """Where and how to reach one library's SIP2 server (from the registry)."""

    host: str
    port: int
    institution_id: str
    login_user: str = ""
    login_password: str = field(default="", repr=False)
    location_code: str = ""
    encoding: str = "cp850"
    error_detection: bool = True

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Sip2Message:
    """One decoded SIP2 message: command, fixed part, identified fields in wire order."""

    command: str
    fixed: str
    fields: tuple[tuple[str, str], ...] = ()

    def first(self, field_id: str) -> str | None:
        for fid, value in self.fields:
            if fid == field_id:
                return value
        return None

    def every(self, field_id: str) -> tuple[str, ...]:
        return tuple(value for fid, value in self.fields if fid == field_id)


def sip2_date(moment: dt.datetime | None = None) -> str:
    """Format a moment as SIP2's 18-character date ``YYYYMMDDZZZZHHMMSS`` (local time)."""
    moment = moment or dt.datetime.now()
    return moment.strftime("%Y%m%d") + "    " + moment.strftime("%H%M%S")


def checksum(data: bytes) -> str:
    """Return SIP2's checksum: the two's complement of the byte sum, four upper-case hex digits."""
    return f"{(-sum(data)) & 0xFFFF:04X}"


def _check_value(value: str, *, encoding: str) -> bytes:
    data = value.encode(encoding)
    if b"|" in data or b"\r" in data or b"\n" in data or b"\x00" in data or len(data) > 255:
        raise ValueError("a SIP2 field value may not hold | CR LF NUL or pass 255 bytes")
    return data


def encode(
    command: str,
    fixed: str,
    fields: list[tuple[str, str]],
    *,
    encoding: str,
    sequence: int | None,
) -> bytes:
    """Build one frame; ``ValueError`` if a value cannot travel in SIP2 (the caller's input)."""
    body = bytearray(command.encode("ascii") + fixed.encode(encoding))
    for field_id, value in fields:
        body += field_id.encode("ascii") + _check_value(value, encoding=encoding) + b"|"
    if sequence is not None:
        body += b"AY" + str(sequence % 10).encode("ascii") + b"AZ"
        body += checksum(bytes(body)).encode("ascii")
    return bytes(body) + b"\r"


def decode(
    frame: bytes,
    *,
    encoding: str,
    expect: str,
    fixed_length: int,
    sequence: int | None,
) -> Sip2Message:
    """Parse one frame (without its CR) as the answer ``expect``; ``Sip2MalformedAnswer`` if not."""
    if b"\x00" in frame:
        raise Sip2MalformedAnswer("the SIP2 answer holds a NUL byte")
    body = frame
    # The trailer: AY<digit>AZ<4 hex>, or AZ<4 hex> alone; verified whenever present.
    if len(body) >= 6 and body[-6:-4] == b"AZ":
        digits = body[-4:]
        if not all(c in b"0123456789ABCDEFabcdef" for c in digits):
            raise Sip2MalformedAnswer("the SIP2 answer's checksum is not hex (AZ)")
        if (sum(body[:-4]) + int(digits, 16)) & 0xFFFF:
            raise Sip2MalformedAnswer("the SIP2 answer's checksum does not match (AZ)")
        body = body[:-6]
        if len(body) >= 3 and body[-3:-1] == b"AY" and body[-1:].isdigit():
            if sequence is not None and int(body[-1:]) != sequence % 10:
                raise Sip2MalformedAnswer("the SIP2 answer carries another sequence number (AY)")
            body = body[:-3]
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError:
        raise Sip2MalformedAnswer(f"the SIP2 answer is not valid {encoding}") from None
    command = text[:2]
    if command != expect:
        shown = command if command.isprintable() else repr(command)
        raise Sip2MalformedAnswer(f"expected SIP2 message {expect}, got {shown!r}")
    fixed = text[2 : 2 + fixed_length]
    if len(fixed) != fixed_length:
        raise Sip2MalformedAnswer(f"SIP2 message {expect} is cut short in its fixed part")
    rest = text[2 + fixed_length :]
    fields: list[tuple[str, str]] = []
    # Identified fields; the last one may lack its delimiter (servers differ there).
    for piece in rest.split(DELIMITER):
        if not piece:
            continue
        if len(piece) < 2:
            raise Sip2MalformedAnswer(f"SIP2 message {expect} holds a field without an ID")
        fields.append((piece[:2], piece[2:]))
    return Sip2Message(command=command, fixed=fixed, fields=tuple(fields))


def _budget(timeout: float) -> float:
    if not math.isfinite(timeout):
        return MAX_TIMEOUT_SECONDS if timeout > 0 else 0.0
    return min(max(timeout, 0.0), MAX_TIMEOUT_SECONDS)


class Deadline:
    """What is left of one caller's timeout."""

    def __init__(self, timeout: float) -> None:
        self.timeout = _budget(timeout)
        self._end = time.monotonic() + self.timeout

    def left(self, endpoint: Sip2Endpoint) -> float:
        remaining = self._end - time.monotonic()
        if remaining <= 0:
            raise Sip2Timeout(f"SIP2 server {endpoint} did not answer within {self.timeout:.3f} s")
        return remaining


class Sip2Connection:
    """One TCP connection to a SIP2 server, logged in; used by one thread at a time."""

    def __init__(self, endpoint: Sip2Endpoint, sock: socket.socket) -> None:
        self.endpoint = endpoint
        self._sock = sock
        self._buffer = bytearray()
        self._sequence = 0
        self.idle_since = time.monotonic()

    @classmethod
    def open(cls, endpoint: Sip2Endpoint, deadline: Deadline) -> Sip2Connection:
        try:
            sock = socket.create_connection(
                (endpoint.host, endpoint.port), timeout=deadline.left(endpoint)
            )
        except TimeoutError:
            raise Sip2Timeout(
                f"SIP2 server {endpoint} did not accept a connection in time"
            ) from None
        except OSError as exc:
            raise Sip2Unreachable(
                f"SIP2 server {endpoint} cannot be reached: {_reason(exc)}"
            ) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = cls(endpoint, sock)
        try:
            if endpoint.login_user:
                connection._login(deadline)
        except BaseException:
            connection.close()
            raise
        return connection

    def _login(self, deadline: Deadline) -> None:
        answer = self.exchange(
            "93",
            "00",
            [
                ("CN", self.endpoint.login_user),
                ("CO", self.endpoint.login_password),
                *([("CP", self.endpoint.location_code)] if self.endpoint.location_code else []),
            ],
            expect="94",
            fixed_length=1,
            deadline=deadline,
        )
        if answer.fixed != "1":
            raise Sip2LoginRefused(
                f"SIP2 server {self.endpoint} refused the login of {self.endpoint.login_user!r}"
            )

    def exchange(
        self,
        command: str,
        fixed: str,
        fields: list[tuple[str, str]],
        *,
        expect: str,
        fixed_length: int,
        deadline: Deadline,
    ) -> Sip2Message:
        """Send one request and return its answer; ``ValueError`` if the input cannot travel."""
        sequence = self._sequence if self.endpoint.error_detection else None
        self._sequence = (self._sequence + 1) % 10
        frame = encode(command, fixed, fields, encoding=self.endpoint.encoding, sequence=sequence)
        for attempt in range(2):
            self._send(frame, deadline)
            answer = self._receive(deadline)
            # 96: the server asks us to send again (our frame arrived damaged). Once.
            if answer[:2] == b"96":
                if attempt == 0:
                    continue
                break
            return decode(
                answer,
                encoding=self.endpoint.encoding,
                expect=expect,
                fixed_length=fixed_length,
                sequence=sequence,
            )
        raise Sip2MalformedAnswer(f"SIP2 server {self.endpoint} refused our message twice (96)")

    def _send(self, frame: bytes, deadline: Deadline) -> None:
        try:
            self._sock.settimeout(deadline.left(self.endpoint))
            self._sock.sendall(frame)
        except TimeoutError:
            raise Sip2Timeout(
                f"SIP2 server {self.endpoint} did not take our request in time"
            ) from None
        except OSError as exc:
            raise Sip2Unreachable(
                f"SIP2 server {self.endpoint} dropped the connection: {_reason(exc)}"
            ) from None

    def _receive(self, deadline: Deadline) -> bytes:
        while True:
            # Some servers end a message with CR LF: the LF then starts the next read.
            while self._buffer[:1] == b"\n":
                del self._buffer[:1]
            end = self._buffer.find(b"\r")
            if end != -1:
                frame = bytes(self._buffer[:end])
                del self._buffer[: end + 1]
                return frame
            if len(self._buffer) > MAX_FRAME_BYTES:
                raise Sip2MalformedAnswer(
                    f"SIP2 server {self.endpoint} sent more than {MAX_FRAME_BYTES} bytes "
                    "without ending the message"
                )
            try:
                self._sock.settimeout(deadline.left(self.endpoint))
                chunk = self._sock.recv(65536)
            except TimeoutError:
                raise Sip2Timeout(
                    f"SIP2 server {self.endpoint} did not answer within {deadline.timeout:.3f} s"
                ) from None
            except OSError as exc:
                raise Sip2Unreachable(
                    f"SIP2 server {self.endpoint} dropped the connection: {_reason(exc)}"
                ) from None
            if not chunk:
                raise Sip2Unreachable(
                    f"SIP2 server {self.endpoint} closed the connection before answering"
                )
            self._buffer += chunk

    def looks_alive(self) -> bool:
        """Tell whether an idle connection may be reused: not too old, nothing unread, no EOF."""
        if self._buffer or time.monotonic() - self.idle_since > MAX_IDLE_SECONDS:
            return False
        try:
            readable, _w, _x = select.select([self._sock], [], [], 0)
        except (OSError, ValueError):
            return False
        # Readable while idle means EOF, a reset or stray bytes: none of them is reusable.
        return not readable

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ECONNREFUSED or isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset"
    if isinstance(exc, socket.gaierror):
        return "unknown host"
    return exc.strerror or type(exc).__name__


class Sip2Client:
    """Connections to one SIP2 endpoint, reused across calls; safe to share between threads."""

    def __init__(self, endpoint: Sip2Endpoint, *, max_idle: int = MAX_IDLE_PER_ENDPOINT) -> None:
        self.endpoint = endpoint
        self._max_idle = max_idle
        self._idle: list[Sip2Connection] = []
        self._lock = threading.Lock()
        self.connections_opened = 0

    def _checkout(self, deadline: Deadline) -> Sip2Connection:
        while True:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                break
            if connection.looks_alive():
                return connection
            connection.close()
        connection = Sip2Connection.open(self.endpoint, deadline)
        with self._lock:
            self.connections_opened += 1
        return connection

    def _checkin(self, connection: Sip2Connection) -> None:
        connection.idle_since = time.monotonic()
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(connection)
                return
        connection.close()

    @contextlib.contextmanager
    def session(self, *, timeout: float) -> Iterator[tuple[Sip2Connection, Deadline]]:
        """Lend a connection and the deadline for some exchanges; keep it only if all went well."""
        deadline = Deadline(timeout)
        deadline.left(self.endpoint)
        connection = self._checkout(deadline)
        try:
            yield connection, deadline
        except (ValueError, BorrowerNotFound, RequestRefused):
            # Input that could not be encoded (nothing sent), or a whole answer that says no:
            # either way the connection is in step and sound.
            self._checkin(connection)
            raise
        except BaseException:
            connection.close()
            raise
        self._checkin(connection)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


_clients: dict[Sip2Endpoint, Sip2Client] = {}
_clients_lock = threading.Lock()


def client_for(endpoint: Sip2Endpoint) -> Sip2Client:
    """Return the process's one client (and connection pool) for this endpoint."""
    with _clients_lock:
        client = _clients.get(endpoint)
        if client is None:
            client = _clients[endpoint] = Sip2Client(endpoint)
        return client


def clients_close() -> None:
    """Close every pooled connection (tests, shutdown)."""
    with _clients_lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()
