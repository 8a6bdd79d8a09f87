"""Gemte oplysninger: e-mail, phone and order details per library of the profile (R-PORTAL-15)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from biblogin.common.errors import ApplicationError
from biblogin.portal.forms import SavedLibraryInfoForm
from biblogin.portal.selectors import my_libraries
from biblogin.portal.session import portal_view
from biblogin.portal.views.common import page, profile_of, profile_required
from biblogin.registry.models import Agency
from biblogin.registry.selectors import agencies_get_many
from biblogin.userdata.saved_info import (
    saveable_parameter_types,
    saved_library_info_save,
    saved_library_infos,
)


def _libraries(request: HttpRequest) -> list[Agency]:
    profile = profile_of(request)
    ids = [lib.agency_id for lib in my_libraries(patron_guid=profile.patron_guid) if lib.known]
    return agencies_get_many(agency_ids=ids, with_order_user_parameters=True)


@require_http_methods(["GET", "POST"])
@portal_view
@profile_required
def saved_info(request: HttpRequest) -> HttpResponse:
    """One form per library; saving one leaves the others as they are."""
    profile = profile_of(request)
    libraries = _libraries(request)
    saved = saved_library_infos(profile=profile)
    forms: list[SavedLibraryInfoForm] = []
    status = 200
    posted = request.POST.get("agency_id", "") if request.method == "POST" else None
    if posted is not None and posted not in {a.agency_id for a in libraries}:
        messages.error(request, _("Biblioteket er ikke et af dine biblioteker."))
        return HttpResponseRedirect(reverse("portal:saved-info"))
    for agency in libraries:
        types = saveable_parameter_types(agency=agency)
        if agency.agency_id == posted:
            form = SavedLibraryInfoForm(request.POST, agency=agency, parameter_types=types)
            if form.is_valid():
                try:
                    saved_library_info_save(
                        profile=profile,
                        agency_id=agency.agency_id,
                        email=form.cleaned_data.get("email") or "",
                        phone=form.cleaned_data.get("phone") or "",
                        parameters=form.parameters(),
                    )
                except ApplicationError as error:
                    form.add_error(None, error.message)
                else:
                    messages.success(
                        request,
                        _("Dine oplysninger til %(library)s er gemt.") % {"library": agency.name},
                    )
                    return HttpResponseRedirect(reverse("portal:saved-info"))
            status = 400
        else:
            info = saved.get(agency.agency_id)
            initial = {"email": info.email, "phone": info.phone, **info.parameters} if info else {}
            form = SavedLibraryInfoForm(initial=initial, agency=agency, parameter_types=types)
        forms.append(form)
    return page(request, "portal/saved_info.html", {"forms": forms}, status=status)
