"""Huskeliste for everyone (R-PORTAL-16) and Gemte søgninger for profile users (R-PORTAL-17)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from biblogin.catalogue.selectors import manifestation_get, manifestations_get
from biblogin.common.errors import ApplicationError
from biblogin.portal.search import search_request_parse
from biblogin.portal.session import portal_view
from biblogin.portal.userlists import (
    huskeliste_add,
    huskeliste_page,
    huskeliste_pids,
    huskeliste_remove,
)
from biblogin.portal.views.common import page, profile_of, profile_required, safe_next
from biblogin.userdata.keys import parse_pid
from biblogin.userdata.selectors import (
    BOOKMARKS_SELECTION_MAX,
    bookmark_selection_parse,
    bookmark_sort_parse,
    page_number_parse,
    saved_search_get,
    saved_searches_list,
)
from biblogin.userdata.services import (
    saved_search_create,
    saved_search_delete,
    saved_search_rename,
)


def _order_base() -> str:
    try:
        return reverse("portal:order")
    except NoReverseMatch:
        return ""


def _bookmarks_url(sort: str, number: int, *, select_all: bool = False) -> str:
    params = [("sortering", sort), ("side", str(number))]
    if select_all:
        params.append(("vaelg", "alle"))
    return reverse("portal:bookmarks") + "?" + urlencode(params)


@require_http_methods(["GET", "POST"])
@portal_view
def bookmarks(request: HttpRequest) -> HttpResponse:
    """Huskeliste: sort, page by 25, select all, remove selected, order selected (max 25)."""
    data = request.POST if request.method == "POST" else request.GET
    sort = bookmark_sort_parse(data.get("sortering"))
    number = page_number_parse(data.get("side"))
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            chosen = bookmark_selection_parse(
                pids=request.POST.getlist("pid"), on_list=huskeliste_pids(request)
            )
        except ApplicationError as error:
            messages.error(request, error.message)
            return HttpResponseRedirect(_bookmarks_url(sort, number))
        if not chosen:
            messages.error(request, _("Vælg mindst ét materiale."))
        elif action == "remove":
            removed = huskeliste_remove(request, pids=chosen)
            messages.success(
                request,
                ngettext(
                    "%(count)d materiale er fjernet fra huskelisten.",
                    "%(count)d materialer er fjernet fra huskelisten.",
                    removed,
                )
                % {"count": removed},
            )
        elif action == "order" and _order_base():
            # The order flow takes the selection (R-ORDER-1: at most 25 materials at a time).
            return HttpResponseRedirect(
                _order_base() + "?" + urlencode([("pid", pid) for pid in chosen])
            )
        else:
            messages.error(request, _("Vælg en af handlingerne."))
        return HttpResponseRedirect(_bookmarks_url(sort, number))
    listing = huskeliste_page(request, sort=sort, page=number)
    found = manifestations_get(pids=[entry.pid for entry in listing.entries])
    select_all = request.GET.get("vaelg") == "alle"
    return page(
        request,
        "portal/bookmarks.html",
        {
            "listing": listing,
            "entries": [(entry, found.get(entry.pid)) for entry in listing.entries],
            "sort": sort.value,
            "select_all": select_all,
            "can_order": bool(_order_base()),
            "selection_max": BOOKMARKS_SELECTION_MAX,
            "select_all_url": _bookmarks_url(sort.value, listing.page, select_all=True),
            "previous_url": _bookmarks_url(sort.value, listing.page - 1)
            if listing.has_previous
            else "",
            "next_url": _bookmarks_url(sort.value, listing.page + 1) if listing.has_next else "",
        },
    )


@require_POST
@portal_view
def bookmark_add(request: HttpRequest) -> HttpResponse:
    """ "Tilføj til huskeliste" from a result or a material page, then back there."""
    back = safe_next(request, request.POST.get("next")) or reverse("portal:bookmarks")
    try:
        pid = parse_pid(request.POST.get("pid"))
    except ApplicationError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(back)
    manifestation = manifestation_get(pid=pid)
    if manifestation is None:
        messages.error(request, _("Ukendt materiale."))
        return HttpResponseRedirect(back)
    try:
        added = huskeliste_add(request, pid=pid, title=manifestation.title)
    except ApplicationError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(back)
    if added:
        messages.success(
            request,
            _("%(title)s er tilføjet til din huskeliste.") % {"title": manifestation.title},
        )
    else:
        messages.info(
            request, _("%(title)s er allerede på din huskeliste.") % {"title": manifestation.title}
        )
    return HttpResponseRedirect(back)


# --- Gemte søgninger ----------------------------------------------------------------------------


@require_GET
@portal_view
@profile_required
def saved_searches(request: HttpRequest) -> HttpResponse:
    """Gemte søgninger: list, rerun, rename, delete (R-PORTAL-17)."""
    listing = [
        (saved, search_request_parse({"q": saved.query, **(saved.params or {})}))
        for saved in saved_searches_list(profile=profile_of(request))
    ]
    return page(request, "portal/saved_searches.html", {"listing": listing})


@require_POST
@portal_view
@profile_required
def saved_search_save(request: HttpRequest) -> HttpResponse:
    """ "Gem søgning" on a result page; the name defaults to the query (R-PORTAL-17)."""
    wanted = search_request_parse(request.POST)
    try:
        saved = saved_search_create(
            profile=profile_of(request),
            query=wanted.query,
            params=wanted.params(),
            name=request.POST.get("name", ""),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(wanted.url() if wanted.query else reverse("portal:search"))
    messages.success(
        request,
        _("Søgningen er gemt som “%(name)s” under Gemte søgninger.") % {"name": saved.name},
    )
    return HttpResponseRedirect(wanted.url())


@require_http_methods(["GET", "POST"])
@portal_view
@profile_required
def saved_search_edit(request: HttpRequest, saved_search_id: str) -> HttpResponse:
    """Rename or delete one saved search (delete after confirmation)."""
    saved = saved_search_get(profile=profile_of(request), saved_search_id=saved_search_id)
    if saved is None:
        messages.error(request, _("Den gemte søgning findes ikke."))
        return HttpResponseRedirect(reverse("portal:saved-searches"))
    error = ""
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "delete":
            name = saved.name
            saved_search_delete(saved_search=saved)
            messages.success(request, _("“%(name)s” er slettet.") % {"name": name})
            return HttpResponseRedirect(reverse("portal:saved-searches"))
        if action == "rename":
            try:
                saved_search_rename(saved_search=saved, name=request.POST.get("name", ""))
            except ApplicationError as failure:
                error = failure.message
            else:
                messages.success(
                    request, _("Søgningen hedder nu “%(name)s”.") % {"name": saved.name}
                )
                return HttpResponseRedirect(reverse("portal:saved-searches"))
        else:
            error = _("Vælg en af handlingerne.")
    return page(
        request,
        "portal/saved_search_edit.html",
        {
            "saved": saved,
            "error": error,
            "wanted": search_request_parse({"q": saved.query, **(saved.params or {})}),
            "confirm_delete": request.GET.get("slet") == "1",
        },
        status=400 if error else 200,
    )
