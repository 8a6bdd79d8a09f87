"""OpenID Connect endpoints under /login/.

The namespace is django-oauth-toolkit's own (``oauth2_provider``): its discovery document and
RFC 9207 issuer look endpoints up by these names.
"""

from __future__ import annotations

from django.urls import path, re_path
from oauth2_provider import views as dot_views

from biblogin.oidc import views

app_name = "oauth2_provider"

urlpatterns = [
    re_path(
        r"^\.well-known/openid-configuration/?$",
        views.DiscoveryView.as_view(),
        name="oidc-connect-discovery-info",
    ),
    path(".well-known/jwks.json", views.JwksView.as_view(), name="jwks-info"),
    path("authorize/", views.AuthorizationView.as_view(), name="authorize"),
    path("token/", views.TokenView.as_view(), name="token"),
    path("userinfo/", views.UserInfoView.as_view(), name="user-info"),
    path("revoke/", dot_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", views.IntrospectionView.as_view(), name="introspect"),
    path("logout/", views.LogoutView.as_view(), name="rp-initiated-logout"),
]
