"""A real SIP2 server on loopback (the third-party ``pysip2``) serving the demo's UCN library."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integrations.library_systems.sip2.stand import (
    AGENCY,
    INSTITUTION,
    LOGIN_PASSWORD,
    LOGIN_USER,
)


@pytest.fixture
def sip2_server(demo: None) -> Iterator[object]:
    """The test server on a free loopback port, serving this test's (uncommitted) data."""
    from django.db import DEFAULT_DB_ALIAS, connections

    from biblogin.integrations.library_systems.sip2.client import clients_close
    from biblogin.integrations.library_systems.sip2.testserver import Sip2TestServer

    server = Sip2TestServer(
        agency_id=AGENCY,
        institution_id=INSTITUTION,
        login_user=LOGIN_USER,
        login_password=LOGIN_PASSWORD,
        shared_connection=connections[DEFAULT_DB_ALIAS],
    )
    server.start()
    try:
        yield server
    finally:
        clients_close()
        server.stop()


@pytest.fixture
def endpoint(sip2_server: object) -> object:
    from biblogin.integrations.library_systems.sip2.client import Sip2Endpoint

    return Sip2Endpoint(
        host="127.0.0.1",
        port=sip2_server.port,  # type: ignore[attr-defined]
        institution_id=INSTITUTION,
        login_user=LOGIN_USER,
        login_password=LOGIN_PASSWORD,
    )


@pytest.fixture
def sip2(endpoint: object) -> object:
    """The adapter under test, talking real SIP2 to the server."""
    from biblogin.integrations.library_systems.sip2.adapter import Sip2LibrarySystem

    return Sip2LibrarySystem(agency_id=AGENCY, endpoint=endpoint)  # type: ignore[arg-type]
