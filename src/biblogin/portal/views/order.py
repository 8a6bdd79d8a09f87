"""The one order flow (R-ORDER-1): materials, pickup branch, who orders, PIN, "Godkend", receipt.

Guests (R-PORTAL-4, R-ORDER-4), session users (R-PORTAL-3) and profile users (R-PORTAL-2,
R-PORTAL-8) use the same pages; the rules are circulation's. Every page works without
JavaScript: choosing another pickup branch and removing a material are links.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from biblogin.circulation.materials import PERIODICAL_FIELDS, order_materials_judge
from biblogin.circulation.models import LineOutcome, OrdererKind
from biblogin.circulation.orderer import OrdererRefused, OrderRefusal, pin_required
from biblogin.circulation.orders import (
    MAX_MATERIALS,
    InvalidCode,
    OrderInvalid,
    order_get_for_owner,
    order_resume,
    order_submit,
)
from biblogin.circulation.pickup import (
    Registration,
    pickup_branch_default,
    pickup_branches_search,
    pickup_option_get,
)
from biblogin.common.errors import ApplicationError
from biblogin.portal.forms import OrderContactForm, OrderWithoutLoginForm
from biblogin.portal.identity import Identity
from biblogin.portal.order_flow import (
    contact_fields,
    contact_keep,
    contact_prefill,
    digital_article_right,
    guest_details_remember,
    guest_details_remembered,
    last_branch_remember,
    line_reason_message,
    order_contact_details,
    ordered_pids,
    ordered_remember,
    orderer_for,
    own_agency_ids,
    pickup_candidates,
    pids_parse,
    refusal_message,
)
from biblogin.portal.session import portal_view
from biblogin.portal.views.common import identity_of, page
from biblogin.registry.models import Agency
from biblogin.registry.selectors import agency_get

_GUEST_PREFIX = "laaner"
_CONTACT_PREFIX = "kontakt"
_INVALID_MESSAGES = {
    InvalidCode.NO_MATERIALS: _("Vælg mindst ét materiale at bestille."),
    InvalidCode.TOO_MANY_MATERIALS: _("Du kan bestille højst 25 materialer ad gangen."),
    InvalidCode.NOTHING_ORDERABLE: _(
        "Ingen af materialerne kan bestilles til dette afhentningssted."
    ),
    InvalidCode.PICKUP_NOT_ALLOWED: _("Vælg et afhentningssted."),
    InvalidCode.PICKUP_CLOSED: _("Afhentningsstedet er midlertidigt lukket. Vælg et andet."),
    InvalidCode.MOBILE_STOP_REQUIRED: _("Vælg, ved hvilket stoppested du vil hente."),
    InvalidCode.SUBMISSION_KEY_INVALID: _("Formularen er udløbet. Prøv igen."),
}


def _query(pids: list[str], **extra: str) -> str:
    pairs = [("pid", p) for p in pids] + [(k, v) for k, v in extra.items() if v]
    return "?" + urlencode(pairs)


def _material_url(pid: str) -> str:
    try:
        return reverse("portal:material", args=[pid])
    except NoReverseMatch:
        return ""


def _periodical_typed(data: QueryDict, pids: list[str]) -> dict[str, dict[str, str]]:
    typed: dict[str, dict[str, str]] = {}
    for index, pid in enumerate(pids):
        values = {name: data.get(f"{name}-{index}", "") for name in PERIODICAL_FIELDS}
        if any(values.values()):
            typed[pid] = values
    return typed


def _order_context(request: HttpRequest, data: QueryDict) -> dict[str, Any]:
    """Everything the order page shows, from the request's PIDs, branch and the user."""
    identity = identity_of(request)
    pids = pids_parse(data.getlist("pid"))
    own = own_agency_ids(identity)
    logged_in = identity is not None
    branch_id = data.get("filial", "")
    option = (
        pickup_option_get(branch_id=branch_id, own_agency_ids=own, logged_in=logged_in)
        if branch_id
        else pickup_branch_default(
            candidates=pickup_candidates(request, identity), own_agency_ids=own, logged_in=logged_in
        )
    )
    agency: Agency | None = agency_get(agency_id=option.agency_id) if option else None
    das = digital_article_right(identity)
    materials = (
        order_materials_judge(
            pids=pids[:MAX_MATERIALS],
            pickup_agency_id=agency.agency_id,
            digital_article_right=das,
            periodical_details=_periodical_typed(data, pids),
        )
        if agency is not None
        else []
    )
    library = agency.name if agency else ""
    rows = [
        {
            "m": m,
            "index": index,
            "reason": line_reason_message(m.reason, library=library) if m.reason else "",
            "remove_url": reverse("portal:order")
            + _query([p for p in pids if p != m.pid], filial=option.branch_id if option else ""),
            "material_url": _material_url(m.pid) if m.known else "",
        }
        for index, m in enumerate(materials)
    ]
    already = [m for m in materials if m.pid in ordered_pids(request)]
    orderer_probe = orderer_for(request, identity, details={})
    return {
        "pids": pids,
        "too_many": len(pids) > MAX_MATERIALS,
        "option": option,
        "agency": agency,
        "rows": rows,
        "orderable_count": sum(1 for m in materials if m.orderable),
        "already": already,
        "confirmed_again": data.get("igen") == "1",
        "again_url": reverse("portal:order")
        + _query(pids, filial=option.branch_id if option else "", igen="1"),
        "pickup_url": reverse("portal:order-pickup") + _query(pids),
        "identity": identity,
        "guest": identity is None,
        "guest_allowed": agency is not None and agency.accepts_orders_without_login,
        "pin_needed": agency is not None and pin_required(orderer=orderer_probe, agency=agency),
        "registered": option is not None and option.registration == Registration.REGISTERED,
        "digital_article_right": das,
    }


