"""What the order pages know of the user and the session (R-ORDER-1, R-PORTAL-4, R-ORDER-7).

The portal knows who orders only from its identity (claims over OpenID Connect); the order
rules live in ``biblogin.circulation``. Here: the orderer, the user's own libraries, the
pickup-branch candidates, the guest's remembered details (sealed), a logged-in user's contact
details for the pickup library (R-PORTAL-15: saved for a profile, sealed in the session for a
session user) and the session's "already ordered" memory.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qs, urlsplit

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from biblogin.borrowercheck.throttling import client_ip
from biblogin.circulation.history import last_pickup_branch_id
from biblogin.circulation.models import OrdererKind
from biblogin.circulation.orderer import Orderer, OrderRefusal
from biblogin.circulation.rights import access_rights_for
from biblogin.circulation.users import CirculationUser
from biblogin.integrations.library_systems.protocol import BORROWER_DATA_TYPES
from biblogin.patrons.selectors import patron_get_by_guid, patron_home_municipality
from biblogin.portal.identity import Identity, seal, unseal
from biblogin.portal.selectors import profile_accounts
from biblogin.portal.session import session_get, session_put
from biblogin.registry.models import Agency, OrderUserParameterType
from biblogin.registry.selectors import (
    OrderUserField,
    agency_get,
    agency_home_for_municipality,
    agency_order_user_parameters,
    branches_for_pickup,
)
from biblogin.userdata.saved_info import saved_library_info_prefill, saved_library_info_update
from biblogin.userdata.selectors import profile_get

GUEST_DETAILS_KEY = "guest_order_details"
CONTACT_DETAILS_KEY = "order_contact_details"
# R-PORTAL-15: what a logged-in user is asked for the pickup library. The login already tells
# the library who orders (its user ID, and the name in the claims), so the ID types, the CPR,
# the date of birth and the name are not asked again; the contact data the library lists are.
CONTACT_TYPES = (
    OrderUserParameterType.MAIL.value,
    OrderUserParameterType.TELEPHONE.value,
    OrderUserParameterType.ADDRESS.value,
)
_GUEST_TOKEN = "order_guest_token"
_LAST_BRANCH = "order_last_branch"
_ORDERED = "order_ordered_pids"
_ORDERED_MAX = 200
_PID = re.compile(r"[0-9A-Za-z][0-9A-Za-z:._-]{0,63}")
MAX_PIDS = 25


def pids_parse(values: Sequence[str]) -> list[str]:
    """Return the well-formed, distinct PIDs in the order given (at most 26: one too many)."""
    seen: list[str] = []
    for value in values[:100]:
        pid = value.strip() if isinstance(value, str) else ""
        if _PID.fullmatch(pid) and pid not in seen:
            seen.append(pid)
    return seen[: MAX_PIDS + 1]


def guest_token(request: HttpRequest) -> str:
    """A random ID of this browser's portal session, as the owner of a guest's orders."""
    token = session_get(request, _GUEST_TOKEN)
    if not isinstance(token, str) or len(token) < 20:
        token = secrets.token_urlsafe(24)
        session_put(request, _GUEST_TOKEN, token)
    return token


def orderer_for(
    request: HttpRequest, identity: Identity | None, *, details: Mapping[str, str]
) -> Orderer:
    """Return who orders: a guest, a session user (R-PORTAL-3) or a profile user (R-PORTAL-2).

    ``details``: a guest's user parameters, or a logged-in user's contact details
    (``order_contact_details``); the e-mail goes on the order (else the library's own, from
    the borrower check), and the library gets what it asks for of them (R-VIP-7).
    """
    ip = client_ip(request)
    email = str(details.get(OrderUserParameterType.MAIL.value, "") or "")
    if identity is None:
        return Orderer(
            kind=OrdererKind.GUEST,
            owner=f"guest:{guest_token(request)}",
            guest_details=dict(details),
            email=email,
            ip=ip,
        )
    if identity.is_profile and identity.guid:
        return Orderer(
            kind=OrdererKind.PROFILE,
            owner=f"profile:{identity.guid}",
            patron_guid=identity.guid,
            contact_details=dict(details),
            email=email,
            ip=ip,
        )
    return Orderer(
        kind=OrdererKind.SESSION,
        owner=f"session:{identity.sub}",
        login_agency_id=identity.agency_id,
        login_user_id=identity.user_id,
        contact_details=dict(details),
        email=email,
        ip=ip,
    )


def own_agency_ids(identity: Identity | None) -> list[str]:
    """The libraries the user is registered at: the profile's (CULR), or the login's."""
    if identity is None:
        return []
    if identity.is_profile and identity.guid:
        return list(dict.fromkeys(a.agency_id for a in profile_accounts(patron_guid=identity.guid)))
    return [identity.agency_id]


def pickup_candidates(request: HttpRequest, identity: Identity | None) -> list[str]:
    """Issue 13 item 2: the session's last choice, the profile's last used, the favourite
    (R-PORTAL-10), the home library's main branch."""
    candidates = [str(session_get(request, _LAST_BRANCH) or "")]
    if identity is not None and identity.is_profile and identity.guid:
        candidates.append(last_pickup_branch_id(patron_guid=identity.guid))
        profile = profile_get(patron_guid=identity.guid)
        if profile is not None:
            candidates.append(profile.favourite_pickup_branch_id)
        patron = patron_get_by_guid(guid=identity.guid)
        home = (
            agency_home_for_municipality(municipality_no=patron_home_municipality(patron=patron))
            if patron is not None
            else None
        )
        if home is not None:
            candidates.append(home.agency_id)
    elif identity is not None:
        candidates.append(identity.agency_id)
    return [c for c in candidates if c]


