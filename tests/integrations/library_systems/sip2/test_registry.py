"""The registry's SIP2 entry: password encrypted at rest, chosen per agency, edited in the admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from biblogin.borrowercheck.services import BorrowerCheckStatus, borrower_check
from biblogin.common.errors import ApplicationError
from biblogin.common.secret_crypto import decrypt_secret
from biblogin.integrations.library_systems.models import SIP2_PASSWORD_PURPOSE, Sip2Configuration
from biblogin.integrations.library_systems.selectors import library_system_for
from biblogin.integrations.library_systems.services import sip2_configuration_save
from biblogin.integrations.library_systems.simulated import SimulatedLibrarySystem
from biblogin.integrations.library_systems.sip2.adapter import Sip2LibrarySystem
from tests.integrations.library_systems.sip2.stand import (
    AGENCY,
    INSTITUTION,
    LOGIN_PASSWORD,
    LOGIN_USER,
)


def _register(*, port: int, **overrides: Any) -> Sip2Configuration:
    fields: dict[str, Any] = {
        "agency_id": AGENCY,
        "host": "127.0.0.1",
        "port": port,
        "institution_id": INSTITUTION,
        "login_user": LOGIN_USER,
        "login_password": LOGIN_PASSWORD,
    }
    return sip2_configuration_save(**(fields | overrides))


def test_sip2_login_password_is_kept_only_encrypted(db: None) -> None:
    config = _register(port=6001)
    stored = Sip2Configuration.objects.values_list("login_password_encrypted", flat=True).get()
    assert LOGIN_PASSWORD not in stored
    assert decrypt_secret(stored, purpose=SIP2_PASSWORD_PURPOSE) == LOGIN_PASSWORD
    # Bound to its purpose: the same ciphertext opens for nothing else.
    with pytest.raises(ValueError):
        decrypt_secret(stored, purpose="cpr")
    # Saving again without a password keeps the stored one.
    _register(port=6002, login_password=None)
    config.refresh_from_db()
    assert config.port == 6002
    assert decrypt_secret(config.login_password_encrypted, purpose=SIP2_PASSWORD_PURPOSE) == (
        LOGIN_PASSWORD
    )


@pytest.mark.parametrize(
    "overrides",
    [{"port": 0}, {"port": 70000}, {"institution_id": "U|CN"}, {"host": ""}, {"agency_id": "12"}],
)
def test_invalid_sip2_entry_is_refused_with_a_message_and_nothing_saved(
    db: None, overrides: dict[str, Any]
) -> None:
    with pytest.raises(ApplicationError) as refused:
        _register(**({"port": 6001} | overrides))
    assert str(refused.value)
    assert not Sip2Configuration.objects.exists()


def test_agency_with_an_enabled_sip2_entry_is_reached_over_sip2(db: None) -> None:
    assert isinstance(library_system_for(AGENCY), SimulatedLibrarySystem)
    _register(port=6001)
    system = library_system_for(AGENCY)
    assert isinstance(system, Sip2LibrarySystem)
    assert (system.endpoint.port, system.endpoint.login_password) == (6001, LOGIN_PASSWORD)
    assert isinstance(library_system_for("710100"), SimulatedLibrarySystem)
    _register(port=6001, enabled=False)
    assert isinstance(library_system_for(AGENCY), SimulatedLibrarySystem)


def test_borrower_check_at_a_sip2_library_asks_it_over_sip2(sip2_server: Any) -> None:
    """R-BC-1, R-BC-2, R-BC-3 through the real borrower check, the SIP2 server behind it."""
    _register(port=sip2_server.port)

    def check(pin: str) -> BorrowerCheckStatus:
        return borrower_check(
            service_requester="bibliotek.dk",
            agency_id=AGENCY,
            user_id="clara@ucn.example",
            password=pin,
        ).status

    assert check("5555") == BorrowerCheckStatus.OK
    assert check("0000") == BorrowerCheckStatus.BORROWER_NOT_FOUND
    sip2_server.stop()
    # The simulator would still say OK: the answer comes from the (now gone) SIP2 server.
    assert check("5555") == BorrowerCheckStatus.SERVICE_UNAVAILABLE


def test_staff_add_a_sip2_entry_and_never_see_its_password(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:library_systems_sip2configuration_add"),
        {
            "agency_id": AGENCY,
            "enabled": "on",
            "host": "sip2.ucn.example",
            "port": "6001",
            "institution_id": INSTITUTION,
            "login_user": LOGIN_USER,
            "login_password": LOGIN_PASSWORD,
            "location_code": "",
            "encoding": "cp850",
        },
    )
    assert response.status_code == 302
    config = Sip2Configuration.objects.get(agency_id=AGENCY)
    assert decrypt_secret(config.login_password_encrypted, purpose=SIP2_PASSWORD_PURPOSE) == (
        LOGIN_PASSWORD
    )
    change = reverse("admin:library_systems_sip2configuration_change", args=[config.pk])
    page = admin_client.get(change).content.decode()
    assert LOGIN_PASSWORD not in page and config.login_password_encrypted not in page
    # Changing the port with the password left blank keeps the password.
    response = admin_client.post(
        change,
        {
            "enabled": "on",
            "host": "sip2.ucn.example",
            "port": "6002",
            "institution_id": INSTITUTION,
            "login_user": LOGIN_USER,
            "login_password": "",
            "location_code": "",
            "encoding": "cp850",
        },
    )
    assert response.status_code == 302
    config.refresh_from_db()
    assert config.port == 6002
    assert decrypt_secret(config.login_password_encrypted, purpose=SIP2_PASSWORD_PURPOSE) == (
        LOGIN_PASSWORD
    )


def test_staff_get_a_message_for_a_port_out_of_range(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:library_systems_sip2configuration_add"),
        {"agency_id": AGENCY, "host": "h", "port": "70000", "institution_id": "U"},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert not Sip2Configuration.objects.exists()
