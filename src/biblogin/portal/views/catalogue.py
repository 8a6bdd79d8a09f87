"""Search, the result page and the material page (issue 11 item 4); works without JavaScript."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from biblogin.catalogue.selectors import catalogue_search
from biblogin.common.errors import ApplicationError
from biblogin.portal.material import material_view
from biblogin.portal.results import results_view
from biblogin.portal.search import PAGE_SIZE, search_request_parse
from biblogin.portal.session import portal_view
from biblogin.portal.userlists import (
    huskeliste_pids,
    list_profile,
    recent_search_links,
    recent_search_remember,
)
from biblogin.portal.views.common import identity_of, login_url, page
from biblogin.userdata.keys import parse_pid

_SUGGESTIONS = 8


@require_GET
@portal_view
def search(request: HttpRequest) -> HttpResponse:
    """ "Søg": the result page with filters, facets, paging and sorting; the last searches."""
    wanted = search_request_parse(request.GET)
    identity = identity_of(request)
    if not wanted.query:
        return page(
            request,
            "portal/search.html",
            {"wanted": wanted, "recent": recent_search_links(request), "results": None},
        )
    lendable_at = identity.agency_id if wanted.lendable and identity is not None else None
    found = catalogue_search(
        query=wanted.query,
        material_types=wanted.material_types,
        year_from=wanted.year_from,
        year_to=wanted.year_to,
        languages=wanted.languages,
        lendable_at_agency=lendable_at,
        sort=wanted.sort,
        page=wanted.page,
        page_size=PAGE_SIZE,
    )
    if wanted.page == 1:
        recent_search_remember(request, query=wanted.query, params=wanted.params())
    return page(
        request,
        "portal/search.html",
        {
            "wanted": wanted,
            "search_query": wanted.query,
            "results": results_view(found=found, wanted=wanted, on_list=huskeliste_pids(request)),
            "recent": recent_search_links(request, skip=wanted),
            "can_save": identity is not None
            and identity.is_profile
            and list_profile(request) is not None,
            # R-PORTAL-17: a guest is asked to log in and comes back to save the search.
            "save_login_url": login_url(wanted.url(page=1) + "&gem=1") if identity is None else "",
            "save_asked": request.GET.get("gem") == "1",
            "lendable_possible": identity is not None,
        },
    )


@require_GET
@portal_view
def suggest(request: HttpRequest) -> JsonResponse:
    """Titles for suggestions while typing (JavaScript only improves the search field)."""
    wanted = search_request_parse(request.GET)
    titles: list[str] = []
    if len(wanted.query) >= 2:
        found = catalogue_search(query=wanted.query, page=1, page_size=_SUGGESTIONS)
        for hit in found.hits:
            if hit.title not in titles:
                titles.append(hit.title)
    response = JsonResponse({"suggestions": titles})
    response["Cache-Control"] = "private, max-age=60"
    return response


def order_url(pid: str) -> str:
    """The order flow's URL for this material, if the order flow exists (issue 13 fills it)."""
    try:
        return reverse("portal:order") + "?" + urlencode([("pid", pid)])
    except NoReverseMatch:
        return ""


@require_GET
@portal_view
def material(request: HttpRequest, pid: str) -> HttpResponse:
    """The material page: facts, manifestations, "Hvor findes den?", online access, "Bestil"."""
    try:
        pid = parse_pid(pid)
    except ApplicationError:
        return page(request, "portal/not_found.html", status=404)
    view = material_view(pid=pid)
    if view is None:
        return page(request, "portal/not_found.html", status=404)
    return page(
        request,
        "portal/material.html",
        {
            "material": view,
            "on_list": pid in huskeliste_pids(request),
            "order_url": order_url(pid),
        },
    )
