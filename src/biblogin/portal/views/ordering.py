"""The order form without login: the library's own user parameters (R-PORTAL-4, R-VIP-7)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from biblogin.common.errors import NotFound
from biblogin.portal.forms import OrderWithoutLoginForm
from biblogin.portal.identity import seal, unseal
from biblogin.portal.selectors import agency_get_for_login
from biblogin.portal.session import portal_view, session_get, session_put
from biblogin.portal.views.common import page

_KEY = "guest_order_details"


@require_http_methods(["GET", "POST"])
@portal_view
def order_without_login(request: HttpRequest, agency_id: str) -> HttpResponse:
    """Type the details the library needs to accept an order without login (R-PORTAL-4)."""
    try:
        agency = agency_get_for_login(agency_id=agency_id)
    except NotFound:
        return page(request, "portal/not_found.html", status=404)
    if not agency.accepts_orders_without_login:
        return page(request, "portal/order_not_possible.html", {"agency": agency}, status=404)
    remembered: dict[str, dict[str, str]] = {}
    stored = session_get(request, _KEY)
    if isinstance(stored, str) and stored:
        try:
            # Sealed: the details may hold a CPR (R-CULR-5).
            remembered = json.loads(unseal(stored) or "{}")
        except ValueError:
            remembered = {}
    if request.method == "POST":
        form = OrderWithoutLoginForm(request.POST, agency=agency)
        if form.is_valid():
            if form.cleaned_data.get("remember"):
                remembered[agency.agency_id] = form.details()
                messages.success(
                    request,
                    _(
                        "Dine oplysninger til bestilling hos %(library)s er gemt, så længe du "
                        "bruger Bibliotek.dk i denne browser."
                    )
                    % {"library": agency.name},
                )
            else:
                remembered.pop(agency.agency_id, None)
                messages.success(
                    request,
                    _("Dine oplysninger til bestilling hos %(library)s er klar.")
                    % {"library": agency.name},
                )
            session_put(request, _KEY, seal(json.dumps(remembered)) if remembered else "")
            return HttpResponseRedirect(
                reverse("portal:order-without-login", args=[agency.agency_id])
            )
    else:
        initial = remembered.get(agency.agency_id)
        form = OrderWithoutLoginForm(
            initial={**(initial or {}), "remember": bool(initial)}, agency=agency
        )
    return page(
        request,
        "portal/order_without_login.html",
        {"agency": agency, "form": form, "remembered": agency.agency_id in remembered},
        status=400 if form.is_bound and form.errors else 200,
    )
