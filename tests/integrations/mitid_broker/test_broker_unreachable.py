"""A broker that is down or hangs makes MitID "unavailable", quickly (explicit timeouts)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from biblogin.integrations.mitid_broker.client import (
    MitIDConfig,
    mitid_authorization_finish,
    mitid_authorization_start,
)
from biblogin.integrations.mitid_broker.errors import MitIDUnavailable
from biblogin.integrations.mitid_broker.pytest_fixtures import MITID_TEST_REDIRECT_URI
from biblogin.integrations.mitid_broker.testbroker import TestMitIDBroker


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def test_broker_down_is_unavailable_at_once(settings, closed_port):
    settings.MITID_ISSUER = f"http://127.0.0.1:{closed_port}"
    began = time.monotonic()
    with pytest.raises(MitIDUnavailable) as caught:
        mitid_authorization_start(redirect_uri=MITID_TEST_REDIRECT_URI)
    assert time.monotonic() - began < 1.0
    assert caught.value.code == "unreachable"
    assert caught.value.message == "MitID kan ikke nås lige nu. Prøv igen om lidt."


def test_broker_that_never_answers_times_out(settings, silent_port):
    settings.MITID_ISSUER = f"http://127.0.0.1:{silent_port}"
    settings.MITID_TIMEOUT_SECONDS = 0.3
    began = time.monotonic()
    with pytest.raises(MitIDUnavailable) as caught:
        mitid_authorization_start(redirect_uri=MITID_TEST_REDIRECT_URI)
    assert time.monotonic() - began < 1.5
    assert caught.value.code == "timeout"


def test_broker_going_down_between_start_and_finish_is_unavailable(settings):
    with TestMitIDBroker(
        client_id=settings.MITID_CLIENT_ID,
        client_secret=settings.MITID_CLIENT_SECRET,
        redirect_uris=[MITID_TEST_REDIRECT_URI],
    ) as broker:
        settings.MITID_ISSUER = broker.issuer
        url, kept = mitid_authorization_start(redirect_uri=MITID_TEST_REDIRECT_URI)
        params = dict(httpx.URL(broker.login(url, sub="anna")).params)
    began = time.monotonic()
    with pytest.raises(MitIDUnavailable):
        mitid_authorization_finish(params=params, kept=kept)
    assert time.monotonic() - began < 1.0


def test_timeout_must_be_positive():
    with pytest.raises(ValueError):
        MitIDConfig(issuer="https://b.example", client_id="c", client_secret="s", timeout_seconds=0)
