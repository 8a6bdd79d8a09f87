"""Library login through the whole code flow, for every demo person and agency row.

R-LOGIN-3 (picker, parameters), R-LOGIN-4 (one message per status), R-VIP-5 (form label).
"""

from __future__ import annotations

import re
from html import unescape

import pytest

from biblogin.borrowercheck.services import BorrowerCheckStatus
from biblogin.integrations.library_systems.services import simulated_system_configure
from biblogin.login.messages import status_message
from tests.oidc_flow import OIDCFlow, path_of, query_of

pytestmark = pytest.mark.django_db

# (client, agency, user ID as typed, PIN, expected status): every registration of every demo
# person, for both demo clients, and every agency row without borrowers of its own.
ROWS = [
    # Anna: CPR and borrower number at Copenhagen, borrower number at Gentofte.
    ("app", "710100", "150385-1234", "1234", "ok"),
    ("app", "710100", "1000001", "1234", "ok"),
    ("portal", "710100", "1503851234", "1234", "ok"),
    ("app", "715700", "2000001", "1234", "ok"),
    ("portal", "715700", "2000001", "1234", "ok"),
    # Bo: CPR at Copenhagen; CS-4711 at Campus Syd (licensed for bibliotek.dk only).
    ("app", "710100", "0207921235", "2222", "ok"),
    ("portal", "820099", "CS-4711", "4711", "ok"),
    ("app", "820099", "CS-4711", "4711", "service_not_licensed"),
    # Clara: e-mail at UCN (both clients).
    ("app", "829000", "clara@ucn.example", "5555", "ok"),
    ("portal", "829000", "Clara@UCN.example ", "5555", "ok"),
    # Dorte: Campus Syd.
    ("portal", "820099", "CS-0815", "0815", "ok"),
    # Erik: blocked at Copenhagen, but the login itself succeeds (blocked claim).
    ("portal", "710100", "3012651239", "3333", "ok"),
    # Frederik: Roskilde Gymnasium (bibliotek.dk only).
    ("portal", "872600", "0505054240", "6666", "ok"),
    ("app", "872600", "0505054240", "6666", "service_not_licensed"),
    # Henrik: Ingeniørhøjskolen, demo-app only.
    ("app", "840099", "IH-2001", "2001", "ok"),
    ("portal", "840099", "IH-2001", "2001", "service_not_licensed"),
    # Ida: Handelshøjskolen has no borrower check.
    ("portal", "830099", "HH-1001", "0000", "borrowercheck_not_allowed"),
    ("portal", "850099", "AS-1", "0000", "borrowercheck_not_allowed"),
    ("portal", "190101", "0808801238", "0000", "borrowercheck_not_allowed"),
    # Aarhus has no demo borrowers: nobody is found.
    ("app", "775100", "1503851234", "1234", "borrower_not_found"),
    ("portal", "999999", "1503851234", "1234", "library_not_found"),
    # Wrong PIN and unknown user give the same answer (R-BC-2).
    ("app", "710100", "1000001", "9999", "borrower_not_found"),
    ("app", "710100", "1000009", "1234", "borrower_not_found"),
    ("app", "710100", "", "", "no_user_in_request"),
    ("app", "710100", "1000001", "", "no_user_in_request"),
    ("app", "710100", "x" * 300, "1234", "error_in_request"),
]


def flow_for(name: str, app: OIDCFlow, portal: OIDCFlow) -> OIDCFlow:
    return app if name == "app" else portal


def message_in(page, status: str) -> str:
    text = unescape(page.content.decode())
    assert f'data-status="{status}"' in text, text[:2000]
    return text


@pytest.mark.parametrize(("who", "agency_id", "user_id", "pin", "expected"), ROWS)
def test_every_demo_row_reaches_its_outcome_through_the_code_flow(
    app, portal, who, agency_id, user_id, pin, expected
):
    """R-LOGIN-4: each status reaches the user as its own message; ok gives a code."""
    flow = flow_for(who, app, portal)
    started = flow.start()
    response = flow.library_login(started, agency_id=agency_id, user_id=user_id, pin=pin)
    if expected == "ok":
        code = flow.code_from(response, started)
        tokens = flow.exchange(code, started)
        claims = flow.id_token_claims(tokens["id_token"], started)
        assert claims["loggedInAgencyId"] == agency_id
        assert claims["idpUsed"] == "borchk"
        return
    assert response.status_code in (200, 400)
    text = message_in(response, expected)
    library = {"999999": "999999"}.get(agency_id)
    assert "Traceback" not in text and expected not in text.replace(f'"{expected}"', "")
    if library:
        assert "Vi kan ikke finde det bibliotek" in text


