"""`biblogin demo` serves one demo library (UCN, 829000) over real SIP2."""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections

from biblogin.demo.guide import demo_guide
from biblogin.demo.sip2 import DEMO_SIP2_AGENCY, demo_sip2_start
from biblogin.integrations.library_systems.models import Sip2Configuration
from biblogin.integrations.library_systems.selectors import library_system_for
from biblogin.integrations.library_systems.simulated import SimulatedLibrarySystem
from biblogin.integrations.library_systems.sip2.adapter import Sip2LibrarySystem
from biblogin.integrations.library_systems.sip2.client import clients_close


def test_demo_library_829000_is_served_over_sip2_while_the_demo_runs(demo: None) -> None:
    sip2 = demo_sip2_start(shared_connection=connections[DEFAULT_DB_ALIAS])
    try:
        system = library_system_for(DEMO_SIP2_AGENCY)
        assert isinstance(system, Sip2LibrarySystem)
        clara = system.authenticate(user_id="clara@ucn.example", password="5555", timeout=10)
        status = system.user_status(borrower_ref=clara.borrower_ref, timeout=10)
        assert [loan.title for loan in status.loans] == ["Pædagogisk psykologi"]
        guide = demo_guide(
            base_url="http://localhost:8000", broker_port=9400, sip2_address=sip2.address
        )
        assert f"UCN Biblioteket {DEMO_SIP2_AGENCY} is reached over SIP2" in guide
        assert sip2.address in guide
    finally:
        clients_close()
        sip2.stop()
    # Stopped: the entry is off, and the agency is its simulator again (not a dead port).
    assert Sip2Configuration.objects.get(agency_id=DEMO_SIP2_AGENCY).enabled is False
    assert isinstance(library_system_for(DEMO_SIP2_AGENCY), SimulatedLibrarySystem)
