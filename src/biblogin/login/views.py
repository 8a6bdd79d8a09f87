"""Login pages: the library picker, library login, MitID, and the journey back to the client.

Views parse, call one service, and render. Every page works without JavaScript.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from biblogin.borrowercheck.services import (
    BorrowerCheckStatus,
    borrower_check_registry,
    registry_verdicts_per_request,
)
from biblogin.common.models import User
from biblogin.integrations.mitid_broker.client import (
    mitid_authorization_finish,
    mitid_authorization_start,
)
from biblogin.integrations.mitid_broker.errors import MitIDCancelled, MitIDError
from biblogin.login import journey
from biblogin.login.backends import (
    LIBRARY_LOGIN_BACKEND,
    MITID_BACKEND,
    library_login_authenticate,
    mitid_login_authenticate,
)
from biblogin.login.constants import IdentityProvider
from biblogin.login.forms import (
    LibraryLoginForm,
    LibrarySearchForm,
    library_login_form_blank,
    user_id_label,
)
from biblogin.login.messages import attempts_left_message, status_message, wait_message
from biblogin.login.models import Authentication
from biblogin.login.policy import ClientPolicy, client_policy_get
from biblogin.login.selectors import library_contact_get
from biblogin.login.services import LibraryLoginOutcome, MitIDDenyReason
from biblogin.registry import selectors as registry
from biblogin.registry.models import AgencyType

REMEMBER_COOKIE = "biblogin_library"
REMEMBER_SECONDS = 365 * 24 * 3600

_GROUPS = (
    (AgencyType.FOLKEBIBLIOTEK, gettext_lazy("Folkebiblioteker")),
    (AgencyType.FORSKNINGSBIBLIOTEK, gettext_lazy("Forsknings- og uddannelsesbiblioteker")),
)


# --- helpers ---------------------------------------------------------------------------------


def _plan_and_client(request: HttpRequest) -> tuple[journey.Plan, ClientPolicy] | None:
    raw = request.POST.get("plan") if request.method == "POST" else request.GET.get("plan")
    plan = journey.plan_get(session=request.session, plan_id=raw or request.GET.get("plan"))
    if plan is None:
        return None
    _speak_the_clients_language(request, plan)
    client = client_policy_get(client_id=plan.client_id)
    return (plan, client) if client is not None else None


def _plan_for(request: HttpRequest, idp: str) -> tuple[journey.Plan, ClientPolicy] | HttpResponse:
    """The page's plan and client, or the answer when the plan is gone or may not use ``idp``."""
    found = _plan_and_client(request)
    if found is None:
        return _expired(request)
    plan, _client = found
    if journey.plan_answered(plan=plan):
        # Back to a login page after the login (the browser's back button, an old tab): the
        # client has its answer; give it again rather than a dead end.
        return HttpResponseRedirect(journey.resume_url(plan))
    if idp not in plan.idps:
        return HttpResponseRedirect(journey.login_entry_url(plan))
    return found


def _speak_the_clients_language(request: HttpRequest, plan: journey.Plan) -> None:
    """The language the client asked for (``ui_locales``), unless the user chose one here."""
    if plan.language and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES:
        translation.activate(plan.language)
        request.LANGUAGE_CODE = plan.language


def _expired(request: HttpRequest) -> HttpResponse:
    """The plan is gone: say so, and offer what can still be done (issue 10, item 9)."""
    raw = request.POST.get("plan") if request.method == "POST" else request.GET.get("plan")
    stale = journey.plan_get_stale(session=request.session, plan_id=raw or request.GET.get("plan"))
    client = client_policy_get(client_id=stale.client_id) if stale is not None else None
    if stale is not None:
        _speak_the_clients_language(request, stale)
    return render(
        request,
        "login/expired.html",
        {
            "client": client,
            # A fresh login for the same client: choose a library (another one) or MitID there.
            "restart_url": journey.restart_url(stale) if stale and client else "",
        },
        status=400,
    )