def last_branch_remember(request: HttpRequest, branch_id: str) -> None:
    session_put(request, _LAST_BRANCH, branch_id)


def ordered_pids(request: HttpRequest) -> list[str]:
    value = session_get(request, _ORDERED)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def ordered_remember(request: HttpRequest, pids: Sequence[str]) -> None:
    """R-ORDER-7: remember what was ordered in this session, for the "already ordered" warning."""
    known = ordered_pids(request)
    session_put(request, _ORDERED, (known + [p for p in pids if p not in known])[-_ORDERED_MAX:])


def _sealed_by_library(request: HttpRequest, key: str) -> dict[str, dict[str, str]]:
    """Details per library kept sealed in the session (never in a cookie in clear)."""
    stored = session_get(request, key)
    if not isinstance(stored, str) or not stored:
        return {}
    try:
        data = json.loads(unseal(stored) or "{}")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        str(agency_id): {str(k): str(v) for k, v in values.items()}
        for agency_id, values in data.items()
        if isinstance(values, dict)
    }


def _sealed_by_library_put(
    request: HttpRequest, key: str, *, agency_id: str, details: Mapping[str, str] | None
) -> None:
    remembered = _sealed_by_library(request, key)
    if details:
        remembered[agency_id] = dict(details)
    else:
        remembered.pop(agency_id, None)
    session_put(request, key, seal(json.dumps(remembered)) if remembered else "")


def guest_details_remembered(request: HttpRequest) -> dict[str, dict[str, str]]:
    """The guest's details per library, "Husk til næste bestilling": sealed in the session."""
    return _sealed_by_library(request, GUEST_DETAILS_KEY)


def guest_details_remember(
    request: HttpRequest, *, agency_id: str, details: dict[str, str] | None
) -> None:
    _sealed_by_library_put(request, GUEST_DETAILS_KEY, agency_id=agency_id, details=details)


def contact_fields(*, agency: Agency) -> list[OrderUserField]:
    """The pickup library's contact parameters a logged-in user is asked (R-PORTAL-15, R-VIP-7).

    In the library's order, from the registry's one list of its user parameters.
    """
    return [
        f
        for f in agency_order_user_parameters(agency=agency)
        if not f.is_id_field and f.type in CONTACT_TYPES
    ]


def contact_prefill(
    request: HttpRequest, identity: Identity, *, agency_id: str
) -> tuple[dict[str, str], bool]:
    """Return a logged-in user's contact details for this library, and whether they are kept.

    R-PORTAL-15: a profile user's saved library info; a session user's (no profile) only what
    they asked to have remembered in this session.
    """
    if identity.is_profile and identity.guid:
        profile = profile_get(patron_guid=identity.guid)
        saved = saved_library_info_prefill(profile=profile, agency_id=agency_id) if profile else {}
        return {k: v for k, v in saved.items() if k in CONTACT_TYPES}, False
    remembered = _sealed_by_library(request, CONTACT_DETAILS_KEY).get(agency_id, {})
    return {k: v for k, v in remembered.items() if k in CONTACT_TYPES}, bool(remembered)


