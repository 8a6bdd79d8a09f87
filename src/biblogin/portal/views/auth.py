"""Logging in and out of Bibliotek.dk through the login platform (R-PORTAL-0, -1, -5…7, -11)."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

# R-LOGIN-10: Substantial makes the login platform ask for MitID (step-up).
from biblogin.common.assurance import NSIS_SUBSTANTIAL
from biblogin.common.errors import ApplicationError, NotFound
from biblogin.portal import oidc_client
from biblogin.portal.constants import MITID_FRESH_SECONDS
from biblogin.portal.forms import LibrarySearchForm
from biblogin.portal.identity import (
    IDP_BORCHK,
    PROFILE,
    Identity,
    identity_from_claims,
    seal,
    unseal,
)
from biblogin.portal.order_flow import guest_order_url, pids_in_order_path
from biblogin.portal.selectors import (
    LoginEntry,
    NextStep,
    agencies_search,
    agency_get_choosable,
    agency_is_linkable_ffu,
    login_entry_decide,
    login_next_step,
    mitid_is_fresh,
)
from biblogin.portal.services import (
    CprMismatch,
    ffu_link_with_mitid,
    ffu_unlink,
    library_add_complete,
)
from biblogin.portal.session import (
    callback_abandon,
    callback_claim,
    callback_commit,
    callback_outcome,
    callback_session_adopt,
    id_token_store,
    identity_login,
    identity_update,
    mitid_recent,
    mitid_remember,
    pending_peek,
    pending_pop,
    pending_put,
    portal_logout,
    portal_view,
    session_pop,
    session_put,
)
from biblogin.portal.userlists import huskeliste_merge_on_login, recent_search_links
from biblogin.portal.views.common import (
    LAST_LIBRARY_COOKIE,
    agency_name,
    identity_of,
    page,
    safe_next,
)
from biblogin.registry.models import Agency
from biblogin.registry.selectors import agency_get
from biblogin.userdata.services import link_offer_opt_out, profile_login_record

logger = logging.getLogger(__name__)

PURPOSE_LOGIN = "login"
PURPOSE_LINK = "link"
PURPOSE_ADD_LIBRARY = "add_library"
PURPOSE_ADD_LIBRARY_MITID = "add_library_mitid"
_ADD_INTENT = "add_library"
_ADD_INTENT_SECONDS = 30 * 60
_LAST_LIBRARY_SECONDS = 365 * 24 * 3600


def login_redirect(
    request: HttpRequest,
    *,
    purpose: str,
    params: dict[str, str],
    next_path: str | None = None,
    data: dict[str, Any] | None = None,
) -> HttpResponse:
    """Send the user to the login platform with a fresh state, nonce and PKCE verifier."""
    language = (translation.get_language() or "da")[:2]
    try:
        auth = oidc_client.authorization_request_build(params={**params, "ui_locales": language})
    except oidc_client.LoginServiceError as error:
        logger.warning("Login could not start: %s", error.detail)
        return page(request, "portal/login_error.html", {"message": error.message}, status=503)
    pending_put(
        request,
        state=auth.state,
        data={
            "nonce": auth.nonce,
            "verifier": auth.code_verifier,
            "purpose": purpose,
            "next": next_path or "",
            "max_age": int(params["max_age"]) if params.get("max_age") else None,
            **(data or {}),
        },
    )
    return HttpResponseRedirect(auth.url)


@require_GET
@portal_view
def home(request: HttpRequest) -> HttpResponse:
    identity = identity_of(request)
    linkable = False
    if identity is not None and not identity.is_profile:
        agency = agency_get(agency_id=identity.agency_id)
        linkable = agency is not None and agency_is_linkable_ffu(agency=agency)
    return page(
        request,
        "portal/home.html",
        {"linkable": linkable, "recent": recent_search_links(request)},
    )


@require_GET
@portal_view
def login(request: HttpRequest) -> HttpResponse:
    """ "Log ind": library search, the last library used, and MitID (R-PORTAL-1)."""
    form = LibrarySearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    ordering = request.GET.get("bestilling") == "1"
    last = agency_get_choosable(agency_id=request.COOKIES.get(LAST_LIBRARY_COOKIE, ""))
    next_path = safe_next(request, request.GET.get("next")) or ""
    carry = {k: v for k, v in (("next", next_path), ("bestilling", "1" if ordering else "")) if v}
    return page(
        request,
        "portal/login.html",
        {
            "form": form,
            "query": query,
            "groups": agencies_search(query=query) if query else [],
            "last_library": last,
            "next": next_path,
            "ordering": ordering,
            # What choosing a library carries on to it (R-PORTAL-1: ordering or not).
            "carry": ("?" + urlencode(carry)) if carry else "",
        },
    )


@require_GET
@portal_view
def login_library(request: HttpRequest, agency_id: str) -> HttpResponse:
    """Decide what choosing this library leads to (R-PORTAL-1)."""
    ordering = request.GET.get("bestilling") == "1"
    next_path = safe_next(request, request.GET.get("next"))
    try:
        decision = login_entry_decide(agency_id=agency_id, ordering=ordering)
    except NotFound:
        return page(request, "portal/not_found.html", status=404)
    if decision.entry == LoginEntry.LIBRARY_LOGIN:
        # R-PORTAL-1: library login with the agency locked.
        return login_redirect(
            request,
            purpose=PURPOSE_LOGIN,
            params={"agency": decision.agency.agency_id, "idp": IDP_BORCHK},
            next_path=next_path,
        )
    if decision.entry == LoginEntry.ORDER_WITHOUT_LOGIN:
        # R-ORDER-1: into the one order flow's guest path, with the materials being ordered.
        target = guest_order_url(
            agency_id=decision.agency.agency_id, pids=pids_in_order_path(next_path)
        )
        return HttpResponseRedirect(target or reverse("portal:order"))
    return page(request, "portal/login_not_possible.html", {"decision": decision})


@require_GET
@portal_view
def login_mitid(request: HttpRequest) -> HttpResponse:
    """Log in with MitID from the start (R-PORTAL-9)."""
    return login_redirect(
        request,
        purpose=PURPOSE_LOGIN,
        params={"idp": "mitid"},
        next_path=safe_next(request, request.GET.get("next")),
    )


@require_POST
@portal_view
def logout(request: HttpRequest) -> HttpResponse:
    """End the portal session and the login platform's (RP-initiated logout, R-LOGIN-12)."""
    hint = portal_logout(request)
    messages.success(request, _("Du er logget ud."))
    url = oidc_client.end_session_url(id_token_hint=hint or None)
    return HttpResponseRedirect(url or reverse("portal:home"))


