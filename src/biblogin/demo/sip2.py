"""The demo's SIP2 library: one demo agency reached over real SIP2 instead of in-process.

A ``pysip2``-based test server on loopback serves that agency's simulated data; the registry's
SIP2 entry points at it while the demo runs, and is switched off when it stops (the agency then
falls back to its simulator, instead of pointing at a port nobody answers).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db.backends.base.base import BaseDatabaseWrapper

from biblogin.integrations.library_systems.models import Sip2Configuration
from biblogin.integrations.library_systems.services import sip2_configuration_save
from biblogin.integrations.library_systems.sip2.testserver import Sip2TestServer

# UCN Biblioteket: an FFU library (no culr_sync: SIP2 has no borrower export) with a loan.
DEMO_SIP2_AGENCY = "829000"
DEMO_SIP2_INSTITUTION = "UCN"
DEMO_SIP2_LOGIN_USER = "biblogin-demo"


@dataclass
class DemoSip2:
    server: Sip2TestServer
    agency_id: str
    institution_id: str

    @property
    def address(self) -> str:
        return f"{self.server.host}:{self.server.port}"

    def stop(self) -> None:
        """Stop the server and switch the agency's SIP2 entry off."""
        self.server.stop()
        Sip2Configuration.objects.filter(agency_id=self.agency_id).update(enabled=False)


def demo_sip2_start(
    *, port: int = 0, shared_connection: BaseDatabaseWrapper | None = None
) -> DemoSip2:
    """Start the demo's SIP2 server on loopback and point the agency's registry entry at it."""
    # A fresh login password each run: it lives only in this process and, encrypted, the entry.
    password = secrets.token_urlsafe(18)
    server = Sip2TestServer(
        agency_id=DEMO_SIP2_AGENCY,
        institution_id=DEMO_SIP2_INSTITUTION,
        login_user=DEMO_SIP2_LOGIN_USER,
        login_password=password,
        host="127.0.0.1",
        port=port,
        shared_connection=shared_connection,
    )
    server.start()
    try:
        sip2_configuration_save(
            agency_id=DEMO_SIP2_AGENCY,
            host="127.0.0.1",
            port=server.port,
            institution_id=DEMO_SIP2_INSTITUTION,
            login_user=DEMO_SIP2_LOGIN_USER,
            login_password=password,
        )
    except BaseException:
        server.stop()
        raise
    return DemoSip2(server=server, agency_id=DEMO_SIP2_AGENCY, institution_id=DEMO_SIP2_INSTITUTION)
