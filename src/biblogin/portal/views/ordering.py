"""The old "Bestil uden login" address, folded into the one order flow (R-ORDER-1, R-PORTAL-4).

The guest path of the one flow (``portal:order``) is the only place a guest types the library's
user parameters (R-VIP-7); this address only leads there, with the library's pickup branch.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_safe

from biblogin.portal.order_flow import guest_order_url, pids_parse
from biblogin.portal.session import portal_view
from biblogin.portal.views.common import page


@require_safe
@portal_view
def order_without_login(request: HttpRequest, agency_id: str) -> HttpResponse:
    """Redirect to the one order flow at this library (302: its branches may change)."""
    url = guest_order_url(agency_id=agency_id, pids=pids_parse(request.GET.getlist("pid")))
    if url is None:
        return page(request, "portal/not_found.html", status=404)
    return HttpResponseRedirect(url)