def _login_finish(
    request: HttpRequest,
    plan: journey.Plan,
    user: User,
    authentication: Authentication,
    backend: str,
) -> HttpResponse:
    """Log the identity in (new session key, R-SEC-1), remember the login, resume the client."""
    kept = journey.journey_state(session=request.session)
    login(request, user, backend=backend)
    journey.journey_restore(session=request.session, state=kept)
    journey.recent_login_add(
        session=request.session,
        entry=journey.RecentLogin(
            a=authentication.pk,
            u=user.pk,
            idp=authentication.idp,
            agency=authentication.agency_id,
            t=int(authentication.auth_time.timestamp()),
            acr=authentication.acr,
        ),
    )
    plan.done = authentication.pk
    plan.mitid = None
    journey.plan_save(session=request.session, plan=plan)
    return HttpResponseRedirect(journey.resume_url(plan))


def _base_context(plan: journey.Plan, client: ClientPolicy) -> dict[str, Any]:
    return {
        "plan": plan,
        "client": client,
        "mitid_allowed": IdentityProvider.MITID in plan.idps,
        "library_allowed": IdentityProvider.BORCHK in plan.idps,
    }


def _notice_take(request: HttpRequest, plan: journey.Plan) -> str | None:
    notice = plan.notice
    if notice:
        plan.notice = None
        journey.plan_save(session=request.session, plan=plan)
    return notice


# --- the library picker (R-LOGIN-3) ----------------------------------------------------------


@never_cache
@require_GET
def picker(request: HttpRequest) -> HttpResponse:
    found = _plan_for(request, IdentityProvider.BORCHK)
    if isinstance(found, HttpResponse):
        return found
    plan, client = found
    form = LibrarySearchForm(request.GET)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    groups: list[dict[str, Any]] = []
    if query:
        agencies = registry.agencies_search(
            query=query,
            agency_type=plan.agencytype,
            service_requester=client.service_requester,
        )
        for agency_type, title in _GROUPS:
            members = [a for a in agencies if a.agency_type == agency_type]
            if members:
                groups.append({"title": title, "agencies": members})
        grouped = {agency_type for agency_type, _title in _GROUPS}
        others = [a for a in agencies if a.agency_type not in grouped]
        if others:
            groups.append({"title": _("Andre biblioteker"), "agencies": others})
    suggestions: list[dict[str, Any]] = []
    for agency_id, why in (
        (plan.presel, _("Foreslået")),
        (request.COOKIES.get(REMEMBER_COOKIE), _("Dit bibliotek")),
    ):
        if not agency_id:
            continue
        # Offered only where a library login can work (R-LOGIN-3): the borrower check's rules.
        verdict = borrower_check_registry(
            service_requester=client.service_requester, agency_id=agency_id
        )
        agency = verdict.agency
        already = {s["agency"].agency_id for s in suggestions}
        if agency is not None and verdict.status is None and agency.agency_id not in already:
            suggestions.append({"agency": agency, "why": why})
    context = _base_context(plan, client) | {
        "form": form,
        "query": query,
        "groups": groups,
        "suggestions": suggestions,
        "searched": bool(query),
        "notice": _notice_take(request, plan),
    }
    return render(request, "login/picker.html", context)


# --- library login (R-LOGIN-4, R-LOGIN-5) ----------------------------------------------------