def test_each_status_has_its_own_danish_message_without_codes():
    """R-LOGIN-4: every non-ok status of R-BC-1 has a distinct, clear message."""
    messages = {
        status: status_message(
            status, library="Campus Syd", client="Bibliotek.dk", user_id_label="Lånernummer"
        )
        for status in BorrowerCheckStatus
        if status != BorrowerCheckStatus.OK
    }
    assert len(set(messages.values())) == len(messages)
    for status, message in messages.items():
        assert status.value not in message and "_" not in message
        assert message.endswith(".")


def test_an_unavailable_library_system_says_so(app):
    """R-BC-3, R-LOGIN-4: a library system that does not answer gives its own message."""
    simulated_system_configure(agency_id="710100", down=True)
    started = app.start()
    response = app.library_login(started, agency_id="710100", user_id="1000001", pin="1234")
    text = message_in(response, "service_unavailable")
    assert "kan ikke svare lige nu" in text


def test_blocked_borrower_logs_in_and_the_claim_says_blocked(portal):
    """R-BC-1: a blocked borrower is ``ok`` with ``blocked``; the client decides."""
    tokens = portal.login_library(agency_id="710100", user_id="3012651239", pin="3333")
    assert portal.id_token_claims(tokens["id_token"])["blocked"] is True


@pytest.mark.parametrize(
    ("agency_id", "label", "input_type"),
    [
        ("710100", "CPR- eller lånernummer", 'type="text"'),
        ("872600", "CPR-nummer", 'inputmode="numeric"'),
        ("820099", "Lånernummer", 'type="text"'),
        ("829000", "E-mail", 'type="email"'),
    ],
)
def test_the_form_label_fits_the_agencys_user_id_kinds(portal, agency_id, label, input_type):
    """R-VIP-5, R-LOGIN-3: the user ID field is labelled by what users type there."""
    started = portal.start()
    plan = query_of(started.response["Location"])["plan"]
    page = portal.browser.get(f"/login/bibliotek/{agency_id}/?plan={plan}")
    text = unescape(page.content.decode())
    # The label, then the required mark (hidden from screen readers: the field says it).
    assert f'>{label}<span class="required-mark" aria-hidden="true"> *</span></label>' in text
    assert input_type in text
    assert 'autocomplete="current-password"' in text


def test_the_pin_field_takes_letters_too(portal):
    """A PIN may have letters: no ``inputmode=numeric`` on it, which gives phones digits only."""
    started = portal.start()
    plan = query_of(started.response["Location"])["plan"]
    page = portal.browser.get(f"/login/bibliotek/872600/?plan={plan}")
    text = page.content.decode()
    pin_input = re.search(r'<input[^>]*name="password"[^>]*>', text)
    assert pin_input is not None
    assert 'type="password"' in pin_input[0] and "inputmode" not in pin_input[0]


def test_the_pin_is_never_sent_back_to_the_browser(app):
    """R-BC-5: after a failed login the form keeps the user ID, never the PIN."""
    started = app.start()
    response = app.library_login(started, agency_id="710100", user_id="1000001", pin="8642")
    text = response.content.decode()
    assert 'value="8642"' not in text and ">8642<" not in text
    assert 'value="1000001"' in text


# --- the library picker (R-LOGIN-3) ----------------------------------------------------------


def picker(flow: OIDCFlow, query: str | None = None, **params: str) -> str:
    started = flow.start(**params)
    location = started.response["Location"]
    if query is None:
        return unescape(flow.browser.get(path_of(location)).content.decode())
    plan = query_of(location)["plan"]
    page = flow.browser.get("/login/", {"plan": plan, "q": query})
    assert page.status_code == 200
    return unescape(page.content.decode())


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("København", "Københavns Biblioteker"),
        ("KB", "Københavns Biblioteker"),  # alias
        ("Copenhagen", "Københavns Biblioteker"),  # alias
        ("101", "Københavns Biblioteker"),  # municipality number
        ("Gentofte", "Gentofte Bibliotekerne"),  # municipality name
        ("715700", "Gentofte Bibliotekerne"),  # agency ID
        ("århus", "Aarhus Kommunes Biblioteker"),
        ("UCN", "UCN Biblioteket"),
    ],
)
def test_the_picker_searches_by_name_alias_municipality_and_id(app, query, found):
    """R-LOGIN-3: search by name, alias, municipality or ID."""
    assert found in picker(app, query)


