"""Merchants (platform administrators) and stores with their join and poster links."""

from django.conf import settings
from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils import translation
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from loyalty.models import Merchant, Store
from loyalty.services.tenancy import (
    MERCHANT_FIELDS,
    STORE_FIELDS,
    merchant_create,
    merchant_update,
    store_create,
    store_update,
)

from .scoping import MerchantScopedAdmin, admin_actor, back_office_user


def store_links(store: Store) -> dict:
    """Absolute join and poster URLs of a store, in the default language (no prefix)."""
    with translation.override(settings.LANGUAGE_CODE):
        join = reverse("loyalty:join", kwargs={"store_code": store.code})
        poster = reverse("loyalty:poster", kwargs={"store_code": store.code})
    return {"join": settings.SITE_URL + join, "poster": settings.SITE_URL + poster}


@admin.register(Merchant)
class MerchantAdmin(MerchantScopedAdmin):
    list_display = ("name", "slug", "contact_email", "store_count", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "slug", "contact_email")
    prepopulated_fields = {"slug": ("name",)}
    fields = ("name", "slug", "contact_email", "website", "is_active")
    audited_fields = ("name", "slug", "contact_email", "website", "is_active")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(store_total=Count("stores"))

    def save_through_service(self, request, obj, form, change):
        fields = self.form_fields(form, MERCHANT_FIELDS, change=change)
        if change:
            return merchant_update(user=request.user, merchant_id=obj.pk, **fields)
        return merchant_create(user=request.user, **fields)

    @admin.display(description=_("stores"), ordering="store_total")
    def store_count(self, obj):
        return obj.store_total


@admin.register(Store)
class StoreAdmin(MerchantScopedAdmin):
    merchant_field = "merchant"
    list_display = ("name", "code", "merchant", "timezone", "is_active", "join_link", "poster_link")
    list_filter = ("is_active", "merchant")
    search_fields = ("name", "code", "address")
    fields = ("merchant", "name", "code", "address", "timezone", "is_active", "join_link", "poster_link")
    audited_fields = ("name", "code", "address", "timezone", "is_active")

    def save_through_service(self, request, obj, form, change):
        actor = admin_actor(request, merchant=obj.merchant)
        fields = self.form_fields(form, STORE_FIELDS, change=change)
        if change:
            return store_update(actor=actor, store_id=obj.pk, **fields)
        return store_create(actor=actor, **fields)

    def get_readonly_fields(self, request, obj=None):
        readonly = [*super().get_readonly_fields(request, obj), "join_link", "poster_link"]
        if obj is not None:
            readonly.append("code")  # printed posters carry it: it never changes
        return readonly

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if not back_office_user(request).is_platform_admin:
            filters = [
                entry
                for entry in filters
                if entry != "merchant" and not (isinstance(entry, tuple) and entry[0] == "merchant")
            ]
        return filters

    @admin.display(description=_("join link"))
    def join_link(self, obj):
        if not obj or not obj.pk:
            return "—"
        url = store_links(obj)["join"]
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, url)

    @admin.display(description=_("poster"))
    def poster_link(self, obj):
        if not obj or not obj.pk:
            return "—"
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>', store_links(obj)["poster"], _("printable poster")
        )
