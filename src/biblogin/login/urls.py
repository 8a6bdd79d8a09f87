"""Login pages under /login/ (namespace ``login``)."""

from __future__ import annotations

from django.urls import path

from biblogin.login import views

app_name = "login"

urlpatterns = [
    path("", views.picker, name="picker"),
    path("bibliotek/<str:agency_id>/", views.library, name="library"),
    path("annuller/", views.cancel, name="cancel"),
    path("mitid/", views.mitid_start, name="mitid"),
    # No trailing slash: this exact URI is registered at the MitID broker.
    path("mitid/callback", views.mitid_callback, name="mitid-callback"),
    path("logget-ud/", views.logged_out, name="logged-out"),
]