def test_the_picker_offers_only_libraries_licensed_for_the_client(app, portal):
    """R-LOGIN-3, R-VIP-3/4: no borrower check or no licence for the client: not offered."""
    everything = "bibliotek"
    app_page = picker(app, everything)
    assert "Ingeniørhøjskolens Bibliotek" in app_page
    assert "Campus Syd Bibliotek" not in app_page  # bibliotek.dk only
    assert "Handelshøjskolens Bibliotek" not in app_page  # no borrower check
    portal_page = picker(portal, everything)
    assert "Campus Syd Bibliotek" in portal_page
    assert "Ingeniørhøjskolens Bibliotek" not in portal_page


def test_the_picker_groups_public_and_research_libraries(portal):
    """R-LOGIN-3: grouped public / research / other."""
    page = picker(portal, "bibliotek")
    public = page.index("<h3>Folkebiblioteker</h3>")
    research = page.index("<h3>Forsknings- og uddannelsesbiblioteker</h3>")
    assert public < page.index("Københavns Biblioteker") < research
    assert research < page.index("UCN Biblioteket")


def test_agencytype_filters_the_picker(portal):
    """R-LOGIN-3: ``agencytype=forsk`` shows research libraries only."""
    page = picker(portal, "bibliotek", agencytype="forsk")
    assert "UCN Biblioteket" in page and "Københavns Biblioteker" not in page


def test_presel_preselects_a_library(portal):
    """R-LOGIN-3: ``presel`` puts the library first, still changeable."""
    page = picker(portal, presel="829000")
    assert "UCN Biblioteket" in page and "Foreslået" in page


def test_agency_locks_the_library(portal):
    """R-LOGIN-3: ``agency`` goes straight to that library's form and locks it."""
    started = portal.start(agency="820099")
    assert started.response["Location"].startswith("/login/bibliotek/820099/")
    page = portal.follow(started.response)
    assert "Vælg et andet bibliotek" not in page.content.decode()
    plan = page.wsgi_request.GET["plan"]
    other = portal.browser.get(f"/login/bibliotek/710100/?plan={plan}")
    assert other.status_code == 302 and other["Location"].startswith("/login/bibliotek/820099/")


def test_agency_may_name_a_branch_and_the_claim_names_it(portal):
    """R-LOGIN-8: ``loggedInBranchId`` is the branch the login came from."""
    tokens = portal.login_library(
        agency_id="710100", user_id="1000001", pin="1234", agency="710104"
    )
    claims = portal.id_token_claims(tokens["id_token"])
    assert claims["loggedInAgencyId"] == "710100"
    assert claims["loggedInBranchId"] == "710104"


def test_remember_my_library_offers_it_next_time(app):
    """R-LOGIN-3: "remember my library" is a cookie; the picker offers that library first."""
    started = app.start()
    response = app.library_login(
        started, agency_id="829000", user_id="clara@ucn.example", pin="5555", remember=True
    )
    app.code_from(response, started)
    cookie = app.browser.cookies["biblogin_library"]
    assert cookie.value == "829000" and cookie["httponly"] and cookie["samesite"] == "Lax"
    page = picker(app, prompt="login")
    assert "UCN Biblioteket" in page and "Dit bibliotek" in page


def test_cancel_returns_access_denied_to_the_client(app):
    """The user can give up; the client learns ``access_denied`` with its state."""
    started = app.start()
    plan = query_of(started.response["Location"])["plan"]
    response = app.follow(app.browser.post("/login/annuller/", {"plan": plan}))
    params = query_of(response["Location"])
    assert response["Location"].startswith(app.redirect_uri)
    assert params["error"] == "access_denied" and params["state"] == started.state


def test_an_expired_or_foreign_plan_gives_a_clear_page(app):
    """R-SEC-3: a login page without a valid plan explains itself, never a 500."""
    for url in ("/login/", "/login/?plan=nope", "/login/bibliotek/710100/?plan=" + "a" * 30):
        page = app.browser.get(url)
        assert page.status_code == 400
        assert "Dit login er udløbet" in page.content.decode()


def test_pages_work_in_english(app):
    """Danish by default, English on request (the language switch)."""
    started = app.start()
    location = started.response["Location"]
    switched = app.browser.post("/i18n/setlang/", {"language": "en", "next": location})
    assert switched.status_code == 302
    page = app.browser.get(path_of(location))
    assert '<html lang="en">' in page.content.decode()
