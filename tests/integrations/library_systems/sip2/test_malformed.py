"""Malformed, cut or stalled answers: always a clear ``LibrarySystemError``, never a crash.

The "server" here is a raw loopback socket that answers whatever bytes a test scripts; no
database is needed.
"""

from __future__ import annotations

import socket
import struct
import threading
import uuid
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biblogin.integrations.library_systems.protocol import (
    BorrowerNotFound,
    LibrarySystemAnswer,
    LibrarySystemError,
    LibrarySystemTimeout,
    LibrarySystemUnavailable,
    RequestRefused,
)
from biblogin.integrations.library_systems.sip2.adapter import Sip2LibrarySystem
from biblogin.integrations.library_systems.sip2.client import (
    Sip2Endpoint,
    Sip2MalformedAnswer,
    Sip2Unreachable,
    checksum,
    client_for,
    clients_close,
)

Reply = Callable[[bytes], bytes | None]
RESET = b"<reset>"


class ScriptedServer:
    """Answers each request frame with ``reply(frame)``: bytes to send, or None to hang up."""

    def __init__(self) -> None:
        self.reply: Reply = lambda frame: None
        self.hang_up_after_answer = False
        self.hung_up = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self._converse(conn)
        finally:
            self.hung_up.set()

    def _converse(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            conn.settimeout(5)
            while not self._stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while b"\r" in buffer:
                    frame, buffer = buffer.split(b"\r", 1)
                    answer = self.reply(frame)
                    if answer is None:
                        return
                    if answer is RESET:
                        # SO_LINGER 0: close() sends a TCP reset instead of a clean end.
                        conn.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                        return
                    try:
                        conn.sendall(answer)
                    except OSError:
                        return
                    if self.hang_up_after_answer:
                        return

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


@pytest.fixture
def scripted() -> Iterator[ScriptedServer]:
    server = ScriptedServer()
    yield server
    clients_close()
    server.close()


def _system(server: ScriptedServer, **kwargs: object) -> Sip2LibrarySystem:
    endpoint = Sip2Endpoint(host="127.0.0.1", port=server.port, institution_id="X", **kwargs)  # type: ignore[arg-type]
    return Sip2LibrarySystem(agency_id="829000", endpoint=endpoint)


def _framed(body: bytes, request: bytes) -> bytes:
    """Close ``body`` like a well-behaved server: echo the request's AY, add the checksum."""
    at = request.rfind(b"AY")
    if at != -1 and request[-6:-4] == b"AZ":
        body += request[at : at + 3] + b"AZ"
        body += checksum(body).encode()
    return body + b"\r"


DATE = b"20261202    101010"
GOOD_PATRON = b"64" + b" " * 14 + b"000" + DATE + b"    " * 6 + b"AOX|AAref|AEName|BLY|CQY|"


def test_well_formed_answer_from_the_scripted_server_is_read(scripted: ScriptedServer) -> None:
    """The baseline for the tests below: this server, answering well, gives a borrower."""
    scripted.reply = lambda frame: _framed(GOOD_PATRON, frame)
    borrower = _system(scripted).authenticate(user_id="u", password="p", timeout=5)
    assert (borrower.borrower_ref, borrower.name) == ("ref", "Name")


def test_pooled_connection_the_server_closed_while_idle_is_replaced(
    scripted: ScriptedServer,
) -> None:
    """ILSs drop idle SIP2 sessions: the next call must not fail on the dead one."""
    scripted.reply = lambda frame: _framed(GOOD_PATRON, frame)
    scripted.hang_up_after_answer = True
    system = _system(scripted)
    assert system.lookup(user_id="u", timeout=5).name == "Name"
    assert scripted.hung_up.wait(5)  # the server hung up while our connection sat idle
    assert system.lookup(user_id="u", timeout=5).name == "Name"
    assert client_for(system.endpoint).connections_opened == 2


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (lambda f: b"garbage\r", "expected SIP2 message 64"),
        (lambda f: b"64\r", "cut short"),
        (lambda f: _framed(b"24" + b" " * 14 + b"000" + DATE, f), "expected SIP2 message 64"),
        (lambda f: GOOD_PATRON + b"AY0AZ0000\r", "checksum does not match"),
        (lambda f: GOOD_PATRON + b"AY0AZzzzz\r", "checksum is not hex"),
        (lambda f: _framed(GOOD_PATRON.replace(b"BLY|", b""), f), "whether the patron is valid"),
        (lambda f: _framed(GOOD_PATRON.replace(b"CQY|", b""), f), "whether the PIN is valid"),
        (lambda f: _framed(GOOD_PATRON + b"X|", f), "field without an ID"),
        (lambda f: b"64\x00" + b" " * 60 + b"\r", "NUL"),
        (lambda f: b"96\r", "twice"),
        (lambda f: None, "closed the connection"),
    ],
)
def test_malformed_patron_answer_is_a_clear_unavailable(
    scripted: ScriptedServer, answer: Reply, message: str
) -> None:
    scripted.reply = answer
    with pytest.raises(LibrarySystemUnavailable, match=message):
        _system(scripted).authenticate(user_id="u", password="p", timeout=5)


