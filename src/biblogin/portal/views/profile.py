"""Min profil, Mine biblioteker and Slet profil: pages for profile users only (R-PORTAL-3)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from biblogin.common.errors import ApplicationError
from biblogin.portal import oidc_client
from biblogin.portal.selectors import (
    addable_libraries,
    my_libraries,
    profile_is_cpr_verified,
)
from biblogin.portal.services import favourite_pickup_choose, library_remove
from biblogin.portal.session import portal_logout, portal_view
from biblogin.portal.views.auth import add_library_start
from biblogin.portal.views.common import identity_of, page, profile_of, profile_required
from biblogin.userdata.selectors import portal_link_agency_ids
from biblogin.userdata.services import profile_delete


def _guid(request: HttpRequest) -> str:
    identity = identity_of(request)
    assert identity is not None and identity.guid  # guaranteed by profile_required
    return identity.guid


@require_GET
@portal_view
@profile_required
def profile(request: HttpRequest) -> HttpResponse:
    """Min profil."""
    libraries = my_libraries(patron_guid=_guid(request))
    return page(request, "portal/profile.html", {"libraries": libraries})


@require_http_methods(["GET", "POST"])
@portal_view
@profile_required
def my_libraries_page(request: HttpRequest) -> HttpResponse:
    """Mine biblioteker: libraries, pickup branches, favourite pickup branch (R-PORTAL-10)."""
    guid = _guid(request)
    if request.method == "POST":
        try:
            favourite_pickup_choose(patron_guid=guid, branch_id=request.POST.get("branch_id", ""))
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Dit foretrukne afhentningssted er gemt."))
        return HttpResponseRedirect(reverse("portal:my-libraries"))
    libraries = my_libraries(patron_guid=guid)
    return page(
        request,
        "portal/my_libraries.html",
        {
            "libraries": libraries,
            "favourite": profile_of(request).favourite_pickup_branch_id,
            "can_add": profile_is_cpr_verified(patron_guid=guid)
            and bool(addable_libraries(patron_guid=guid)),
        },
    )


@require_http_methods(["GET", "POST"])
@portal_view
@profile_required
def library_add(request: HttpRequest) -> HttpResponse:
    """ "Tilføj uddannelsesbibliotek": choose an FFU library, then log in there (R-PORTAL-11)."""
    guid = _guid(request)
    verified = profile_is_cpr_verified(patron_guid=guid)
    candidates = addable_libraries(patron_guid=guid) if verified else []
    error = ""
    if request.method == "POST" and verified:
        chosen = request.POST.get("agency_id", "")
        agency = next((a for a in candidates if a.agency_id == chosen), None)
        if agency is not None:
            return add_library_start(request, agency=agency)
        error = _("Vælg et af bibliotekerne på listen.")
    return page(
        request,
        "portal/library_add.html",
        {"verified": verified, "candidates": candidates, "error": error},
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
@portal_view
@profile_required
def library_remove_page(request: HttpRequest, agency_id: str) -> HttpResponse:
    """Remove a library that does not deliver to CULR, after confirmation (R-PORTAL-12)."""
    guid = _guid(request)
    library = next(
        (lib for lib in my_libraries(patron_guid=guid) if lib.agency_id == agency_id), None
    )
    if library is None or not library.removable:
        messages.error(request, _("Det bibliotek kan ikke fjernes fra din profil."))
        return HttpResponseRedirect(reverse("portal:my-libraries"))
    if request.method == "POST":
        try:
            library_remove(patron_guid=guid, agency_id=agency_id)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, _("%(library)s er fjernet fra din profil.") % {"library": library.name}
            )
        return HttpResponseRedirect(reverse("portal:my-libraries"))
    return page(request, "portal/library_remove.html", {"library": library})


@require_http_methods(["GET", "POST"])
@portal_view
@profile_required
def profile_delete_page(request: HttpRequest) -> HttpResponse:
    """ "Slet profil": say what is and is not deleted, then delete (R-PORTAL-19)."""
    current = profile_of(request)
    if request.method == "POST":
        profile_delete(profile=current)
        hint = portal_logout(request)
        messages.success(
            request,
            _(
                "Din profil er slettet. Du er stadig registreret på dine biblioteker, og du kan "
                "altid logge ind igen."
            ),
        )
        url = oidc_client.end_session_url(id_token_hint=hint or None)
        return HttpResponseRedirect(url or reverse("portal:home"))
    guid = _guid(request)
    linked_here = set(portal_link_agency_ids(profile=current))
    libraries = my_libraries(patron_guid=guid)
    return page(
        request,
        "portal/profile_delete.html",
        {
            "removed_libraries": [lib for lib in libraries if lib.agency_id in linked_here],
            "kept_libraries": [lib for lib in libraries if lib.agency_id not in linked_here],
        },
    )