def order_contact_details(
    identity: Identity, *, agency_id: str, typed: Mapping[str, str]
) -> dict[str, str]:
    """What a logged-in user's order tells the library of them (R-VIP-7), never a CPR.

    The contact form's values as submitted (it was prefilled with the saved ones, so a field
    left empty is the user's choice); for the types the form does not show, what a profile
    has saved for the library (R-PORTAL-15).
    """
    known: dict[str, str] = {}
    if identity.is_profile and identity.guid:
        profile = profile_get(patron_guid=identity.guid)
        saved = saved_library_info_prefill(profile=profile, agency_id=agency_id) if profile else {}
        known = {k: v for k, v in saved.items() if k in BORROWER_DATA_TYPES and k not in typed}
    typed_data = {k: v for k, v in typed.items() if k in BORROWER_DATA_TYPES}
    return {k: v for k, v in {**known, **typed_data}.items() if v}


def contact_keep(
    request: HttpRequest,
    identity: Identity,
    *,
    agency_id: str,
    values: Mapping[str, str],
    keep: bool,
) -> bool:
    """Keep what a logged-in user typed, if they asked to; return whether it was saved.

    R-PORTAL-15: a profile user's ticked "Gem oplysningerne til næste gang" saves through the
    userdata service (unticked: nothing changes); a session user's "Husk til næste bestilling"
    lives sealed in the session only (unticked: forgotten), never in a profile.
    """
    if identity.is_profile and identity.guid:
        profile = profile_get(patron_guid=identity.guid) if keep else None
        if profile is None:
            return False
        saved_library_info_update(profile=profile, agency_id=agency_id, values=values)
        return True
    kept = {k: v for k, v in values.items() if k in CONTACT_TYPES and v}
    details = kept if keep else None
    _sealed_by_library_put(request, CONTACT_DETAILS_KEY, agency_id=agency_id, details=details)
    return keep and bool(kept)


def pids_in_order_path(path: str | None) -> list[str]:
    """The materials of an order-flow address (``/bestil/?pid=…``), e.g. a login's ``next``."""
    if not path:
        return []
    parts = urlsplit(path)
    if parts.path != reverse("portal:order"):
        return []
    return pids_parse(parse_qs(parts.query).get("pid", []))


def guest_order_url(*, agency_id: str, pids: Sequence[str] = ()) -> str | None:
    """The one flow's place for ordering to this library (R-ORDER-1), or None if unknown.

    The old "Bestil uden login" address and the login page's "Bestil uden login" lead here:
    the flow with the library's main (else first open) pickup branch chosen.
    """
    agency = agency_get(agency_id=agency_id)
    if agency is None:
        return None
    branches = branches_for_pickup(agency_ids=[agency.agency_id], open_only=True)
    branch = next((b for b in branches if b.branch_id == agency.agency_id), None) or next(
        iter(branches), None
    )
    pairs = [("pid", p) for p in pids[:MAX_PIDS]]
    if branch is not None:
        pairs.append(("filial", branch.branch_id))
    return reverse("portal:order") + ("?" + urlencode(pairs) if pairs else "")