@require_GET
@portal_view
def callback(request: HttpRequest) -> HttpResponse:
    """Finish a login at the login platform, once per state; a repeat lands where it led."""
    state = request.GET.get("state", "")
    if not isinstance(state, str) or len(state) > 256:
        state = ""
    if not pending_peek(request, state=state) or not callback_claim(request, state=state):
        # A double click or a reload: the first request redeems the code; a second redemption
        # would fail and revoke the first one's login (RFC 9700 §4.2.4).
        return _callback_repeated(request, state)
    try:
        response = _callback_redeem(request, state)
    except BaseException:
        callback_abandon(state=state)
        raise
    add_never_cache_headers(response)
    return callback_commit(request, response, state=state)


def _callback_repeated(request: HttpRequest, state: str) -> HttpResponse:
    outcome = callback_outcome(request, state=state)
    if outcome is None:
        return page(request, "portal/login_error.html", {"expired": True}, status=400)
    response = HttpResponseRedirect(outcome.target)
    add_never_cache_headers(response)
    return callback_session_adopt(request, response, outcome=outcome)


def _callback_redeem(request: HttpRequest, state: str) -> HttpResponse:
    """Verify the login platform's answer, then act on what the login was for."""
    pending = pending_pop(request, state=state)
    if pending is None:
        return page(request, "portal/login_error.html", {"expired": True}, status=400)
    if not oidc_client.authorization_response_issuer_valid(iss=request.GET.get("iss")):
        # RFC 9207: without the issuer the login platform advertises, or from another one, the
        # response may come from a mix-up attack; errors included.
        return page(request, "portal/login_error.html", {"expired": True}, status=400)
    error = request.GET.get("error")
    if error:
        # The user cancelled, or the login platform refused; its own pages explained why.
        purpose = pending.get("purpose")
        if identity_of(request) is not None and purpose != PURPOSE_LOGIN:
            messages.info(request, _("Du afbrød undervejs. Intet er ændret."))
            back = "portal:home" if purpose == PURPOSE_LINK else "portal:my-libraries"
            return HttpResponseRedirect(reverse(back))
        return page(request, "portal/login_error.html", {"cancelled": True, "error": error[:64]})
    code = request.GET.get("code", "")
    if not code or len(code) > 512:
        return page(request, "portal/login_error.html", {"expired": True}, status=400)
    try:
        result = oidc_client.code_exchange(
            code=code,
            code_verifier=str(pending.get("verifier", "")),
            nonce=str(pending.get("nonce", "")),
            max_age=pending.get("max_age"),
        )
        identity = identity_from_claims(claims=result.claims)
    except oidc_client.LoginServiceError as failure:
        logger.warning("Login could not finish: %s", failure.detail)
        return page(request, "portal/login_error.html", {"message": failure.message}, status=502)
    except ApplicationError as failure:
        return page(request, "portal/login_error.html", {"message": failure.message}, status=502)
    if identity.is_mitid:
        mitid_remember(request, auth_time=identity.auth_time, cpr=identity.cpr)
    purpose = pending.get("purpose")
    next_path = safe_next(request, pending.get("next"))
    if identity_of(request) is not None:
        # The login platform's session is now this login's, whatever the portal does with it.
        id_token_store(request, id_token=result.id_token)
    if purpose == PURPOSE_LINK:
        return _finish_link(request, identity, result.id_token, pending)
    if purpose == PURPOSE_ADD_LIBRARY:
        return _finish_add_library_login(request, identity, pending)
    if purpose == PURPOSE_ADD_LIBRARY_MITID:
        return _finish_add_library_mitid(request, identity)
    return _finish_login(request, identity, result.id_token, next_path)


