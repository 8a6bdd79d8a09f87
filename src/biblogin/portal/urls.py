"""Bibliotek.dk's URLs (namespace ``portal``); the login platform has the callback registered."""

from __future__ import annotations

from django.urls import path

from biblogin.portal.views import (
    auth,
    catalogue,
    circulation,
    lists,
    order,
    order_history,
    ordering,
    profile,
    saved_info,
)

app_name = "portal"

urlpatterns = [
    path("", auth.home, name="home"),
    path("soeg/", catalogue.search, name="search"),
    path("soeg/forslag/", catalogue.suggest, name="search-suggest"),
    # A PID contains ':' (870970-basis:12345678); the view validates it.
    path("materiale/<str:pid>/", catalogue.material, name="material"),
    path("huskeliste/", lists.bookmarks, name="bookmarks"),
    path("huskeliste/tilfoej/", lists.bookmark_add, name="bookmark-add"),
    path("profil/gemte-soegninger/", lists.saved_searches, name="saved-searches"),
    path("profil/gemte-soegninger/gem/", lists.saved_search_save, name="saved-search-save"),
    path(
        "profil/gemte-soegninger/<str:saved_search_id>/",
        lists.saved_search_edit,
        name="saved-search-edit",
    ),
    path("log-ind/", auth.login, name="login"),
    path("log-ind/mitid/", auth.login_mitid, name="login-mitid"),
    path("log-ind/bibliotek/<str:agency_id>/", auth.login_library, name="login-library"),
    path("log-ud/", auth.logout, name="logout"),
    path("auth/callback/", auth.callback, name="callback"),
    path("tilknyt/", auth.link_offer, name="link-offer"),
    path("tilknyttet/", auth.linked, name="linked"),
    path("profil/", profile.profile, name="profile"),
    path("profil/mine-biblioteker/", profile.my_libraries_page, name="my-libraries"),
    path("profil/mine-biblioteker/tilfoej/", profile.library_add, name="library-add"),
    path(
        "profil/mine-biblioteker/<str:agency_id>/fjern/",
        profile.library_remove_page,
        name="library-remove",
    ),
    path("laan-og-reserveringer/", circulation.loans, name="loans"),
    path("laan-og-reserveringer/forny/", circulation.loan_renew, name="loan-renew"),
    path(
        "laan-og-reserveringer/reservering/<str:agency_id>/<str:reservation_id>/slet/",
        circulation.reservation_delete,
        name="reservation-delete",
    ),
    path("adgange/", circulation.access, name="access"),
    path("profil/gemte-oplysninger/", saved_info.saved_info, name="saved-info"),
    path("profil/slet/", profile.profile_delete_page, name="profile-delete"),
    path("bestil/", order.order, name="order"),
    path("bestil/afhentningssted/", order.order_pickup, name="order-pickup"),
    path("bestil/kvittering/<str:public_id>/", order.order_receipt, name="order-receipt"),
    path("profil/bestillingshistorik/", order_history.order_history_page, name="order-history"),
    path(
        "bestil-uden-login/<str:agency_id>/",
        ordering.order_without_login,
        name="order-without-login",
    ),
]