@never_cache
@sensitive_post_parameters("password")  # R-BC-5: never in an error report
@require_http_methods(["GET", "POST"])
@registry_verdicts_per_request()  # the page and the borrower check read the registry once
def library(request: HttpRequest, agency_id: str) -> HttpResponse:
    found = _plan_for(request, IdentityProvider.BORCHK)
    if isinstance(found, HttpResponse):
        return found
    plan, client = found
    if plan.agency and plan.agency != agency_id:
        # R-LOGIN-3: ``agency`` locks the library.
        return HttpResponseRedirect(journey.login_entry_url(plan))
    # The registry's answers need no PIN: say them before the user types anything.
    verdict = borrower_check_registry(
        service_requester=client.service_requester, agency_id=agency_id
    )
    agency = verdict.agency
    kinds = registry.agency_user_id_kinds(agency=agency) if agency else []
    label = str(user_id_label(kinds))
    library_name = agency.name if agency else agency_id
    context = _base_context(plan, client) | {
        "agency": agency,
        "agency_id": agency_id,
        "locked": bool(plan.agency),
        "user_id_label": label,
    }
    status = verdict.status
    if status is not None:
        context["message"] = status_message(
            status, library=library_name, client=client.display_name, user_id_label=label
        )
        context["status"] = status.value
        return render(request, "login/library.html", context, status=200)

    remembered = request.COOKIES.get(REMEMBER_COOKIE) == agency_id
    if request.method == "GET":
        context["form"] = library_login_form_blank(kinds=kinds, remember=remembered)
        return render(request, "login/library.html", context)

    form = LibraryLoginForm(request.POST, kinds=kinds)
    context["form"] = form
    if not form.is_valid():
        context["message"] = status_message(
            BorrowerCheckStatus.ERROR_IN_REQUEST,
            library=library_name,
            client=client.display_name,
            user_id_label=label,
        )
        context["status"] = BorrowerCheckStatus.ERROR_IN_REQUEST.value
        form.problem_show(message_id="login-error")
        return render(request, "login/library.html", context, status=400)
    branch_id = plan.branch if plan.branch and plan.agency == agency_id else ""
    outcome = library_login_authenticate(
        request,
        agency_id=agency_id,
        user_id=form.cleaned_data["user_id"],
        password=form.cleaned_data["password"],
        client=client,
        branch_id=branch_id,
    )
    if outcome.throttled:
        return _blocked(request, context, outcome)
    if outcome.user is None or outcome.authentication is None:
        assert outcome.status is not None
        context["message"] = status_message(
            outcome.status, library=library_name, client=client.display_name, user_id_label=label
        )
        context["status"] = outcome.status.value
        if outcome.status == BorrowerCheckStatus.BORROWER_NOT_FOUND:
            context["attempts_left"] = attempts_left_message(outcome.throttle.attempts_left)
        # A fresh form: the PIN is never sent back to the browser (R-BC-5).
        context["form"] = LibraryLoginForm(
            kinds=kinds,
            initial={"user_id": form.cleaned_data["user_id"], "remember": remembered},
        )
        context["form"].problem_show(message_id="login-error")
        return render(request, "login/library.html", context)
    response = _login_finish(
        request, plan, outcome.user, outcome.authentication, LIBRARY_LOGIN_BACKEND
    )
    if form.cleaned_data["remember"]:
        response.set_cookie(
            REMEMBER_COOKIE,
            agency_id,
            max_age=REMEMBER_SECONDS,
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    elif remembered:
        response.delete_cookie(REMEMBER_COOKIE, samesite="Lax")
    return response


def _blocked(
    request: HttpRequest, context: dict[str, Any], outcome: LibraryLoginOutcome
) -> HttpResponse:
    """R-LOGIN-5: 429 while the pair or the IP is blocked; the PIN was not checked."""
    seconds = max(outcome.throttle.retry_after, 1)
    context["wait"] = wait_message(seconds)
    context["by_ip"] = outcome.throttle.by_ip
    agency = context.get("agency")
    context["contact"] = library_contact_get(agency=agency) if agency is not None else None
    response = render(request, "login/blocked.html", context, status=429)
    response["Retry-After"] = str(seconds)
    return response


@require_POST
def cancel(request: HttpRequest) -> HttpResponse:
    """The user gives up: the client gets ``access_denied``."""
    found = _plan_and_client(request)
    if found is None:
        return _expired(request)
    plan, _client = found
    if not journey.plan_answered(plan=plan):  # a login already given stands
        plan.extra["cancelled"] = True
        journey.plan_save(session=request.session, plan=plan)
    return HttpResponseRedirect(journey.resume_url(plan))


# --- MitID (R-LOGIN-6, R-LOGIN-10) -----------------------------------------------------------


def _mitid_problem(
    request: HttpRequest,
    plan: journey.Plan,
    client: ClientPolicy,
    message: str,
    status: int = 200,
) -> HttpResponse:
    if IdentityProvider.BORCHK in plan.idps and not plan.agency:
        plan.notice = message
        journey.plan_save(session=request.session, plan=plan)
        return HttpResponseRedirect(reverse("login:picker") + f"?plan={plan.id}")
    context = _base_context(plan, client) | {"title": _("Login med MitID"), "message": message}
    return render(request, "login/message.html", context, status=status)


@never_cache
@require_GET
def mitid_start(request: HttpRequest) -> HttpResponse:
    found = _plan_for(request, IdentityProvider.MITID)
    if isinstance(found, HttpResponse):
        return found
    plan, client = found
    redirect_uri = request.build_absolute_uri(reverse("login:mitid-callback"))
    # A fresh MitID login when the client asked for one, or for a login of a given age.
    prompt = "login" if plan.force or plan.max_age is not None else None
    try:
        url, kept = mitid_authorization_start(
            redirect_uri=redirect_uri, acr_values=plan.min_acr, prompt=prompt
        )
    except MitIDError as error:
        return _mitid_problem(request, plan, client, error.message, status=503)
    plan.mitid = kept
    journey.plan_save(session=request.session, plan=plan)
    return HttpResponseRedirect(url)


@never_cache
@require_GET
def mitid_callback(request: HttpRequest) -> HttpResponse:
    params = {
        k: v
        for k in ("code", "state", "error", "error_description", "iss")
        if isinstance(v := request.GET.get(k), str)
    }
    plan = journey.plan_for_mitid_state(session=request.session, state=params.get("state"))
    # An error without state (some brokers, the test broker among them, omit it) is shown for
    # the newest MitID login but cannot end it: anyone can send a browser to this URL, and the
    # broker's own answer, with the state, must still be taken (RFC 9700 §4.7).
    stateless_error = "error" in params and "state" not in params
    if plan is None and stateless_error:
        plan = journey.plan_latest_with_mitid(session=request.session)
    if plan is None or not plan.mitid:
        return _expired(request)
    client = client_policy_get(client_id=plan.client_id)
    if client is None:
        return _expired(request)
    kept = plan.mitid
    if not stateless_error:
        plan.mitid = None  # one answer per MitID login
        journey.plan_save(session=request.session, plan=plan)
    try:
        identity = mitid_authorization_finish(params=params, kept=kept)
    except MitIDCancelled as error:
        return _mitid_problem(request, plan, client, error.message)
    except MitIDError as error:
        return _mitid_problem(request, plan, client, error.message)
    outcome = mitid_login_authenticate(
        request, mitid_identity=identity, client=client, min_acr=plan.min_acr
    )
    if outcome.user is None or outcome.authentication is None:
        if outcome.decision.reason == MitIDDenyReason.LEVEL_TOO_LOW:
            message = _("Dit MitID-login var ikke på det sikringsniveau, %(client)s kræver.") % {
                "client": client.display_name
            }
        else:
            message = _("MitID kan ikke bruges til login hos %(client)s.") % {
                "client": client.display_name
            }
        return _mitid_problem(request, plan, client, message)
    return _login_finish(request, plan, outcome.user, outcome.authentication, MITID_BACKEND)


# --- after logout ----------------------------------------------------------------------------


@require_GET
def logged_out(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "login/message.html",
        {"title": _("Du er logget ud"), "message": _("Du er logget ud af bibliotekslogin.")},
    )