@require_http_methods(["GET", "POST"])
@portal_view
def order(request: HttpRequest) -> HttpResponse:
    """Bestil: GET shows the order; POST "Godkend" places it once (R-ORDER-1, R-ORDER-5)."""
    data = request.POST if request.method == "POST" else request.GET
    context = _order_context(request, data)
    agency: Agency | None = context["agency"]
    identity = context["identity"]
    remembered = guest_details_remembered(request)
    guest_form = None
    if context["guest"] and context["guest_allowed"] and agency is not None:
        initial = remembered.get(agency.agency_id) or {}
        guest_form = OrderWithoutLoginForm(
            request.POST if request.method == "POST" else None,
            agency=agency,
            prefix=_GUEST_PREFIX,
            initial={**initial, "remember": bool(initial)},
        )
    contact_form = _contact_form(request, context)
    error = ""
    status = 200
    if request.method == "GET" and context["option"] is not None and data.get("filial"):
        last_branch_remember(request, context["option"].branch_id)
    if request.method == "POST":
        outcome = _submit(request, context, guest_form, contact_form)
        if isinstance(outcome, HttpResponse):
            return outcome
        error, status = outcome
    if not context["pids"] and request.method == "POST":
        # A GET without materials shows where to find them (the page is no dead end).
        error = error or _("Vælg mindst ét materiale at bestille.")
        status = 400
    elif context["too_many"]:
        error = _("Du kan bestille højst 25 materialer ad gangen.")
        status = 400
    return page(
        request,
        "portal/order.html",
        {
            **context,
            "guest_form": guest_form,
            "contact_form": contact_form,
            "error": error,
            "key": request.POST.get("key", "") if request.method == "POST" else "",
            "new_key": secrets.token_urlsafe(24),
            "stop": data.get("stop", ""),
            "library": agency.name if agency else "",
            "login_url": reverse("portal:login")
            + "?"
            + urlencode({"next": request.get_full_path(), "bestilling": "1"}),
            "is_profile": bool(identity and identity.is_profile),
        },
        status=status,
    )


def _contact_form(request: HttpRequest, context: dict[str, Any]) -> OrderContactForm | None:
    """A registered, logged-in user's contact details for the pickup library (R-PORTAL-15)."""
    identity: Identity | None = context["identity"]
    agency: Agency | None = context["agency"]
    if identity is None or agency is None or not context["registered"]:
        return None
    fields = contact_fields(agency=agency)
    if not fields:
        return None
    if request.method == "POST":
        return OrderContactForm(
            request.POST, fields=fields, profile=identity.is_profile, prefix=_CONTACT_PREFIX
        )
    prefill, kept = contact_prefill(request, identity, agency_id=agency.agency_id)
    return OrderContactForm(
        fields=fields,
        profile=identity.is_profile,
        prefix=_CONTACT_PREFIX,
        initial={**prefill, "keep": kept},
    )


