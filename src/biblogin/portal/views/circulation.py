"""Lån og reserveringer (R-PORTAL-13) and Dine adgange (R-PORTAL-14), for every logged-in user.

A profile user sees all their libraries; a session user their login library (R-PORTAL-3).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from biblogin.circulation.selectors import (
    CirculationUser,
    access_rights_for,
    circulation_overview_for,
)
from biblogin.circulation.services import (
    loan_renew_for,
    reservation_delete_for,
    reservation_get_for,
)
from biblogin.common.errors import ApplicationError
from biblogin.portal.session import portal_view
from biblogin.portal.views.common import circulation_user, identity_of, login_url, page

View = TypeVar("View", bound=Callable[..., HttpResponse])


def _logged_in(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        identity = identity_of(request)
        if identity is None:
            return HttpResponseRedirect(login_url(request.get_full_path()))
        request.circulation_user = circulation_user(identity)  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return cast(View, wrapper)


def _user(request: HttpRequest) -> CirculationUser:
    return cast(CirculationUser, request.circulation_user)  # type: ignore[attr-defined]


def _material_url(pid: str | None) -> str:
    if not pid:
        return ""
    try:
        return reverse("portal:material", args=[pid])
    except NoReverseMatch:
        # The material page is not part of this deployment (yet): the title, unlinked.
        return ""


@require_GET
@portal_view
@_logged_in
def loans(request: HttpRequest) -> HttpResponse:
    """Lån og reserveringer from all the user's libraries at once (R-PORTAL-13)."""
    overview = circulation_overview_for(user=_user(request))
    return page(
        request,
        "portal/loans.html",
        {
            "overview": overview,
            "loans": [(loan, _material_url(loan.catalogue_pid)) for loan in overview.loans],
            "reservations": [(r, _material_url(r.catalogue_pid)) for r in overview.reservations],
        },
    )


@require_POST
@portal_view
@_logged_in
def loan_renew(request: HttpRequest) -> HttpResponse:
    """Renew one loan: its new due date, or the library's refusal in words (R-PORTAL-13)."""
    try:
        renewed = loan_renew_for(
            user=_user(request),
            agency_id=request.POST.get("agency_id", ""),
            loan_id=request.POST.get("loan_id", ""),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("%(title)s er fornyet. Ny afleveringsdato: %(date)s.")
            % {"title": renewed.title, "date": formats.date_format(renewed.due_date, "j. F Y")},
        )
    return HttpResponseRedirect(reverse("portal:loans"))


@require_http_methods(["GET", "POST"])
@portal_view
@_logged_in
def reservation_delete(request: HttpRequest, agency_id: str, reservation_id: str) -> HttpResponse:
    """Delete a reservation after a confirmation that says what is given up (R-PORTAL-13)."""
    user = _user(request)
    try:
        library, reservation = reservation_get_for(
            user=user, agency_id=agency_id, reservation_id=reservation_id
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(reverse("portal:loans"))
    if request.method == "POST":
        try:
            reservation_delete_for(user=user, agency_id=agency_id, reservation_id=reservation_id)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("Reserveringen af %(title)s er slettet.") % {"title": reservation.title},
            )
        return HttpResponseRedirect(reverse("portal:loans"))
    return page(
        request,
        "portal/reservation_delete.html",
        {"library": library, "reservation": reservation},
    )


@require_GET
@portal_view
@_logged_in
def access(request: HttpRequest) -> HttpResponse:
    """Dine adgange: the online services the user has, and which library grants each."""
    return page(request, "portal/access.html", {"rights": access_rights_for(user=_user(request))})
