"""What the order pages know of the user and the session (R-ORDER-1, R-PORTAL-4, R-ORDER-7).

The portal knows who orders only from its identity (claims over OpenID Connect); the order
rules live in ``biblogin.circulation``. Here: the orderer, the user's own libraries, the
pickup-branch candidates, the guest's remembered details (sealed) and the session's
"already ordered" memory.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence

from django.http import HttpRequest
from django.utils.translation import gettext as _

from biblogin.borrowercheck.throttling import client_ip
from biblogin.circulation.history import last_pickup_branch_id
from biblogin.circulation.models import OrdererKind
from biblogin.circulation.orderer import Orderer, OrderRefusal
from biblogin.circulation.rights import access_rights_for
from biblogin.circulation.users import CirculationUser
from biblogin.patrons.selectors import patron_get_by_guid, patron_home_municipality
from biblogin.portal.identity import Identity, seal, unseal
from biblogin.portal.selectors import profile_accounts
from biblogin.portal.session import session_get, session_put
from biblogin.registry.selectors import agency_home_for_municipality
from biblogin.userdata.selectors import profile_get

GUEST_DETAILS_KEY = "guest_order_details"
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
    request: HttpRequest, identity: Identity | None, *, details: dict[str, str]
) -> Orderer:
    """Return who orders: a guest, a session user (R-PORTAL-3) or a profile user (R-PORTAL-2)."""
    ip = client_ip(request)
    if identity is None:
        return Orderer(
            kind=OrdererKind.GUEST,
            owner=f"guest:{guest_token(request)}",
            guest_details=details,
            email=details.get("userMail", ""),
            ip=ip,
        )
    if identity.is_profile and identity.guid:
        return Orderer(
            kind=OrdererKind.PROFILE,
            owner=f"profile:{identity.guid}",
            patron_guid=identity.guid,
            ip=ip,
        )
    return Orderer(
        kind=OrdererKind.SESSION,
        owner=f"session:{identity.sub}",
        login_agency_id=identity.agency_id,
        login_user_id=identity.user_id,
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


def guest_details_remembered(request: HttpRequest) -> dict[str, dict[str, str]]:
    """The guest's details per library, "Husk til næste bestilling": sealed in the session."""
    stored = session_get(request, GUEST_DETAILS_KEY)
    if not isinstance(stored, str) or not stored:
        return {}
    try:
        data = json.loads(unseal(stored) or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def guest_details_remember(
    request: HttpRequest, *, agency_id: str, details: dict[str, str] | None
) -> None:
    remembered = guest_details_remembered(request)
    if details:
        remembered[agency_id] = details
    else:
        remembered.pop(agency_id, None)
    session_put(request, GUEST_DETAILS_KEY, seal(json.dumps(remembered)) if remembered else "")


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