def _submit(
    request: HttpRequest,
    context: dict[str, Any],
    guest_form: OrderWithoutLoginForm | None,
    contact_form: OrderContactForm | None,
) -> HttpResponse | tuple[str, int]:
    """Place the order; return the redirect to the receipt, or (message, status)."""
    identity = context["identity"]
    agency: Agency | None = context["agency"]
    option = context["option"]
    if agency is None or option is None:
        return _("Vælg et afhentningssted."), 400
    if context["too_many"] or not context["pids"]:
        return "", 400
    details: dict[str, str] = {}
    if identity is None:
        if guest_form is None:
            return refusal_message(OrderRefusal.NO_ORDERS_WITHOUT_LOGIN, library=agency.name), 403
        if not guest_form.is_valid():
            return "", 400  # the form's own summary names each field (R-ORDER-4)
        details = guest_form.details()
    elif contact_form is not None:
        if not contact_form.is_valid():
            return "", 400  # R-PORTAL-15: a malformed value orders and saves nothing
        details = contact_form.values()
    if identity is not None:
        details = order_contact_details(identity, agency_id=agency.agency_id, typed=details)
    orderer = orderer_for(request, identity, details=details)
    materials = [row["m"].request for row in context["rows"] if row["m"].request is not None]
    try:
        result = order_submit(
            submission_key=request.POST.get("key", ""),
            orderer=orderer,
            pickup_branch_id=option.branch_id,
            mobile_stop=request.POST.get("stop", ""),
            materials=materials,
            pin=request.POST.get("pin", ""),
        )
    except OrderInvalid as invalid:
        return str(_INVALID_MESSAGES.get(InvalidCode(invalid.code), _("Prøv igen."))), 400
    except OrdererRefused as refused:
        if refused.code == OrderRefusal.USER_PARAMETERS_INVALID:
            return _("Ret de markerede felter."), 400
        message = refusal_message(
            refused.code, library=agency.name, attempts_left=refused.attempts_left
        )
        return message, 429 if refused.code == OrderRefusal.PIN_THROTTLED else 403
    last_branch_remember(request, option.branch_id)
    ordered_remember(request, [m.pid for m in materials if m.orderable])
    if guest_form is not None and identity is None:
        guest_details_remember(
            request,
            agency_id=agency.agency_id,
            details=details if guest_form.cleaned_data.get("remember") else None,
        )
    if contact_form is not None and identity is not None:
        _contact_keep(request, identity, agency, contact_form)
    return HttpResponseRedirect(
        reverse("portal:order-receipt", args=[result.order.public_id]), status=303
    )


def _contact_keep(
    request: HttpRequest, identity: Identity, agency: Agency, form: OrderContactForm
) -> None:
    """After the order: keep the contact details if asked (the order stands either way)."""
    try:
        saved = contact_keep(
            request,
            identity,
            agency_id=agency.agency_id,
            values=form.values(),
            keep=bool(form.cleaned_data.get("keep")),
        )
    except ApplicationError as problem:
        messages.warning(
            request,
            _("Dine oplysninger blev ikke gemt: %(reason)s") % {"reason": problem.message},
        )
        return
    if saved and identity.is_profile:
        messages.success(
            request,
            _("Dine oplysninger til %(library)s er gemt til næste gang.")
            % {"library": agency.name},
        )


def _owner(request: HttpRequest) -> str:
    return orderer_for(request, identity_of(request), details={}).owner


@require_http_methods(["GET", "POST"])
@portal_view
def order_receipt(request: HttpRequest, public_id: str) -> HttpResponse:
    """Kvittering (R-ORDER-7): what was ordered and what failed; "Prøv igen" reconciles."""
    found = order_get_for_owner(public_id=public_id, owner=_owner(request))
    if found is None:
        return page(request, "portal/not_found.html", status=404)
    if request.method == "POST":
        order_resume(order=found)  # R-ORDER-5: the same line keys, so nothing twice
        return HttpResponseRedirect(
            reverse("portal:order-receipt", args=[found.public_id]), status=303
        )
    agency = agency_get(agency_id=found.pickup_agency_id)
    library = agency.name if agency else found.pickup_agency_id
    option = pickup_option_get(branch_id=found.pickup_branch_id, own_agency_ids=[], logged_in=True)
    lines: list[dict[str, Any]] = [
        {
            "line": line,
            "reason": line_reason_message(line.reason_code, library=library, text=line.reason_text)
            if line.outcome not in (LineOutcome.PLACED, LineOutcome.PENDING)
            else "",
        }
        for line in found.lines.all()
    ]
    return page(
        request,
        "portal/order_receipt.html",
        {
            "order": found,
            "lines": lines,
            "placed": [x for x in lines if x["line"].outcome == LineOutcome.PLACED],
            "failed": [x for x in lines if x["line"].outcome != LineOutcome.PLACED],
            "retry": any(
                x["line"].outcome in (LineOutcome.UNCERTAIN, LineOutcome.PENDING) for x in lines
            ),
            "library": library,
            "branch": option,
            "is_profile": found.orderer_kind == OrdererKind.PROFILE,
        },
    )


@require_GET
@portal_view
def order_pickup(request: HttpRequest) -> HttpResponse:
    """Skift afhentningssted: search by name, address or postal code; own libraries first."""
    identity = identity_of(request)
    pids = pids_parse(request.GET.getlist("pid"))
    query = request.GET.get("q", "")
    query = query[:100] if isinstance(query, str) else ""
    options = pickup_branches_search(
        query=query, own_agency_ids=own_agency_ids(identity), logged_in=identity is not None
    )
    rows = [
        {
            "o": o,
            "url": reverse("portal:order") + _query(pids, filial=o.branch_id),
        }
        for o in options
    ]
    return page(
        request,
        "portal/order_pickup.html",
        {
            "pids": pids,
            "query": query,
            "rows": rows,
            "back_url": reverse("portal:order") + _query(pids),
            "logged_in": identity is not None,
        },
    )
