from django.contrib import admin
from django.urls import include, path
from oauth2_provider.views import OAuthServerMetadataView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    # The login platform: OpenID Connect endpoints and login pages, issuer <BASE_URL>/login.
    path("login/", include("biblogin.oidc.urls")),
    path("login/", include("biblogin.login.urls")),
    # RFC 8414 metadata of the issuer <BASE_URL>/login (path-component form).
    path(
        ".well-known/oauth-authorization-server/login",
        OAuthServerMetadataView.as_view(),
        name="oauth-server-metadata-login",
    ),
    path("", include("biblogin.portal.urls")),
]

# R-SEC-3: error pages that never parse the body again (Django's run the CSRF check, which does),
# in the look of the path's part of the site (login platform or portal); 405 and a failed CSRF
# check get theirs from MethodNotAllowedPageMiddleware and CSRF_FAILURE_VIEW.
handler400 = "biblogin.common.error_pages.bad_request"
handler403 = "biblogin.common.error_pages.permission_denied"
handler404 = "biblogin.common.error_pages.page_not_found"
