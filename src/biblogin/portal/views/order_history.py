"""Bestillingshistorik: profile users' orders, 30 days unless they consent (R-PORTAL-18)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from biblogin.circulation.history import (
    HISTORY_DAYS,
    order_history_consent_give,
    order_history_consent_revoke,
    order_history_consented,
    order_history_for,
)
from biblogin.portal.session import portal_view
from biblogin.portal.views.common import identity_of, page, profile_required
from biblogin.registry.selectors import branch_names


@require_http_methods(["GET", "POST"])
@portal_view
@profile_required
def order_history_page(request: HttpRequest) -> HttpResponse:
    """List the orders; give or revoke consent to longer storage."""
    identity = identity_of(request)
    assert identity is not None and identity.guid  # profile_required
    guid = identity.guid
    if request.method == "POST":
        choice = request.POST.get("consent")
        if choice == "give":
            order_history_consent_give(patron_guid=guid)
            messages.success(request, _("Din bestillingshistorik gemmes nu, indtil du siger fra."))
        elif choice == "revoke":
            deleted = order_history_consent_revoke(patron_guid=guid)
            messages.success(
                request,
                _("Samtykket er trukket tilbage. %(count)s ældre bestillinger er slettet.")
                % {"count": deleted},
            )
        return HttpResponseRedirect(reverse("portal:order-history"), status=303)
    orders = order_history_for(patron_guid=guid)
    names = branch_names(branch_ids={o.pickup_branch_id for o in orders})
    return page(
        request,
        "portal/order_history.html",
        {
            "orders": [(o, names.get(o.pickup_branch_id, o.pickup_branch_id)) for o in orders],
            "consented": order_history_consented(patron_guid=guid),
            "days": HISTORY_DAYS,
        },
    )