def refusal_message(code: OrderRefusal, *, library: str, attempts_left: int | None = None) -> str:
    """Each reason its own clear message (R-ORDER-3, R-ORDER-4, R-PORTAL-8)."""
    messages = {
        OrderRefusal.BORCHK_USER_BLOCKED_BY_AGENCY: _(
            "%(library)s modtager desværre ikke bestillinger fra dig. Biblioteket har spærret "
            "dit lånerkort, fx på grund af for sent afleverede materialer eller et ubetalt "
            "mellemværende. Kontakt %(library)s for at få spærringen ophævet."
        ),
        OrderRefusal.BORCHK_USER_NO_LONGER_EXIST_ON_AGENCY: _(
            "%(library)s kender dig ikke længere som låner. Kontakt biblioteket, eller vælg "
            "et andet afhentningssted."
        ),
        OrderRefusal.UNKNOWN_USER: _(
            "%(library)s kender ikke det låner-id, du har skrevet. Tjek det, eller kontakt "
            "biblioteket."
        ),
        OrderRefusal.BORCHK_USER_NOT_VERIFIED: _(
            "Vi kunne ikke få kontakt med %(library)s for at tjekke dine låneroplysninger. "
            "Intet er bestilt. Prøv igen om lidt."
        ),
        OrderRefusal.ERROR_MISSING_PINCODE: _(
            "Skriv din pinkode til %(library)s for at bestille dertil."
        ),
        OrderRefusal.WRONG_PINCODE: _(
            "Pinkoden blev ikke godkendt af %(library)s. Intet er bestilt."
        ),
        OrderRefusal.PIN_THROTTLED: _(
            "For mange forkerte pinkoder. Af hensyn til din sikkerhed kan du først prøve igen "
            "senere. Intet er bestilt."
        ),
        OrderRefusal.NOT_REGISTERED: _(
            "Du er ikke registreret som låner på %(library)s. Vælg et afhentningssted på et af "
            "dine egne biblioteker."
        ),
        OrderRefusal.NO_ORDERS_WITHOUT_LOGIN: _(
            "%(library)s modtager ikke bestillinger uden login. Log ind for at bestille dertil."
        ),
        OrderRefusal.USER_PARAMETERS_INVALID: _("Udfyld de felter, %(library)s beder om."),
    }
    text = messages[code] % {"library": library}
    if code == OrderRefusal.WRONG_PINCODE and attempts_left is not None:
        text += " " + _("Du har %(count)s forsøg tilbage.") % {"count": attempts_left}
    return text


def line_reason_message(code: str, *, library: str, text: str = "") -> str:
    """Why a material cannot be ordered, or was not (R-ORDER-2, R-ORDER-7)."""
    messages = {
        "OWNED_OWN_CATALOGUE": _(
            "%(library)s har materialet, men det bestilles på bibliotekets egen hjemmeside."
        ),
        "NOT_OWNED_NO_ILL_LOC": _(
            "Intet bibliotek kan låne materialet ud til dig, så det kan ikke bestilles."
        ),
        "UNKNOWN_MATERIAL": _("Vi kender ikke materialet, så det kan ikke bestilles."),
        "PERIODICAL_DETAILS_MISSING": _(
            "Skriv årgang og hæfte eller nummer, så biblioteket ved, hvilket hæfte du vil have."
        ),
        "LIBRARY_NOT_ANSWERING": _(
            "%(library)s svarede ikke i tide. Prøv igen: du får ikke materialet to gange."
        ),
        "UNKNOWN_USER": _("%(library)s kender dig ikke som låner."),
        "LIBRARY_REFUSED": _("%(library)s afviste bestillingen."),
        # The library's own refusals (RefusalReason of the library-system boundary).
        "already_reserved": _("Du har allerede reserveret materialet hos %(library)s."),
        "borrower_blocked": _("%(library)s modtager desværre ikke bestillinger fra dig."),
        "material_unknown": _("%(library)s kender ikke materialet."),
        "pickup_branch_unknown": _("%(library)s kender ikke afhentningsstedet."),
        "invalid_request": _("%(library)s kunne ikke modtage bestillingen."),
    }
    if code not in messages:
        base = str(_("%(library)s afviste bestillingen.")) % {"library": library}
        return f"{base} {text}" if text else base
    message = str(messages[code]) % {"library": library}
    return f"{message} {text}" if text and code in ("LIBRARY_REFUSED", "other") else message


def digital_article_right(identity: Identity | None) -> bool:
    """R-ORDER-6: the Digital Article Service right, from circulation's one rights selector
    (R-PORTAL-14: the home municipality's library subscribes and the user is registered there)."""
    if identity is None:
        return False
    user = (
        CirculationUser.profile(identity.guid)
        if identity.is_profile and identity.guid
        else CirculationUser.session(agency_id=identity.agency_id, user_id=identity.user_id)
    )
    return access_rights_for(user=user).has_digital_article_service
