"""The admin site (``admin.site``): lockout-safe login and TOTP (R-SEC-4)."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_client_ip_address
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp import login as otp_login

from biblogin.staff import services
from biblogin.staff.forms import StaffAuthenticationForm


class StaffAdminSite(admin.AdminSite):
    # The staff UI of the login platform, not "Django administration".
    site_header = gettext_lazy("Administration af Bibliotekslogin")
    site_title = gettext_lazy("Bibliotekslogin")
    index_title = gettext_lazy("Biblioteksregister, lånere og klienter")
    login_form = StaffAuthenticationForm
    login_template = "staff/login.html"
    index_template = "staff/index.html"

    def has_permission(self, request: HttpRequest) -> bool:
        # R-SEC-4: an account that needs a second factor uses the admin only once verified.
        if not super().has_permission(request):
            return False
        user: Any = request.user
        if callable(getattr(user, "is_verified", None)) and user.is_verified():
            return True
        return not services.staff_otp_required(user=user)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        if request.method != "POST":
            return super().login(request, extra_context)
        with services.staff_login_serialised(username=str(request.POST.get("username", ""))):
            response = super().login(request, extra_context)
            if isinstance(response, TemplateResponse):
                response.render()
            return response

    def get_urls(self) -> list[URLResolver | URLPattern]:
        own = [path("totp/", self.admin_view(self.totp_enrol_view), name="staff_totp_enrol")]
        return own + super().get_urls()

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        context["staff_totp_enrol_url"] = reverse("admin:staff_totp_enrol", current_app=self.name)
        return context

    def totp_enrol_view(self, request: HttpRequest) -> HttpResponse:
        """Enrol a TOTP app for the signed-in staff account (scan, then type one code)."""
        user: Any = request.user
        existing = services.totp_device_for(user=user)
        device = services.totp_enrolment_start(user=user)
        error = ""
        if request.method == "POST":
            token = str(request.POST.get("otp_token", ""))[:16]
            if services.totp_enrolment_confirm(
                user=user, device=device, token=token, ip=get_client_ip_address(request)
            ):
                otp_login(request, device)
                messages.success(request, _("Godkendelsesappen er tilknyttet kontoen."))
                return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
            error = _("Forkert engangskode. Tjek at appen viser koden for denne konto.")
        context = {
            **self.each_context(request),
            "title": _("Godkendelsesapp (to-faktor-login)"),
            "has_device": existing is not None,
            "qr_data_uri": services.totp_qr_svg_data_uri(device=device),
            "secret": services.totp_secret_base32(device=device),
            "error": error,
        }
        request.current_app = self.name
        return TemplateResponse(
            request, "staff/totp_enrol.html", context, status=400 if error else 200
        )


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any
) -> HttpResponse:
    """django-axes' answer to a locked-out admin login: a clear page, status 429 (R-SEC-4)."""
    from django.conf import settings

    cooloff = getattr(settings, "AXES_COOLOFF_TIME", None)
    minutes = int(cooloff.total_seconds() // 60) if cooloff else 0
    context = {**admin.site.each_context(request), "cooloff_minutes": minutes}
    return TemplateResponse(request, "staff/locked_out.html", context, status=429).render()
