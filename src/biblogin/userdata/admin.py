"""Read-only views of user data for support staff: no user IDs are stored to show."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from biblogin.userdata.models import LinkOfferOptOut, PortalLink, Profile


class PortalLinkInline(admin.TabularInline):
    model = PortalLink
    fields = ("agency_id", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("patron_guid", "created_at", "last_login_at")
    search_fields = ("patron_guid",)
    readonly_fields = ("patron_guid", "favourite_pickup_branch_id", "created_at", "last_login_at")
    inlines = [PortalLinkInline]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(LinkOfferOptOut)
class LinkOfferOptOutAdmin(admin.ModelAdmin):
    list_display = ("agency_id", "created_at", "expires_at")
    list_filter = ("agency_id",)
    readonly_fields = ("agency_id", "created_at", "expires_at")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