def _finish_login(
    request: HttpRequest, identity: Identity, id_token: str, next_path: str | None
) -> HttpResponse:
    identity_login(request, identity=identity, id_token=id_token)
    if identity.is_profile and identity.guid:
        # R-PORTAL-2: the profile is created on the first login.
        login = profile_login_record(patron_guid=identity.guid)
        # R-PORTAL-16: the session's huskeliste joins the profile's, without duplicates.
        huskeliste_merge_on_login(request, profile=login.profile)
    step = login_next_step(identity=identity)
    if step == NextStep.OFFER_LINK:
        target = reverse("portal:link-offer")
    elif step == NextStep.LINKED_REQUIRES_MITID:
        target = reverse("portal:linked")
    elif step == NextStep.PROFILE:
        target = next_path or reverse("portal:profile")
    else:
        target = next_path or reverse("portal:home")
    response = HttpResponseRedirect(target)
    if identity.idp == IDP_BORCHK:
        response.set_cookie(
            LAST_LIBRARY_COOKIE,
            identity.agency_id,
            max_age=_LAST_LIBRARY_SECONDS,
            httponly=True,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


def _session_user_at_linkable_ffu(request: HttpRequest) -> tuple[Identity, Agency] | None:
    identity = identity_of(request)
    if identity is None or identity.is_profile or identity.idp != IDP_BORCHK:
        return None
    agency = agency_get(agency_id=identity.agency_id)
    if agency is None or not agency_is_linkable_ffu(agency=agency) or not identity.user_id:
        return None
    return identity, agency


@require_http_methods(["GET", "POST"])
@portal_view
def link_offer(request: HttpRequest) -> HttpResponse:
    """ "Vil du knytte <library> til en profil på Bibliotek.dk?" (R-PORTAL-5)."""
    found = _session_user_at_linkable_ffu(request)
    if found is None or found[0].culr_data_omitted:
        return HttpResponseRedirect(reverse("portal:home"))
    identity, agency = found
    if request.method == "POST":
        choice = request.POST.get("choice")
        if choice == "link":
            # R-PORTAL-6: step-up to MitID; a fresh MitID login, whoever was logged in before.
            return login_redirect(
                request,
                purpose=PURPOSE_LINK,
                params={"idp": "mitid", "acr_values": NSIS_SUBSTANTIAL, "prompt": "login"},
                data={
                    "agency_id": agency.agency_id,
                    "user_id": seal(identity.user_id),
                    "library_cpr": seal(identity.cpr) if identity.cpr else "",
                },
            )
        if choice == "never":
            link_offer_opt_out(agency_id=agency.agency_id, user_id=identity.user_id)
            messages.info(
                request,
                _("Vi spørger ikke igen de næste 90 dage. Du er logget ind uden profil."),
            )
            return HttpResponseRedirect(reverse("portal:home"))
        if choice == "not_now":
            messages.info(request, _("Du er logget ind uden profil."))
            return HttpResponseRedirect(reverse("portal:home"))
        messages.error(request, _("Vælg en af mulighederne."))
    return page(request, "portal/link_offer.html", {"agency": agency})


def _finish_link(
    request: HttpRequest, identity: Identity, id_token: str, pending: dict[str, Any]
) -> HttpResponse:
    agency_id = str(pending.get("agency_id", ""))
    if not identity.is_mitid:
        return page(request, "portal/login_error.html", {"not_mitid": True}, status=400)
    try:
        outcome = ffu_link_with_mitid(
            agency_id=agency_id,
            library_user_id=unseal(str(pending.get("user_id", ""))),
            library_cpr=unseal(str(pending.get("library_cpr", ""))) or None,
            mitid_cpr=identity.cpr,
        )
    except CprMismatch as mismatch:
        return page(request, "portal/cpr_mismatch.html", {"message": mismatch.message}, status=409)
    except ApplicationError as failure:
        return page(request, "portal/login_error.html", {"message": failure.message}, status=400)
    # R-PORTAL-6: the user lands on "Mine biblioteker" as a profile user.
    profiled = replace(identity, kind=PROFILE, guid=str(outcome.profile.patron_guid))
    identity_login(request, identity=profiled, id_token=id_token)
    huskeliste_merge_on_login(request, profile=outcome.profile)  # R-PORTAL-16
    messages.success(
        request,
        _("%(library)s er nu knyttet til din profil. Brug MitID, når du logger ind.")
        % {"library": agency_name(agency_id)},
    )
    return HttpResponseRedirect(reverse("portal:my-libraries"))


@require_http_methods(["GET", "POST"])
@portal_view
def linked(request: HttpRequest) -> HttpResponse:
    """ "Dit login ved <library> er knyttet til en profil, som kræver MitID" (R-PORTAL-7)."""
    found = _session_user_at_linkable_ffu(request)
    if found is None or not found[0].culr_data_omitted:
        return HttpResponseRedirect(reverse("portal:home"))
    identity, agency = found
    if request.method == "POST":
        choice = request.POST.get("choice")
        if choice == "mitid":
            return login_redirect(
                request,
                purpose=PURPOSE_LOGIN,
                params={"idp": "mitid", "acr_values": NSIS_SUBSTANTIAL},
            )
        if choice == "unlink":
            ffu_unlink(agency_id=agency.agency_id, library_user_id=identity.user_id)
            identity_update(request, identity=replace(identity, culr_data_omitted=False))
            messages.success(
                request,
                _(
                    "Tilknytningen til profilen er fjernet. Du er logget ind ved %(library)s "
                    "uden profil."
                )
                % {"library": agency.name},
            )
            return HttpResponseRedirect(reverse("portal:home"))
        if choice == "not_now":
            messages.info(request, _("Du er logget ind uden profil."))
            return HttpResponseRedirect(reverse("portal:home"))
        messages.error(request, _("Vælg en af mulighederne."))
    return page(request, "portal/linked.html", {"agency": agency})


def add_library_start(request: HttpRequest, *, agency: Agency) -> HttpResponse:
    """Start "Tilføj uddannelsesbibliotek": library login at that agency (R-PORTAL-11)."""
    return login_redirect(
        request,
        purpose=PURPOSE_ADD_LIBRARY,
        params={"agency": agency.agency_id, "idp": IDP_BORCHK, "prompt": "login"},
        data={"agency_id": agency.agency_id},
    )


def _finish_add_library_login(
    request: HttpRequest, identity: Identity, pending: dict[str, Any]
) -> HttpResponse:
    profile_identity = identity_of(request)
    agency_id = str(pending.get("agency_id", ""))
    if profile_identity is None or not profile_identity.is_profile:
        return page(request, "portal/login_error.html", {"expired": True}, status=400)
    if identity.idp != IDP_BORCHK or identity.agency_id != agency_id or not identity.user_id:
        return page(request, "portal/login_error.html", {"expired": True}, status=400)
    session_put(
        request,
        _ADD_INTENT,
        {
            "agency_id": agency_id,
            "user_id": seal(identity.user_id),
            "library_cpr": seal(identity.cpr) if identity.cpr else "",
            "at": int(time.time()),
        },
    )
    recent = mitid_recent(request)
    if recent is not None and mitid_is_fresh(auth_time=recent[0]):
        # R-PORTAL-11: a MitID login within the last 15 minutes counts.
        return _add_library_complete(request, mitid_cpr=recent[1])
    return login_redirect(
        request,
        purpose=PURPOSE_ADD_LIBRARY_MITID,
        params={
            "idp": "mitid",
            "acr_values": NSIS_SUBSTANTIAL,
            "max_age": str(MITID_FRESH_SECONDS),
        },
    )


def _finish_add_library_mitid(request: HttpRequest, identity: Identity) -> HttpResponse:
    if not identity.is_mitid:
        return page(request, "portal/login_error.html", {"not_mitid": True}, status=400)
    return _add_library_complete(request, mitid_cpr=identity.cpr)


def _add_library_complete(request: HttpRequest, *, mitid_cpr: str | None) -> HttpResponse:
    profile_identity = identity_of(request)
    intent = session_pop(request, _ADD_INTENT)
    if (
        profile_identity is None
        or not profile_identity.guid
        or not isinstance(intent, dict)
        or int(time.time()) - int(intent.get("at", 0)) > _ADD_INTENT_SECONDS
    ):
        return page(request, "portal/login_error.html", {"expired": True}, status=400)
    agency_id = str(intent.get("agency_id", ""))
    try:
        library_add_complete(
            patron_guid=profile_identity.guid,
            agency_id=agency_id,
            library_user_id=unseal(str(intent.get("user_id", ""))),
            library_cpr=unseal(str(intent.get("library_cpr", ""))) or None,
            mitid_cpr=mitid_cpr,
        )
    except CprMismatch as mismatch:
        return page(request, "portal/cpr_mismatch.html", {"message": mismatch.message}, status=409)
    except ApplicationError as failure:
        messages.error(request, failure.message)
        return HttpResponseRedirect(reverse("portal:my-libraries"))
    messages.success(
        request,
        _("%(library)s er tilføjet til dine biblioteker.") % {"library": agency_name(agency_id)},
    )
    return HttpResponseRedirect(reverse("portal:my-libraries"))