def test_answer_with_another_sequence_number_is_refused(scripted: ScriptedServer) -> None:
    """AY echoes our sequence number: another one is someone else's answer."""

    def wrong_sequence(frame: bytes) -> bytes:
        body = GOOD_PATRON + b"AY7AZ"
        return body + checksum(body).encode() + b"\r"

    scripted.reply = wrong_sequence
    with pytest.raises(Sip2MalformedAnswer, match="sequence number"):
        _system(scripted).authenticate(user_id="u", password="p", timeout=5)


def test_answer_in_the_wrong_encoding_is_a_clear_unavailable(scripted: ScriptedServer) -> None:
    scripted.reply = lambda frame: _framed(GOOD_PATRON.replace(b"Name", b"\xff\xfe"), frame)
    with pytest.raises(Sip2MalformedAnswer, match="utf-8"):
        _system(scripted, encoding="utf-8").authenticate(user_id="u", password="p", timeout=5)


def test_endless_answer_without_end_of_message_is_cut_off(scripted: ScriptedServer) -> None:
    scripted.reply = lambda frame: b"64" + b"x" * 300_000
    with pytest.raises(Sip2MalformedAnswer, match="without ending the message"):
        _system(scripted).lookup(user_id="u", timeout=5)


def test_server_that_never_answers_is_a_timeout(scripted: ScriptedServer) -> None:
    scripted.reply = lambda frame: b""  # read, never answered
    with pytest.raises(LibrarySystemTimeout):
        _system(scripted).lookup(user_id="u", timeout=0.3)


def test_answer_cut_in_the_middle_then_silence_is_a_timeout(scripted: ScriptedServer) -> None:
    scripted.reply = lambda frame: GOOD_PATRON[:20]
    with pytest.raises(LibrarySystemTimeout):
        _system(scripted).lookup(user_id="u", timeout=0.3)


def test_refused_login_then_hang_up_is_unavailable(scripted: ScriptedServer) -> None:
    scripted.reply = lambda frame: b"940\r" if frame.startswith(b"93") else None
    with pytest.raises(LibrarySystemUnavailable, match="refused the login"):
        _system(scripted, login_user="sc", login_password="pw").lookup(user_id="u", timeout=5)


def test_reset_connection_is_unavailable(scripted: ScriptedServer) -> None:
    scripted.reply = lambda frame: RESET
    with pytest.raises(Sip2Unreachable, match="connection reset"):
        _system(scripted).lookup(user_id="u", timeout=5)


def test_unreadable_due_date_is_a_clear_unavailable(scripted: ScriptedServer) -> None:
    def answer(frame: bytes) -> bytes:
        if frame.startswith(b"63"):
            charged = frame[23:33] == b"  Y       "
            return _framed(GOOD_PATRON + (b"AUitem1|" if charged else b""), frame)
        return _framed(b"18040001" + DATE + b"ABitem1|AJTitle|AHsoon|", frame)

    scripted.reply = answer
    with pytest.raises(Sip2MalformedAnswer, match="unreadable due date"):
        _system(scripted).user_status(borrower_ref="ref", timeout=5)


# -- any bytes at all ------------------------------------------------------------------------

_EXPECTED = (BorrowerNotFound, RequestRefused, LibrarySystemUnavailable, LibrarySystemTimeout)


@pytest.mark.django_db  # request_place records its idempotency key before sending
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    prefix=st.sampled_from([b"", b"64", b"18", b"30", b"16", b"94", b"96"]),
    noise=st.binary(max_size=200),
    call=st.sampled_from(["authenticate", "user_status", "loan_renew", "request_place"]),
)
def test_any_answer_at_all_is_an_answer_or_a_library_system_error(
    scripted: ScriptedServer, prefix: bytes, noise: bytes, call: str
) -> None:
    """Whatever bytes come back, the adapter answers or raises a domain error: never a crash."""
    frame = (prefix + noise).replace(b"\r", b"") + b"\r"
    scripted.reply = lambda request: frame
    system = _system(scripted)
    try:
        if call == "authenticate":
            system.authenticate(user_id="u", password="p", timeout=2)
        elif call == "user_status":
            system.user_status(borrower_ref="u", timeout=2)
        elif call == "loan_renew":
            system.loan_renew(borrower_ref="u", loan_id="L1", timeout=2)
        else:
            system.request_place(
                borrower_ref="u",
                idempotency_key=uuid.uuid4().hex,
                material_ids=["m"],
                pickup_branch_id="",
                timeout=2,
            )
    except _EXPECTED as exc:
        # A transport failure, or an answer (not found, refused): each a domain error.
        assert isinstance(exc, LibrarySystemError | LibrarySystemAnswer)
        assert str(exc)  # a message a person can read
